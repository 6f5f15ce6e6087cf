// gemm_microkernel.cpp: the CPU GEMM's micro tile (see gemm_microkernel.h), written with GCC/Clang
// vector types so the accumulators stay in registers: 6 x 16 fp32 sums are 12 AVX2 registers. The
// AVX2 form is chosen at run time where the machine has it; the baseline form uses 16-byte vectors
// and walks the 16 columns in two halves so its 12 accumulators fit the 16 SSE registers. Both add
// the same products in the same order.
#include "cpu/gemm_microkernel.h"

#include <cstring>

#include "cpu/cpu_isa.h"
#include "cpu/vector_codec.h"

namespace fp8kit::cpu {
namespace {

using V8 = float __attribute__((vector_size(32)));
using V4 = float __attribute__((vector_size(16)));

/// Sums of the kMr x (kLanes * Nv) sub-tile starting at column `col` of the micro tile.
template <typename V, int Nv>
FP8KIT_ALWAYS_INLINE void micro_tile(const float* __restrict a, const float* __restrict b, int64_t len,
                                     float* __restrict c, int64_t ldc, bool accumulate, int col) {
  constexpr int kLanes = static_cast<int>(sizeof(V) / sizeof(float));
  V acc[kMr][Nv];
  for (int i = 0; i < kMr; ++i) {
    for (int j = 0; j < Nv; ++j) {
      if (accumulate) {
        std::memcpy(&acc[i][j], c + i * ldc + col + j * kLanes, sizeof(V));
      } else {
        acc[i][j] = V{};
      }
    }
  }
  for (int64_t k = 0; k < len; ++k) {
    V bv[Nv];
    for (int j = 0; j < Nv; ++j) std::memcpy(&bv[j], b + k * kNr + col + j * kLanes, sizeof(V));
    for (int i = 0; i < kMr; ++i) {
      const float av = a[k * kMr + i];
      for (int j = 0; j < Nv; ++j) acc[i][j] = acc[i][j] + av * bv[j];
    }
  }
  for (int i = 0; i < kMr; ++i) {
    for (int j = 0; j < Nv; ++j) std::memcpy(c + i * ldc + col + j * kLanes, &acc[i][j], sizeof(V));
  }
}

FP8KIT_CPU_TARGET_AVX2 void microkernel_avx2(const float* a, const float* b, int64_t len, float* c, int64_t ldc,
                                             bool accumulate) {
  micro_tile<V8, kNr / 8>(a, b, len, c, ldc, accumulate, 0);
}

void microkernel_baseline(const float* a, const float* b, int64_t len, float* c, int64_t ldc, bool accumulate) {
  micro_tile<V4, kNr / 8>(a, b, len, c, ldc, accumulate, 0);
  micro_tile<V4, kNr / 8>(a, b, len, c, ldc, accumulate, kNr / 2);
}

FP8KIT_CPU_CLONES void add_scaled_block(float* __restrict acc, const float* __restrict partial,
                                        const float* __restrict a_scale, const float* __restrict b_scale,
                                        int64_t rows, int64_t cols, int64_t ld) {
  for (int64_t i = 0; i < rows; ++i) {
    const float as = a_scale[i];
    for (int64_t j = 0; j < cols; ++j) acc[i * ld + j] = acc[i * ld + j] + partial[i * ld + j] * (as * b_scale[j]);
  }
}

}  // namespace

void gemm_microkernel(const float* a, const float* b, int64_t len, float* c, int64_t ldc, bool accumulate) {
  if (has_avx2()) {
    microkernel_avx2(a, b, len, c, ldc, accumulate);
  } else {
    microkernel_baseline(a, b, len, c, ldc, accumulate);
  }
}

void gemm_add_scaled_block(float* acc, const float* partial, const float* a_scale, const float* b_scale, int64_t rows,
                           int64_t cols, int64_t ld) {
  add_scaled_block(acc, partial, a_scale, b_scale, rows, cols, ld);
}

}  // namespace fp8kit::cpu
