// quantize_block.cuh: R_b x C_b block quantization (weights, 128 x 128 by default) and per-row
// quantization of wide rows (the 1 x C tile): one thread block per tile.
//
// The block reads its tile once: up to kCachedVectors 16-byte vectors per thread stay in registers
// between the amax pass and the quantize pass (a 128 x 128 bf16 tile is 8 vectors per thread at 256
// threads); vectors beyond that are read again in the second pass, from L2 in practice.
#pragma once

#include "cuda/smxx/device_numerics.cuh"

namespace fp8kit::cuda::smxx {

inline constexpr int kBlockMaxThreads = 256;
inline constexpr int kCachedVectors = 8;

template <DType T, Fp8Format F>
__global__ void __launch_bounds__(kBlockMaxThreads) smxx_quantize_block_kernel(const BlockParams p) {
  constexpr uint32_t kVec = kVecOf<T>;
  constexpr int64_t kBytes = T == DType::f32 ? 4 : 2;
  __shared__ uint32_t scratch[32];

  const uint32_t tile = blockIdx.x;
  const uint32_t tile_row = tile / p.tiles_per_row, tile_col = tile - tile_row * p.tiles_per_row;
  const uint32_t r0 = tile_row * p.tile_rows, c0 = tile_col * p.tile_cols;
  const uint32_t rows = min(p.tile_rows, p.rows - r0);
  const uint32_t vec_cols = min(p.tile_cols, p.cols - c0) / kVec;  // valid vectors per tile row
  const uint32_t vectors = rows * p.vecs_per_tile_row;            // slots, masked past vec_cols
  const auto* x = static_cast<const uint8_t*>(p.x);

  // Slot v = threadIdx.x + k * blockDim.x of the tile is (row, vector column); false right of a ragged
  // tile's edge. When the vectors of a tile row divide the block (128 x 128 bf16: 16 of 256 threads),
  // a thread's column is fixed and its row advances by blockDim.x / vecs_per_tile_row per slot.
  const uint32_t vpr = p.vecs_per_tile_row;
  const uint32_t fixed_row = threadIdx.x / vpr, fixed_col = threadIdx.x - fixed_row * vpr;
  const uint32_t rows_per_slot = blockDim.x / vpr;
  auto locate = [&](uint32_t v, uint32_t k, int64_t& x_off, int64_t& q_off) {
    uint32_t r, cv;
    if (p.columns_fixed) {
      r = fixed_row + k * rows_per_slot;
      cv = fixed_col;
    } else if (rows == 1) {  // per-row quantization of wide rows
      r = 0;
      cv = v;
    } else {
      r = v / vpr;
      cv = v - r * vpr;
    }
    const int64_t row = static_cast<int64_t>(r0) + r;
    const int64_t col = static_cast<int64_t>(c0) + cv * kVec;
    x_off = (row * p.x_ld + col) * kBytes;
    q_off = row * p.q_ld + col;
    return cv < vec_cols;
  };

  uint4 cached[kCachedVectors];
  bool valid[kCachedVectors];
#pragma unroll
  for (int k = 0; k < kCachedVectors; ++k) {
    const uint32_t v = threadIdx.x + static_cast<uint32_t>(k) * blockDim.x;
    int64_t x_off = 0, q_off = 0;
    valid[k] = v < vectors && locate(v, static_cast<uint32_t>(k), x_off, q_off);
    cached[k] = valid[k] ? __ldg(reinterpret_cast<const uint4*>(x + x_off)) : make_uint4(0, 0, 0, 0);
  }
  uint32_t amax = 0;
#pragma unroll
  for (int k = 0; k < kCachedVectors; ++k) amax = max(amax, vec_amax_bits<T>(cached[k]));
  for (uint32_t v = threadIdx.x + kCachedVectors * blockDim.x, k = kCachedVectors; v < vectors; v += blockDim.x, ++k) {
    int64_t x_off = 0, q_off = 0;
    if (locate(v, k, x_off, q_off)) amax = max(amax, vec_amax_bits<T>(__ldg(reinterpret_cast<const uint4*>(x + x_off))));
  }
  amax = block_max(amax, scratch);

  const TileScale ts = tile_scale(amax, p.rule);
  if (threadIdx.x == 0) store_scale(p.s, tile_row, tile_col, ts.scale);
#pragma unroll
  for (int k = 0; k < kCachedVectors; ++k) {
    const uint32_t v = threadIdx.x + static_cast<uint32_t>(k) * blockDim.x;
    int64_t x_off = 0, q_off = 0;
    if (valid[k] && locate(v, static_cast<uint32_t>(k), x_off, q_off)) store_codes<T>(p.q + q_off, quantize_vec<T, F>(cached[k], ts));
  }
  for (uint32_t v = threadIdx.x + kCachedVectors * blockDim.x, k = kCachedVectors; v < vectors; v += blockDim.x, ++k) {
    int64_t x_off = 0, q_off = 0;
    if (locate(v, k, x_off, q_off)) {
      store_codes<T>(p.q + q_off, quantize_vec<T, F>(__ldg(reinterpret_cast<const uint4*>(x + x_off)), ts));
    }
  }
}

}  // namespace fp8kit::cuda::smxx
