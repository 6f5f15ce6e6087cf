// cublaslt_fp8_gemm.h: the `cublaslt` GEMM backend: NVIDIA cuBLASLt's FP8 GEMM with
//   block scaling  activation VEC128_32F (1 x 128) with weight BLK128x128_32F (sm_90, cuBLASLt >= 12.9),
//   row scaling    OUTER_VEC_32F on both (sm_90), or SCALAR_32F when both scales are per-tensor (sm_89+).
// Operands whose layout cuBLASLt cannot read directly (row-major activation scales, a K-block count that
// is not a multiple of 4, M not a multiple of 4 under block scaling...) are repacked into the stream's
// workspace by small kernels on the same stream rather than refused.
#pragma once

#include "core/problem.h"

namespace fp8kit::cuda::cublaslt {

/// Why cuBLASLt cannot run `p` (capability, cuBLASLt version, dtypes, alignment, bias dtype, or no
/// algorithm from its heuristic), with the offending values; or ok. The heuristic's choice is cached.
Verdict supports_fp8_gemm(const core::GemmProblem& p);

/// Enqueues the GEMM (and any repacking) on p.stream. Precondition: supports_fp8_gemm(p).ok.
void run_fp8_gemm(const core::GemmProblem& p);

}  // namespace fp8kit::cuda::cublaslt
