// gemm_microkernel.cpp: the CPU GEMM's micro tile (see gemm_microkernel.h), written with GCC/Clang
// vector types so the accumulators stay in registers: 6 x 16 fp32 sums are 12 AVX2 registers. The
// AVX2 form runs where active_isa() says so (cpu_isa.h); the baseline form uses 16-byte vectors
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

/// The kMr x (lanes * Nv) part of the micro tile starting at column `col`.
template <typename V, int Nv>
FP8KIT_ALWAYS_INLINE void micro_tile(const MicroTile& t, int col) {
  constexpr int kLanes = static_cast<int>(sizeof(V) / sizeof(float));
  V c[kMr][Nv];
  for (int i = 0; i < kMr; ++i) {
    for (int j = 0; j < Nv; ++j) {
      if (t.continue_block) {
        std::memcpy(&c[i][j], t.partial + i * t.ld + col + j * kLanes, sizeof(V));
      } else {
        c[i][j] = V{};
      }
    }
  }
  const float* __restrict a = t.a;
  const float* __restrict b = t.b + col;
  for (int64_t k = 0; k < t.len; ++k) {
    V bv[Nv];
    for (int j = 0; j < Nv; ++j) std::memcpy(&bv[j], b + k * kNr + j * kLanes, sizeof(V));
    for (int i = 0; i < kMr; ++i) {
      const float av = a[i * t.lda + k];
      for (int j = 0; j < Nv; ++j) c[i][j] = c[i][j] + av * bv[j];
    }
  }
  if (!t.finish_block) {
    for (int i = 0; i < kMr; ++i) {
      for (int j = 0; j < Nv; ++j) std::memcpy(t.partial + i * t.ld + col + j * kLanes, &c[i][j], sizeof(V));
    }
    return;
  }
  V bs[Nv];
  for (int j = 0; j < Nv; ++j) std::memcpy(&bs[j], t.b_scale + col + j * kLanes, sizeof(V));
  for (int i = 0; i < kMr; ++i) {
    const float as = t.a_scale[i];
    for (int j = 0; j < Nv; ++j) {
      V acc;
      float* p = t.acc + i * t.ld + col + j * kLanes;
      std::memcpy(&acc, p, sizeof(V));
      acc = acc + c[i][j] * (as * bs[j]);
      std::memcpy(p, &acc, sizeof(V));
    }
  }
}

void microkernel_baseline(const MicroTile& t) {
  micro_tile<V4, kNr / 8>(t, 0);
  micro_tile<V4, kNr / 8>(t, kNr / 2);
}

#if FP8KIT_CPU_X86
FP8KIT_CPU_TARGET_AVX2 void microkernel_avx2(const MicroTile& t) { micro_tile<V8, kNr / 8>(t, 0); }
#endif

}  // namespace

void gemm_microkernel(const MicroTile& t) {
#if FP8KIT_CPU_X86
  if (active_isa() == Isa::avx2) return microkernel_avx2(t);
#endif
  microkernel_baseline(t);
}

}  // namespace fp8kit::cpu
