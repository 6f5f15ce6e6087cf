// gemm_microkernel.h: the register-tiled inner kernel of the CPU GEMM (gemm_fast.cpp).
//
// One call computes a kMr x kNr tile of one K block's partial sums over a segment of `len` K values:
//
//   c[i][j] = (continue_block ? partial[i][j] : 0) + sum_k a[i][k] * b[k][j]     (k increasing)
//
// a: fp32 rows of A with row stride lda; b: a packed B panel, kNr fp32 values per k. At the end of a
// K block (finish_block) the sums are scaled and added to the fp32 accumulator:
//
//   acc[i][j] = acc[i][j] + c[i][j] * (a_scale[i] * b_scale[j])
//
// otherwise they are stored to `partial` for the block's next segment. Each product is one multiply
// and one add (never fused), in the same order on every instruction set, so every machine computes
// the same bits (and the same bits as gemm_reference, which sums in this order).
#pragma once

#include <cstdint>

namespace fp8kit::cpu {

inline constexpr int kMr = 6;   // rows of A per micro tile
inline constexpr int kNr = 16;  // columns of D (rows of B) per micro tile

struct MicroTile {
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t len = 0;
  float* partial = nullptr;  // kMr x kNr, row stride ld
  float* acc = nullptr;      // kMr x kNr, row stride ld
  int64_t ld = 0;
  const float* a_scale = nullptr;  // kMr values
  const float* b_scale = nullptr;  // kNr values
  bool continue_block = false;
  bool finish_block = true;
};

void gemm_microkernel(const MicroTile& t);

}  // namespace fp8kit::cpu
