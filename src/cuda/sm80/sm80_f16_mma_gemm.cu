// sm80_f16_mma_gemm.cu: the cuda_bf16_mma backend: the shared mma.sync tile kernel with FP8 fragments
// widened to f16 in registers. Compiled for compute_80 PTX only.
//
// Why f16 and not bf16: each fp8 byte becomes an f16 with two integer operations and no rounding:
// e5m2 is the top byte of an f16; e4m3fn shifted into an f16 is its value times 2^-8 (subnormals
// included), and the 2^8 per operand is folded into the block scale (MmaGemmParams::operand_scale).
// bf16 would need a rebiasing multiply. The e4m3fn NaN code widens to a finite value; fp8kit's
// quantizer gives a NaN tile a NaN scale, which still makes the output NaN.
#include "cuda/common/mma_sync_gemm_tile.cuh"
#include "cuda/sm80/sm80_f16_mma_gemm.h"

namespace fp8kit::cuda::sm80 {
namespace {

constexpr const char* kBackend = "cuda_bf16_mma";

/// Four fp8 bytes x = (b3 b2 b1 b0) to f16 pairs lo = (b0, b1) and hi = (b2, b3). shift: 1 for e4m3fn
/// (sign stays at bit 15, exponent and mantissa move down one bit), 0 for e5m2.
__device__ __forceinline__ void widen_fp8x4(uint32_t x, uint32_t shift, uint32_t& lo, uint32_t& hi) {
  const uint32_t w_lo = __byte_perm(x, 0u, 0x1404);  // bytes (b1, 0, b0, 0)
  const uint32_t w_hi = __byte_perm(x, 0u, 0x3424);  // bytes (b3, 0, b2, 0)
  lo = (w_lo & 0x80008000u) | ((w_lo & 0x7F007F00u) >> shift);
  hi = (w_hi & 0x80008000u) | ((w_hi & 0x7F007F00u) >> shift);
}

__device__ __forceinline__ void mma_f16(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                        uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

/// One fp8 m16n8k32 step as two f16 m16n8k16 steps. The widened halves are placed so that A and B
/// share one permutation of K (f16 K index 2t + j holds fp8 K index 4t + j, 2t + 8 + j holds
/// 4t + 2 + j), and a dot product does not depend on the order of K.
struct F16WideningPolicy {
  struct BFrag {
    uint32_t r[4];  // fp8 register 0 -> r[0] (bytes 0-1), r[1] (bytes 2-3); register 1 -> r[2], r[3]
  };
  __device__ __forceinline__ static BFrag prepare_b(const uint32_t (&b)[2], const mma_sync::MmaGemmParams& p) {
    BFrag w;
    widen_fp8x4(b[0], p.b_shift, w.r[0], w.r[1]);
    widen_fp8x4(b[1], p.b_shift, w.r[2], w.r[3]);
    return w;
  }
  template <int NJ>
  __device__ __forceinline__ static void mma_row(float (&c)[NJ][4], const uint32_t (&a)[4], const BFrag (&b)[NJ],
                                                 const mma_sync::MmaGemmParams& p) {
    uint32_t aw[8];  // per fp8 register r: aw[2r] = bytes 0-1, aw[2r + 1] = bytes 2-3
#pragma unroll
    for (int r = 0; r < 4; ++r) widen_fp8x4(a[r], p.a_shift, aw[2 * r], aw[2 * r + 1]);
#pragma unroll
    for (int nj = 0; nj < NJ; ++nj) {
      // fp8 K 0-15 of the step: A rows g / g+8 from fp8 registers 0 / 1, B from register 0
      mma_f16(c[nj], aw[0], aw[2], aw[1], aw[3], b[nj].r[0], b[nj].r[1]);
      // fp8 K 16-31: A from registers 2 / 3, B from register 1
      mma_f16(c[nj], aw[4], aw[6], aw[5], aw[7], b[nj].r[2], b[nj].r[3]);
    }
  }
};

}  // namespace

Verdict supports_f16_mma_gemm(const core::GemmProblem& p) {
  return mma_sync::check_mma_gemm(p, 80, /*fp8_e4m3_only=*/false);
}

void run_f16_mma_gemm(const core::GemmProblem& p) {
  mma_sync::run_mma_sync_gemm<F16WideningPolicy>(p, /*widen_to_f16=*/true, kBackend);
}

}  // namespace fp8kit::cuda::sm80
