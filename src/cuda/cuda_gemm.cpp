// cuda_gemm.cpp: the CUDA GEMM entry points: checks what every backend needs (a usable device, operand
// pointers that are memory of that device), then routes each GEMM backend to its implementation.
// Refusal reasons do not repeat the backend's name: the dispatcher prints them after it.
//   cublaslt       cublaslt/  (NVIDIA cuBLASLt, block and row scaling on sm_90, per-tensor on sm_89+)
//   cuda_fp8_mma   sm89/      (portable FP8 mma.sync, sm_89+)
//   cuda_bf16_mma  sm80/      (portable, FP8 widened to f16 for mma.sync, sm_80+)
//   cuda_sm90      sm90/      (Hopper TMA + wgmma, sm_90a)
#include "cuda/common/pointer_check.h"
#include "cuda/cublaslt/cublaslt_fp8_gemm.h"
#include "cuda/cuda_backend.h"
#include "cuda/sm80/sm80_f16_mma_gemm.h"
#include "cuda/sm89/sm89_fp8_mma_gemm.h"
#include "cuda/sm90/sm90_fp8_gemm.h"
#include "fp8kit/error.h"

namespace fp8kit::cuda {
namespace {

bool nonempty(const core::ScaleGridRef& s) { return s.rows > 0 && s.cols > 0; }

/// Every operand a GEMM reads or writes must be memory of its device, whichever backend runs it
/// (each reads them in kernels): refused here, once, for all backends.
Verdict check_gemm_pointers(const core::GemmProblem& p) {
  const bool writes = p.m() > 0 && p.n() > 0;
  const bool reads = writes && p.k() > 0;
  const struct {
    const void* ptr;
    bool used;
    const char* what;
  } operands[] = {
      {p.a.data, reads, "A"},
      {p.b.data, reads, "B"},
      {p.a_scales.data, writes && nonempty(p.a_scales), "As"},
      {p.b_scales.data, writes && nonempty(p.b_scales), "Bs"},
      {p.bias, writes && p.bias != nullptr, "bias"},
      {p.d.data, writes, "D"},
  };
  for (const auto& o : operands) {
    const Verdict v = check_device_pointer(o.ptr, o.used, p.pointers_known, p.device, "gemm", o.what);
    if (!v.ok) return v;
  }
  return Verdict::yes();
}

}  // namespace

Verdict supports_gemm(Backend backend, const core::GemmProblem& p) {
  if (!p.device.is_cuda()) {
    return Verdict::no(detail::concat("runs on CUDA tensors, got ", to_string(p.device)));
  }
  if (compute_capability(p.device.index) == 0) {
    return Verdict::no(detail::concat(to_string(p.device), " is not a usable CUDA device"));
  }
  if (const Verdict v = check_gemm_pointers(p); !v.ok) return v;
  switch (backend) {
    case Backend::cublaslt: return cublaslt::supports_fp8_gemm(p);
    case Backend::cuda_fp8_mma: return sm89::supports_fp8_mma_gemm(p);
    case Backend::cuda_bf16_mma: return sm80::supports_f16_mma_gemm(p);
    case Backend::cuda_sm90: return sm90::supports_fp8_gemm(p);
    default:
      return Verdict::no(detail::concat(backend_name(backend),
                                        " is not a CUDA GEMM backend (cublaslt, cuda_fp8_mma, cuda_bf16_mma, cuda_sm90)"));
  }
}

void gemm(Backend backend, const core::GemmProblem& p) {
  switch (backend) {
    case Backend::cublaslt: return cublaslt::run_fp8_gemm(p);
    case Backend::cuda_fp8_mma: return sm89::run_fp8_mma_gemm(p);
    case Backend::cuda_bf16_mma: return sm80::run_f16_mma_gemm(p);
    case Backend::cuda_sm90: return sm90::run_fp8_gemm(p);
    default:
      FP8KIT_FAIL(backend_name(backend), " is not a CUDA GEMM backend (cublaslt, cuda_fp8_mma, cuda_bf16_mma, cuda_sm90)");
  }
}

}  // namespace fp8kit::cuda
