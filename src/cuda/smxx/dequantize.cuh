// dequantize.cuh: y = round_to(T, decode(q) * s) for every granularity.
//
// A unit is kDequantCodes<T> consecutive codes of one row: their outputs are one 16-byte store (8 codes
// for bf16/f16, 4 for f32), so every store instruction of a warp writes whole sectors, and the codes
// are one 8- or 4-byte load. A block is kDequantBlockUnits unit columns wide (128 bf16/f16 codes: one
// 128-wide tile) and blockDim.x / kDequantBlockUnits threads tall; a thread owns one unit column and
// walks kDequantRows rows of it (rows_step apart) with every load issued before the first store, so a
// block covers a 128 x 128 tile. The column's scale index is computed once and the rows' scale indices
// advance by adds. (On an H200 one 128 x 128 tile per block with all loads first wrote 7168 x 18432
// bf16 at 91.7% of the copy bandwidth; blocks 2048 codes wide and 8 rows tall with 4 loads in flight
// wrote 84%.)
//
// Units whose codes share one scale (the tile is a whole number of units wide, or as wide as the
// matrix) load it once per row; units with a NaN (or, e5m2, inf) code, or a non-finite scale,
// canonicalise NaN results, the rest skip that. Units whose codes do not share one scale (column
// scales, narrow tiles), unaligned and ragged units go element by element.
#pragma once

#include <type_traits>

#include "cuda/smxx/device_numerics.cuh"

