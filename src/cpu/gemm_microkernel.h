// gemm_microkernel.h: the register-tiled inner kernel of the CPU GEMM (gemm_fast.cpp).
//
//   c[i][j] (+)= sum_k a[k][i] * b[k][j]    for i < kMr, j < kNr, k < len
//
// a: a packed A panel, kMr fp32 values per k; b: a packed B panel, kNr fp32 values per k; c: a tile
// with row stride ldc. fp32 products are added to fp32 sums in increasing k, one multiply then one
// add (never fused), so every instruction set computes the same bits.
#pragma once

#include <cstdint>

namespace fp8kit::cpu {

inline constexpr int kMr = 6;   // rows of A per micro tile
inline constexpr int kNr = 16;  // columns (rows of B) per micro tile

/// accumulate = false: c = the sums; true: c = c + the sums (c's old value first, then each product).
void gemm_microkernel(const float* a, const float* b, int64_t len, float* c, int64_t ldc, bool accumulate);

/// acc[i][j] = acc[i][j] + partial[i][j] * (a_scale[i] * b_scale[j]) over a rows x cols tile with
/// row stride ld: one K block's partial sums, scaled and added (block-scaled GEMM).
void gemm_add_scaled_block(float* acc, const float* partial, const float* a_scale, const float* b_scale,
                           int64_t rows, int64_t cols, int64_t ld);

}  // namespace fp8kit::cpu
