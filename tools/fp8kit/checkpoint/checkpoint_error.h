// checkpoint_error.h: the error the checkpoint library throws for malformed or unusable input.
//
// The message is one line that names the file, the tensor (when one is concerned) and the problem:
//   "model-00001.safetensors: tensor 'lm_head.weight': data_offsets [0, 12] hold 12 bytes, but
//    bf16 [4, 4] needs 32"
// It derives from fp8kit::Error so front ends catch one type.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "fp8kit/error.h"

namespace fp8kit::checkpoint {

class CheckpointError : public Error {
 public:
  explicit CheckpointError(const std::string& what) : Error(what) {}
};

/// "FILE: tensor 'NAME': PROBLEM" (the tensor part only when `tensor` is non-empty).
std::string describe_problem(std::string_view file, std::string_view tensor, std::string_view problem);

/// Throws CheckpointError with describe_problem's message; the problem is streamed from `parts`.
template <typename... Ts>
[[noreturn]] void fail(std::string_view file, std::string_view tensor, const Ts&... parts) {
  throw CheckpointError(describe_problem(file, tensor, detail::concat(parts...)));
}

/// Runs `body`, turning a std::filesystem error (an unreadable sub-directory, a name longer than the
/// file system allows...) into CheckpointError naming its path, so callers see one error type.
template <typename F>
auto with_filesystem_errors(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::filesystem::filesystem_error& e) {
    fail(e.path1().string(), "", e.code().message());
  }
}

}  // namespace fp8kit::checkpoint
