// sm89_fp8_mma_gemm.cu: the cuda_fp8_mma backend: the shared mma.sync tile kernel with FP8 tensor-core
// multiplies (mma.sync.m16n8k32.e4m3.e4m3, fp32 accumulate). Compiled for compute_89 PTX only.
#include "cuda/common/mma_sync_gemm_tile.cuh"
#include "cuda/sm89/sm89_fp8_mma_gemm.h"

namespace fp8kit::cuda::sm89 {
namespace {

constexpr const char* kBackend = "cuda_fp8_mma";

/// FP8 fragments go to the tensor cores as loaded: one m16n8k32 per (m16, n8) pair and 32-deep step.
struct Fp8MmaPolicy {
  struct BFrag {
    uint32_t r[2];
  };
  __device__ __forceinline__ static BFrag prepare_b(const uint32_t (&b)[2], const mma_sync::MmaGemmParams&) {
    return BFrag{{b[0], b[1]}};
  }
  template <int NJ>
  __device__ __forceinline__ static void mma_row(float (&c)[NJ][4], const uint32_t (&a)[4], const BFrag (&b)[NJ],
                                                 const mma_sync::MmaGemmParams&) {
#pragma unroll
    for (int nj = 0; nj < NJ; ++nj) {
      asm("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
          "{%0, %1, %2, %3};\n"
          : "+f"(c[nj][0]), "+f"(c[nj][1]), "+f"(c[nj][2]), "+f"(c[nj][3])
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[nj].r[0]), "r"(b[nj].r[1]));
    }
  }
};

}  // namespace

Verdict supports_fp8_mma_gemm(const core::GemmProblem& p) {
  return mma_sync::check_mma_gemm(p, 89, /*fp8_e4m3_only=*/true);
}

void run_fp8_mma_gemm(const core::GemmProblem& p) {
  mma_sync::run_mma_sync_gemm<Fp8MmaPolicy>(p, /*widen_to_f16=*/false, kBackend);
}

}  // namespace fp8kit::cuda::sm89
