// cuda_backend.h: entry points of the CUDA backends, callable from host code compiled without nvcc.
// Built from src/cuda/*.cu when CUDA is enabled, else from src/cuda/stub/cuda_stub.cpp, whose
// functions report that the build has no CUDA.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/problem.h"
#include "fp8kit/backend.h"

namespace fp8kit::cuda {

/// True when this build contains CUDA kernels.
bool compiled();

/// GPUs the CUDA runtime sees (empty without a driver or GPU); `status` says why none is usable.
struct Probe {
  std::vector<GpuInfo> gpus;
  std::string runtime_version;
  std::string driver_version;
  std::string status;
};
Probe probe();

/// Compute capability (major * 10 + minor) of a device ordinal; 0 if unknown.
int compute_capability(int ordinal);

/// Device memory for tools and tests that move host data through the CUDA backends.
void* device_alloc(size_t bytes, int ordinal);
void device_free(void* ptr) noexcept;
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void synchronize(int ordinal);
/// Page-locks [ptr, ptr + bytes) of ordinary host memory so copies to and from it run at the bus's
/// speed rather than through the driver's pageable staging. False (and nothing to undo) if the
/// driver refuses; the memory then works as before, only its copies are slower.
bool host_register(void* ptr, size_t bytes) noexcept;
void host_unregister(void* ptr) noexcept;

/// Quantization kernels (portable, sm_80+). supports_* says why a problem is refused (alignment,
/// pointer kind, capability...), before any work. The runners take only problems their supports_*
/// accepted: the core's dispatch asks first, and they do not ask again (the pointer checks cost
/// about a microsecond each, a large share of a small call).
Verdict supports_quantize(const core::QuantizeProblem& p);
void quantize(const core::QuantizeProblem& p);
Verdict supports_dequantize(const core::DequantizeProblem& p);
void dequantize(const core::DequantizeProblem& p);
Verdict supports_silu_mul(const core::SiluMulProblem& p);
void silu_mul(const core::SiluMulProblem& p);
Verdict supports_silu_mul_quantize(const core::SiluMulQuantizeProblem& p);
void silu_mul_quantize(const core::SiluMulQuantizeProblem& p);

/// GEMM backends: cublaslt, cuda_fp8_mma, cuda_bf16_mma, cuda_sm90.
Verdict supports_gemm(Backend backend, const core::GemmProblem& p);
void gemm(Backend backend, const core::GemmProblem& p);

}  // namespace fp8kit::cuda
