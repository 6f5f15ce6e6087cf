// fp8kit/error.h: the one exception type of the library and the check macros that throw it.
//
// Every message names the offending values (shapes, dtypes, block sizes...), so a caller can tell
// what was wrong without a debugger. Library code never calls exit() or abort().
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace fp8kit {

/// Thrown for every refused input and every failure inside the library.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// The answer of a `can_*` check: `ok` or the reason an input is refused.
struct Verdict {
  bool ok = true;
  std::string reason;

  static Verdict yes() { return {}; }
  static Verdict no(std::string why) { return {false, std::move(why)}; }
  explicit operator bool() const { return ok; }
};

namespace detail {

/// Builds a message from any streamable values: concat("m=", 3, " k=", 7).
template <typename... Ts>
std::string concat(const Ts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

/// Only a real bool may be a check condition: FP8KIT_CHECK("text") must not compile
/// (a string literal would always be true).
inline constexpr bool check_condition(bool condition) { return condition; }
template <typename T>
constexpr bool check_condition(T) = delete;

[[noreturn]] inline void throw_error(const char* file, int line, const std::string& message) {
  throw Error(concat(message, " [", file, ":", line, "]"));
}

}  // namespace detail
}  // namespace fp8kit

/// Throws fp8kit::Error with the streamed values when `cond` is false:
///   FP8KIT_CHECK(k % 16 == 0, "K must be a multiple of 16, got K=", k);
#define FP8KIT_CHECK(cond, ...)                                                              \
  do {                                                                                       \
    if (!::fp8kit::detail::check_condition(cond)) {                                          \
      ::fp8kit::detail::throw_error(__FILE__, __LINE__, ::fp8kit::detail::concat(__VA_ARGS__)); \
    }                                                                                        \
  } while (0)

/// Throws fp8kit::Error unconditionally with the streamed values.
#define FP8KIT_FAIL(...) ::fp8kit::detail::throw_error(__FILE__, __LINE__, ::fp8kit::detail::concat(__VA_ARGS__))
