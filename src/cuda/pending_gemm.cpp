// pending_gemm.cpp: CUDA GEMM backends that have not landed yet. Each refuses with a reason, so the
// dispatcher falls back to another backend or reports the refusals.
#include "cuda/cuda_backend.h"
#include "fp8kit/error.h"

namespace fp8kit::cuda {
namespace {
constexpr const char* kPending = "the CUDA GEMM backends are not implemented yet";
}

Verdict supports_gemm(Backend, const core::GemmProblem&) { return Verdict::no(kPending); }
void gemm(Backend, const core::GemmProblem&) { FP8KIT_FAIL(kPending); }

}  // namespace fp8kit::cuda
