// checkpoint_error.h: the error the checkpoint library throws for malformed or unusable input.
//
// The message is one line that names the file, the tensor (when one is concerned) and the problem:
//   "model-00001.safetensors: tensor 'lm_head.weight': data_offsets [0, 12] hold 12 bytes, but
//    bf16 [4, 4] needs 32"
// It derives from fp8kit::Error so front ends catch one type.
#pragma once

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

}  // namespace fp8kit::checkpoint
