// pending_sm90.cpp: the Hopper GEMM until its kernel lands: refuses every problem with a reason.
#include "cuda/sm90/sm90_fp8_gemm.h"
#include "fp8kit/error.h"

namespace fp8kit::cuda::sm90 {

Verdict supports_fp8_gemm(const core::GemmProblem&) {
  return Verdict::no("the Hopper (sm_90a) GEMM kernel is not implemented yet");
}

void run_fp8_gemm(const core::GemmProblem&) { FP8KIT_FAIL("the Hopper (sm_90a) GEMM kernel is not implemented yet"); }

}  // namespace fp8kit::cuda::sm90
