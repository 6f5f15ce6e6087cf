// quantize_generic.cuh: quantization of any tile shape (column tiles, groups whose width does not fit
// the vector kernels, blocks with C_b < one vector), any alignment and any size: one warp per tile,
// scalar loads, 64-bit indices, the reference encoder. Correct for everything; fast for nothing.
//
// The input comes through a scalar Loader: PlainScalarLoader<T> reads x; the fused SiLU-mul loader
// (silu_mul.cuh) computes bf16(silu(gate) * up).
#pragma once

#include "cuda/smxx/device_numerics.cuh"

namespace fp8kit::cuda::smxx {

inline constexpr int kGenericThreads = 256;
inline constexpr int kGenericWarps = kGenericThreads / 32;

template <DType T>
struct PlainScalarLoader {
  __device__ __forceinline__ static float value(const GenericParams& p, int64_t r, int64_t c) {
    return load_element<T>(p.x, r * p.x_ld + c);
  }
};

/// Calls f(r, c) for the tile elements this lane owns: lanes across columns in tiles at least a warp
/// wide, across rows otherwise (column tiles).
template <class Fn>
__device__ __forceinline__ void for_each_tile_element(int64_t r0, int64_t r1, int64_t c0, int64_t c1, uint32_t lane, Fn&& f) {
  if (c1 - c0 >= 32) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t c = c0 + lane; c < c1; c += 32) f(r, c);
    }
  } else {
    for (int64_t r = r0 + lane; r < r1; r += 32) {
      for (int64_t c = c0; c < c1; ++c) f(r, c);
    }
  }
}

template <class Loader, Fp8Format F>
__global__ void __launch_bounds__(kGenericThreads) smxx_quantize_generic_kernel(const GenericParams p) {
  const int64_t local = static_cast<int64_t>(blockIdx.x) * kGenericWarps + threadIdx.x / 32;
  if (local >= p.tile_count) return;  // the whole warp
  const uint32_t lane = threadIdx.x % 32;
  const int64_t tile = p.tile_begin + local;
  const int64_t ti = tile / p.grid_cols, tj = tile - ti * p.grid_cols;
  const int64_t r0 = ti * p.tile_rows, r1 = min(r0 + p.tile_rows, p.rows);
  const int64_t c0 = tj * p.tile_cols, c1 = min(c0 + p.tile_cols, p.cols);

  uint32_t amax = 0;
  for_each_tile_element(r0, r1, c0, c1, lane, [&](int64_t r, int64_t c) { amax = max(amax, abs_bits(Loader::value(p, r, c))); });
  amax = __reduce_max_sync(0xFFFFFFFFu, amax);
  const TileScale ts = tile_scale(amax, p.rule);
  if (lane == 0) store_scale(p.s, ti, tj, ts.scale);
  for_each_tile_element(r0, r1, c0, c1, lane, [&](int64_t r, int64_t c) {
    p.q[r * p.q_ld + c] = encode_reference<F>(ts.divide(Loader::value(p, r, c)));
  });
}

}  // namespace fp8kit::cuda::smxx
