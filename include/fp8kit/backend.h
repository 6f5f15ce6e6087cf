// fp8kit/backend.h: the implementations an operation can run on, and what this build and machine have.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fp8kit {

/// Where an operation runs. `automatic` lets the dispatcher choose by device, capability and shape.
enum class Backend : uint8_t {
  automatic,
  cpu_reference,  // scalar, single-threaded: the oracle every other backend is tested against
  cpu,            // multithreaded and vectorised; bit-identical to cpu_reference
  cuda,           // fp8kit's own CUDA kernels (quantize/dequantize: portable sm_80+; GEMM: best own kernel)
  cublaslt,       // NVIDIA cuBLASLt (GEMM only; block and row scaling need sm_90)
  cuda_fp8_mma,   // portable GEMM: mma.sync FP8 (sm_89+)
  cuda_bf16_mma,  // portable GEMM: FP8 fragments widened (exactly) to f16 in registers for mma.sync (sm_80+)
  cuda_sm90,      // Hopper GEMM: TMA + wgmma (sm_90a)
};

std::string_view backend_name(Backend b);
std::optional<Backend> parse_backend(std::string_view name);

struct GpuInfo {
  int ordinal = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  int multiprocessors = 0;
  int64_t memory_bytes = 0;
};

/// What this build and this machine offer. Cheap after the first call (the probe is cached).
struct Capabilities {
  std::string version;
  bool cuda_compiled = false;     // built with CUDA kernels
  std::string cuda_runtime;       // e.g. "13.0"; empty without CUDA
  std::string cuda_driver;        // e.g. "13.0"; empty where no driver answers
  std::string cuda_status;        // why no GPU is usable, or "ok"
  std::vector<GpuInfo> gpus;
  int cpu_threads = 1;            // threads the cpu backend uses
};

const Capabilities& capabilities();

}  // namespace fp8kit