namespace fp8kit::cuda::smxx {

inline constexpr int kDequantThreads = 256;
inline constexpr uint32_t kDequantRows = 8;
inline constexpr uint32_t kDequantBlockUnits = 16;

template <DType T>
inline constexpr uint32_t kDequantCodes = T == DType::f32 ? 4 : 8;

/// i / tile for non-negative indices, in 32-bit arithmetic where both fit.
__device__ __forceinline__ int64_t tile_index(int64_t i, int64_t tile) {
  if (tile == 1) return i;
  if ((static_cast<uint64_t>(i) | static_cast<uint64_t>(tile)) <= 0xFFFFFFFFu) {
    return static_cast<uint32_t>(i) / static_cast<uint32_t>(tile);
  }
  return i / tile;
}

/// True when some code of the word can decode to NaN (or, e5m2, inf): a byte whose exponent and
/// mantissa bits (e4m3) or exponent bits (e5m2) are all ones carries into bit 7 when one is added.
template <Fp8Format F>
__device__ __forceinline__ uint32_t special_codes(uint32_t w) {
  if constexpr (F == Fp8Format::e5m2) {
    return ((w & 0x7C7C7C7Cu) + 0x04040404u) & 0x80808080u;
  } else {
    return ((w & 0x7F7F7F7Fu) + 0x01010101u) & 0x80808080u;
  }
}

/// The 16-byte store of kDequantCodes<T> products; `canonical`: NaN products become the canonical NaN
/// of T (needed only when a NaN can occur).
template <DType T>
__device__ __forceinline__ uint4 pack_outputs(const float* v, bool canonical) {
  if constexpr (T == DType::f32) {
    if (canonical) {
      return make_uint4(__float_as_uint(numerics::canonicalize_f32(v[0])), __float_as_uint(numerics::canonicalize_f32(v[1])),
                        __float_as_uint(numerics::canonicalize_f32(v[2])), __float_as_uint(numerics::canonicalize_f32(v[3])));
    }
    return make_uint4(__float_as_uint(v[0]), __float_as_uint(v[1]), __float_as_uint(v[2]), __float_as_uint(v[3]));
  } else {
    uint32_t w[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) w[k] = canonical ? round_pair<T>(v[2 * k], v[2 * k + 1]) : round_pair_finite<T>(v[2 * k], v[2 * k + 1]);
    return make_uint4(w[0], w[1], w[2], w[3]);
  }
}

/// Rows first + k * rows_step (k < kDequantRows) of the unit at `col`, element by element: units that
/// are unaligned, ragged, or whose codes do not share one scale.
template <DType T, Fp8Format F>
__device__ __forceinline__ void dequantize_unit_by_element(const DequantParams& p, uint32_t col, uint32_t first, uint32_t rows_step) {
  const uint32_t end = min(col + kDequantCodes<T>, p.cols);
#pragma unroll 1
  for (uint32_t k = 0; k < kDequantRows; ++k) {
    const uint32_t r = first + k * rows_step;
    if (r >= p.rows) return;
    const int64_t row = p.row_begin + r;
    const int64_t tile_row = tile_index(row, p.tile_rows);
#pragma unroll 1
    for (uint32_t c = col; c < end; ++c) {
      const float v = decode_reference<F>(p.q[row * p.q_ld + c]);
      store_output<T>(p.y, row * p.y_ld + c, numerics::mul_rn(v, load_scale(p.s, tile_row, tile_index(c, p.tile_cols))));
    }
  }
}

template <DType T, Fp8Format F>
__global__ void __launch_bounds__(kDequantThreads) smxx_dequantize_kernel(const DequantParams p) {
  constexpr uint32_t kCodes = kDequantCodes<T>;
  constexpr int64_t kOutBytes = T == DType::f32 ? 4 : 2;
  using Codes = std::conditional_t<kCodes == 8, uint2, uint32_t>;
  const uint32_t r_local = p.by_units_per_block.divide(threadIdx.x);
  const uint32_t c_local = threadIdx.x - r_local * p.units_per_block;
  const uint32_t rows_step = p.by_units_per_block.divide(blockDim.x);
  const uint32_t unit = blockIdx.x * p.units_per_block + c_local;
  if (r_local >= rows_step || unit >= p.units_per_row) return;
  const uint32_t col = unit * kCodes;
  const uint32_t first = blockIdx.y * rows_step * kDequantRows + r_local;  // row within the launch
  if (!p.vector || !p.scale_per_unit || col + kCodes > p.cols) return dequantize_unit_by_element<T, F>(p, col, first, rows_step);

  // The thread's rows are first + b * rows_step: their scale rows advance without a division.
  const int64_t row_first = p.row_begin + first;
  const int64_t tile_col = p.by_tile_cols.divide(col);
  const int64_t step_tiles = p.by_tile_rows.divide(rows_step), step_rest = rows_step - step_tiles * p.tile_rows;
  int64_t tile_row = p.rows_fit32 ? p.by_tile_rows.divide(static_cast<uint32_t>(row_first)) : row_first / p.tile_rows;
  int64_t in_tile = row_first - tile_row * p.tile_rows;
  const uint8_t* q = p.q + row_first * p.q_ld + col;
  const int64_t q_step = rows_step * p.q_ld;
  Codes codes[kDequantRows];
  float scale[kDequantRows];
#pragma unroll
  for (uint32_t b = 0; b < kDequantRows; ++b) {  // every load before the first use
    const bool load = first + b * rows_step < p.rows;
    codes[b] = load ? __ldg(reinterpret_cast<const Codes*>(q + b * q_step)) : Codes{};
    scale[b] = load ? load_scale(p.s, tile_row, tile_col) : 0.0f;
    tile_row += step_tiles;
    in_tile += step_rest;
    if (in_tile >= p.tile_rows) {
      in_tile -= p.tile_rows;
      ++tile_row;
    }
  }
  auto* y = static_cast<uint8_t*>(p.y) + (row_first * p.y_ld + col) * kOutBytes;
  const int64_t y_step = rows_step * p.y_ld * kOutBytes;
#pragma unroll
  for (uint32_t b = 0; b < kDequantRows; ++b) {
    if (first + b * rows_step >= p.rows) return;
    float v[kCodes];
    uint32_t special = 0;
    if constexpr (kCodes == 8) {
      decode4<F>(codes[b].x, v);
      decode4<F>(codes[b].y, v + 4);
      special = special_codes<F>(codes[b].x) | special_codes<F>(codes[b].y);
    } else {
      decode4<F>(codes[b], v);
      special = special_codes<F>(codes[b]);
    }
#pragma unroll
    for (uint32_t j = 0; j < kCodes; ++j) v[j] = numerics::mul_rn(v[j], scale[b]);
    // NaN products need a NaN code or a non-finite scale (inf * 0 included)
    const bool canonical = special != 0 || !(fabsf(scale[b]) <= __uint_as_float(numerics::kF32MaxFiniteBits));
    *reinterpret_cast<uint4*>(y + b * y_step) = pack_outputs<T>(v, canonical);
  }
}

}  // namespace fp8kit::cuda::smxx
