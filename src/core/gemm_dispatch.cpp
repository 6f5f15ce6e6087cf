// gemm_dispatch.cpp: which GEMM backends may run a problem, in preference order.
#include "core/dispatch.h"
#include "cuda/cuda_backend.h"
#include "fp8kit/error.h"

namespace fp8kit::core {
namespace {

bool is_cuda_gemm_backend(Backend b) {
  return b == Backend::cuda || b == Backend::cublaslt || b == Backend::cuda_fp8_mma || b == Backend::cuda_bf16_mma ||
         b == Backend::cuda_sm90;
}

/// Preference order on CUDA devices. `cuda` means "fp8kit's own kernels": every own backend.
std::vector<Backend> cuda_preference(Backend requested) {
  if (requested == Backend::cuda) return {Backend::cuda_sm90, Backend::cuda_fp8_mma, Backend::cuda_bf16_mma};
  if (requested != Backend::automatic) return {requested};
  return {Backend::cuda_sm90, Backend::cublaslt, Backend::cuda_fp8_mma, Backend::cuda_bf16_mma};
}

}  // namespace

std::vector<GemmCandidate> gemm_candidates(const GemmProblem& p, Backend requested) {
  std::vector<GemmCandidate> out;
  if (p.device.kind == Device::Kind::cpu) {
    Backend b = requested == Backend::automatic ? backend_from_env("FP8KIT_CPU_BACKEND") : requested;
    if (b == Backend::automatic) b = Backend::cpu;
    FP8KIT_CHECK(b == Backend::cpu || b == Backend::cpu_reference, "gemm: backend ", backend_name(b),
                 " cannot run on CPU tensors (use cpu or cpu_reference)");
    out.push_back({b, Verdict::yes()});
    return out;
  }
  const Backend b = requested == Backend::automatic ? backend_from_env("FP8KIT_GEMM_BACKEND") : requested;
  FP8KIT_CHECK(b == Backend::automatic || is_cuda_gemm_backend(b), "gemm: backend ", backend_name(b),
               " cannot run on tensors on ", to_string(p.device));
  for (Backend c : cuda_preference(b)) out.push_back({c, cuda::supports_gemm(c, p)});
  return out;
}

}  // namespace fp8kit::core
