// checkpoint_error.cpp: one-line problem descriptions.
#include "checkpoint/checkpoint_error.h"

namespace fp8kit::checkpoint {

std::string describe_problem(std::string_view file, std::string_view tensor, std::string_view problem) {
  std::string out(file);
  if (!tensor.empty()) {
    out += ": tensor '";
    out += tensor;
    out += "'";
  }
  out += ": ";
  for (const char c : problem) out += (c == '\n' || c == '\r') ? ' ' : c;  // keep it one line
  return out;
}

}  // namespace fp8kit::checkpoint
