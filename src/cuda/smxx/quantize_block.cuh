// quantize_block.cuh: R_b x C_b block quantization (weights, 128 x 128 by default) and per-row
// quantization of wide rows (the 1 x C tile): one thread block per tile at a time.
//
// The blocks are persistent: block b takes tiles b, b + gridDim.x, ... and issues the loads of its next
// tile before it reduces and quantizes the current one, so a tile's worth of loads is in flight while
// the block waits on its barrier and computes (a block per tile that loads, waits, then computes leaves
// the memory idle in between). Up to kCachedVectors 16-byte vectors per thread of each of the two tiles
// stay in registers (a 128 x 128 bf16 tile is 8 vectors per thread at 256 threads, a 7168-wide bf16 row
// 7 at 128); vectors beyond that are read again in the second pass, from L2 in practice.
#pragma once

#include "cuda/smxx/device_numerics.cuh"

namespace fp8kit::cuda::smxx {

inline constexpr int kBlockMaxThreads = 256;
inline constexpr int kCachedVectors = 8;

/// Where slot k (vector threadIdx.x + k * blockDim.x of a tile) of this thread lies.
struct BlockSlots {
  const BlockParams& p;
  uint32_t fixed_row, fixed_col, rows_per_slot;  // columns_fixed: the thread's column and row step

  __device__ __forceinline__ explicit BlockSlots(const BlockParams& params) : p(params) {
    fixed_row = threadIdx.x / p.vecs_per_tile_row;
    fixed_col = threadIdx.x - fixed_row * p.vecs_per_tile_row;
    rows_per_slot = blockDim.x / p.vecs_per_tile_row;
  }

  /// The tile's corner and valid extent.
  struct Tile {
    uint32_t tile_row, tile_col, r0, c0;
    uint32_t vectors;  // slots: the tile's rows times vecs_per_tile_row, masked right of `cols`
    uint32_t cols;     // valid columns (fewer in a ragged last tile column)
  };
  __device__ __forceinline__ Tile tile(uint32_t index) const {
    Tile t;
    t.tile_row = index / p.tiles_per_row;
    t.tile_col = index - t.tile_row * p.tiles_per_row;
    t.r0 = t.tile_row * p.tile_rows;
    t.c0 = t.tile_col * p.tile_cols;
    t.vectors = min(p.tile_rows, p.rows - t.r0) * p.vecs_per_tile_row;
    t.cols = min(p.tile_cols, p.cols - t.c0);
    return t;
  }

  /// Element offsets of slot k (vector v) in x and q; false when it lies right of a ragged edge.
  template <uint32_t kVec>
  __device__ __forceinline__ bool locate(const Tile& t, uint32_t v, uint32_t k, int64_t& x_off, int64_t& q_off) const {
    uint32_t r, cv;
    if (p.columns_fixed) {
      r = fixed_row + k * rows_per_slot;
      cv = fixed_col;
    } else if (p.tile_rows == 1) {  // per-row quantization of wide rows
      r = 0;
      cv = v;
    } else {
      r = v / p.vecs_per_tile_row;
      cv = v - r * p.vecs_per_tile_row;
    }
    const int64_t row = static_cast<int64_t>(t.r0) + r;
    const int64_t col = static_cast<int64_t>(t.c0) + cv * kVec;
    x_off = row * p.x_ld + col;
    q_off = row * p.q_ld + col;
    return cv * kVec < t.cols;
  }
};

template <DType T, Fp8Format F>
__global__ void __launch_bounds__(kBlockMaxThreads, 2) smxx_quantize_block_kernel(const BlockParams p) {
  constexpr uint32_t kVec = kVecOf<T>;
  constexpr int64_t kBytes = T == DType::f32 ? 4 : 2;
  __shared__ uint32_t scratch[2][32];  // block_max of even and odd steps: one barrier per tile suffices
  const auto* x = static_cast<const uint8_t*>(p.x);
  const BlockSlots slots(p);
  const uint32_t tiles = p.tiles_per_row * p.tiles_per_col;

  // Issues the cached loads of tile `index` (nothing past the last tile).
  auto fetch = [&](uint32_t index, uint4 (&raw)[kCachedVectors], bool (&valid)[kCachedVectors]) {
    const auto t = slots.tile(min(index, tiles - 1));
#pragma unroll
    for (int k = 0; k < kCachedVectors; ++k) {
      const uint32_t v = threadIdx.x + static_cast<uint32_t>(k) * blockDim.x;
      int64_t x_off = 0, q_off = 0;
      valid[k] = index < tiles && v < t.vectors && slots.locate<kVec>(t, v, static_cast<uint32_t>(k), x_off, q_off);
      raw[k] = valid[k] ? __ldg(reinterpret_cast<const uint4*>(x + x_off * kBytes)) : make_uint4(0, 0, 0, 0);
    }
  };

  // Quantizes tile `index` from `raw` while the loads of the next tile (issued by the caller) fly.
  auto quantize_tile = [&](uint32_t index, uint32_t step, const uint4 (&raw)[kCachedVectors], const bool (&valid)[kCachedVectors]) {
    const auto t = slots.tile(index);
    uint32_t amax = 0;
#pragma unroll
    for (int k = 0; k < kCachedVectors; ++k) amax = max(amax, vec_amax_bits<T>(raw[k]));
    const uint32_t first_uncached = threadIdx.x + kCachedVectors * blockDim.x;
    for (uint32_t v = first_uncached, k = kCachedVectors; v < t.vectors; v += blockDim.x, ++k) {
      int64_t x_off = 0, q_off = 0;
      if (slots.locate<kVec>(t, v, k, x_off, q_off)) amax = max(amax, vec_amax_bits<T>(__ldg(reinterpret_cast<const uint4*>(x + x_off * kBytes))));
    }
    amax = block_max(amax, scratch[step & 1]);

    const TileScale ts = tile_scale(amax, p.rule);
    if (threadIdx.x == 0) store_scale(p.s, t.tile_row, t.tile_col, ts.scale);
    quantize_store<T, F>(raw, valid, ts, amax, p.q, [&](int k) {
      int64_t x_off = 0, q_off = 0;
      slots.locate<kVec>(t, threadIdx.x + static_cast<uint32_t>(k) * blockDim.x, static_cast<uint32_t>(k), x_off, q_off);
      return q_off;
    });
    for (uint32_t v = first_uncached, k = kCachedVectors; v < t.vectors; v += blockDim.x, ++k) {
      int64_t x_off = 0, q_off = 0;
      if (slots.locate<kVec>(t, v, k, x_off, q_off)) {
        store_codes<T>(p.q + q_off, quantize_vec<T, F, false>(__ldg(reinterpret_cast<const uint4*>(x + x_off * kBytes)), ts));
      }
    }
  };

  // Two register sets used in turn (no copies between them): a holds even steps' tiles, b odd ones.
  uint4 a[kCachedVectors], b[kCachedVectors];
  bool a_valid[kCachedVectors], b_valid[kCachedVectors];
  uint32_t tile = blockIdx.x;
  fetch(tile, a, a_valid);
  for (uint32_t step = 0; tile < tiles; step += 2) {
    fetch(tile + gridDim.x, b, b_valid);
    quantize_tile(tile, step, a, a_valid);
    tile += gridDim.x;
    if (tile >= tiles) break;
    fetch(tile + gridDim.x, a, a_valid);
    quantize_tile(tile, step + 1, b, b_valid);
    tile += gridDim.x;
  }
}

}  // namespace fp8kit::cuda::smxx
