// sm90_fp8_gemm.h: fp8kit's own Hopper FP8 GEMM (TMA + wgmma, sm_90a), the `cuda_sm90` backend.
// Block scaling (1x128 activations, 128x128 weights) per docs/numerics.md; see core/problem.h for the
// problem's layouts.
#pragma once

#include "core/problem.h"

namespace fp8kit::cuda::sm90 {

/// Why the Hopper kernel cannot run `p` (device capability, scaling, dtypes, alignment...), or ok.
Verdict supports_fp8_gemm(const core::GemmProblem& p);

/// Runs the GEMM on p.stream. Precondition: supports_fp8_gemm(p).ok.
void run_fp8_gemm(const core::GemmProblem& p);

}  // namespace fp8kit::cuda::sm90
