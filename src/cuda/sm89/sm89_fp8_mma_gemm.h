// sm89_fp8_mma_gemm.h: the `cuda_fp8_mma` GEMM backend: FP8 mma.sync (m16n8k32 e4m3) on sm_89 and newer,
// built as compute_89 PTX so every newer GPU JIT-compiles it (on Hopper the driver turns each FP8
// mma.sync into f16 tensor-core instructions). Kernel: cuda/common/mma_sync_gemm_tile.cuh.
#pragma once

#include "core/problem.h"

namespace fp8kit::cuda::sm89 {

/// Why cuda_fp8_mma cannot run `p` (capability < 8.9, e5m2 operands, blocks other than 128 x 128...), or ok.
Verdict supports_fp8_mma_gemm(const core::GemmProblem& p);

/// Enqueues the GEMM on p.stream. Precondition: supports_fp8_mma_gemm(p).ok.
void run_fp8_mma_gemm(const core::GemmProblem& p);

}  // namespace fp8kit::cuda::sm89
