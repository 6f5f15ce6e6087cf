// dispatch.h: the one place that decides which backend runs an operation.
#pragma once

#include <vector>

#include "core/problem.h"

namespace fp8kit::core {

/// Backend for quantize / dequantize / silu-mul ops on `device`: on the CPU, `cpu` (or
/// `cpu_reference` when requested, or through FP8KIT_CPU_BACKEND); on CUDA devices, `cuda`.
/// `cuda_verdict` is the CUDA backend's answer for this problem. Throws a specific error if the
/// requested backend cannot run it.
Backend choose_elementwise_backend(const Device& device, Backend requested, const Verdict& cuda_verdict,
                                   const char* op);

/// GEMM backends for `p` in preference order, each with its verdict, up to and including the first
/// that accepts (the chosen one; later backends are not asked). For CUDA problems the order comes from
/// the measured table in gemm_dispatch.cpp; FP8KIT_GEMM_BACKEND or `requested` narrows it to one
/// backend (`cuda`: fp8kit's own kernels).
struct GemmCandidate {
  Backend backend;
  Verdict verdict;
};
std::vector<GemmCandidate> gemm_candidates(const GemmProblem& p, Backend requested);

/// Reads FP8KIT_CPU_BACKEND / FP8KIT_GEMM_BACKEND; throws naming the variable and value if invalid.
Backend backend_from_env(const char* variable);

}  // namespace fp8kit::core
