// dequantize.cuh: y = round_to(T, decode(q) * s) for every granularity. A unit is 16 consecutive codes
// of one row: one 16-byte load, 32 or 64 bytes of stores. Each thread takes two units per step, loads
// first. Units that share one scale (the tile is at least 16 wide, or the whole row) load it once;
// others (column scales, narrow tiles) load one per code, and unaligned or ragged units go element by
// element.
#pragma once

#include "cuda/smxx/device_numerics.cuh"

namespace fp8kit::cuda::smxx {

inline constexpr int kDequantThreads = 256;
inline constexpr int kDequantUnroll = 2;
inline constexpr uint32_t kDequantChunk = 16;

/// i / tile for non-negative indices, in 32-bit arithmetic where both fit.
__device__ __forceinline__ int64_t tile_index(int64_t i, int64_t tile) {
  if (tile == 1) return i;
  if ((static_cast<uint64_t>(i) | static_cast<uint64_t>(tile)) <= 0xFFFFFFFFu) {
    return static_cast<uint32_t>(i) / static_cast<uint32_t>(tile);
  }
  return i / tile;
}

/// Stores 16 products at y (aligned to 16 bytes) in T.
template <DType T>
__device__ __forceinline__ void store16(uint8_t* y, const float v[16]) {
  if constexpr (T == DType::f32) {
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      reinterpret_cast<uint4*>(y)[k] = make_uint4(__float_as_uint(numerics::canonicalize_f32(v[4 * k])),
                                                  __float_as_uint(numerics::canonicalize_f32(v[4 * k + 1])),
                                                  __float_as_uint(numerics::canonicalize_f32(v[4 * k + 2])),
                                                  __float_as_uint(numerics::canonicalize_f32(v[4 * k + 3])));
    }
  } else {
#pragma unroll
    for (int k = 0; k < 2; ++k) {
      reinterpret_cast<uint4*>(y)[k] = make_uint4(round_pair<T>(v[8 * k], v[8 * k + 1]), round_pair<T>(v[8 * k + 2], v[8 * k + 3]),
                                                  round_pair<T>(v[8 * k + 4], v[8 * k + 5]), round_pair<T>(v[8 * k + 6], v[8 * k + 7]));
    }
  }
}

template <DType T, Fp8Format F>
__global__ void __launch_bounds__(kDequantThreads) smxx_dequantize_kernel(const DequantParams p) {
  constexpr int64_t kOutBytes = T == DType::f32 ? 4 : 2;
  const uint32_t units = p.rows * p.chunks_per_row;
  const uint32_t stride = gridDim.x * blockDim.x;
  auto* y = static_cast<uint8_t*>(p.y);
  for (uint32_t base = blockIdx.x * blockDim.x + threadIdx.x; base < units; base += kDequantUnroll * stride) {
    uint4 raw[kDequantUnroll];
    int64_t row[kDequantUnroll], tile_row[kDequantUnroll];
    uint32_t col[kDequantUnroll];
    bool vector[kDequantUnroll];
    float chunk_scale[kDequantUnroll];
#pragma unroll
    for (int k = 0; k < kDequantUnroll; ++k) {
      const uint32_t u = base + static_cast<uint32_t>(k) * stride;
      const uint32_t r = u / p.chunks_per_row;
      row[k] = p.row_begin + r;
      col[k] = (u - r * p.chunks_per_row) * kDequantChunk;
      vector[k] = u < units && p.vector && col[k] + kDequantChunk <= p.cols;
      raw[k] = vector[k] ? __ldg(reinterpret_cast<const uint4*>(p.q + row[k] * p.q_ld + col[k]))
                         : make_uint4(0, 0, 0, 0);
      tile_row[k] = tile_index(row[k], p.tile_rows);
      // issued with the codes, so the two loads overlap
      chunk_scale[k] = vector[k] && p.scale_per_chunk ? load_scale(p.s, tile_row[k], tile_index(col[k], p.tile_cols)) : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < kDequantUnroll; ++k) {
      const uint32_t u = base + static_cast<uint32_t>(k) * stride;
      if (u >= units) break;
      const int64_t tr = tile_row[k];
      if (vector[k]) {
        float v[kDequantChunk];
#pragma unroll
        for (int w = 0; w < 4; ++w) decode4<F>(word(raw[k], w), v + 4 * w);
        if (p.scale_per_chunk) {
#pragma unroll
          for (uint32_t j = 0; j < kDequantChunk; ++j) v[j] = numerics::mul_rn(v[j], chunk_scale[k]);
        } else {
#pragma unroll
          for (uint32_t j = 0; j < kDequantChunk; ++j) v[j] = numerics::mul_rn(v[j], load_scale(p.s, tr, tile_index(col[k] + j, p.tile_cols)));
        }
        store16<T>(y + (row[k] * p.y_ld + col[k]) * kOutBytes, v);
      } else {
        const uint32_t end = min(col[k] + kDequantChunk, p.cols);
        for (uint32_t c = col[k]; c < end; ++c) {
          const float v = decode_reference<F>(p.q[row[k] * p.q_ld + c]);
          store_output<T>(p.y, row[k] * p.y_ld + c,
                          numerics::mul_rn(v, load_scale(p.s, tr, tile_index(c, p.tile_cols))));
        }
      }
    }
  }
}

}  // namespace fp8kit::cuda::smxx
