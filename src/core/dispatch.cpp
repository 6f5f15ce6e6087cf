// dispatch.cpp: backend choice for the element-wise ops (quantize, dequantize, silu-mul).
#include "core/dispatch.h"

#include <cstdlib>
#include <string>

#include "fp8kit/error.h"

namespace fp8kit::core {

Backend backend_from_env(const char* variable) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') return Backend::automatic;
  const auto b = parse_backend(value);
  FP8KIT_CHECK(b.has_value(), "environment variable ", variable, "=", value,
               " names no backend (expected auto, cpu_reference, cpu, cuda, cublaslt, cuda_fp8_mma, "
               "cuda_bf16_mma or cuda_sm90)");
  return *b;
}

Backend choose_elementwise_backend(const Device& device, Backend requested, const Verdict& cuda_verdict,
                                   const char* op) {
  if (device.kind == Device::Kind::cpu) {
    Backend b = requested == Backend::automatic ? backend_from_env("FP8KIT_CPU_BACKEND") : requested;
    if (b == Backend::automatic) b = Backend::cpu;
    FP8KIT_CHECK(b == Backend::cpu || b == Backend::cpu_reference, op, ": backend ", backend_name(b),
                 " cannot run on CPU tensors (use cpu or cpu_reference)");
    return b;
  }
  const Backend b = requested == Backend::automatic ? Backend::cuda : requested;
  FP8KIT_CHECK(b == Backend::cuda, op, ": backend ", backend_name(b), " cannot run on tensors on ",
               to_string(device), " (use cuda)");
  FP8KIT_CHECK(cuda_verdict.ok, op, ": the cuda backend cannot run this problem on ", to_string(device), ": ",
               cuda_verdict.reason);
  return b;
}

}  // namespace fp8kit::core
