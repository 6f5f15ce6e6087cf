// sm80_f16_mma_gemm.h: the `cuda_bf16_mma` GEMM backend for every GPU from sm_80 on (Ampere has no FP8
// tensor cores): FP8 fragments are widened in registers to f16 (exact: every e4m3fn and e5m2 value is an
// f16 value up to a power of two) and multiplied with mma.sync.m16n8k16 f16, fp32 accumulate. Built as
// compute_80 PTX. Kernel: cuda/common/mma_sync_gemm_tile.cuh.
#pragma once

#include "core/problem.h"

namespace fp8kit::cuda::sm80 {

/// Why the widening GEMM cannot run `p` (capability < 8.0, blocks other than 128 x 128...), or ok.
Verdict supports_f16_mma_gemm(const core::GemmProblem& p);

/// Enqueues the GEMM on p.stream. Precondition: supports_f16_mma_gemm(p).ok.
void run_f16_mma_gemm(const core::GemmProblem& p);

}  // namespace fp8kit::cuda::sm80
