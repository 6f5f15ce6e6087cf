// kernel_params.h: the plain-data arguments of the smxx kernels (quantize, dequantize, SiLU-mul), shared
// by the launchers (.cu) and the kernels (.cuh). All strides and leading dimensions are in elements of
// the array they describe; 32-bit fields hold sizes the launchers checked to be below 2^30 (column
// counts, indices within one launch), and row positions that can exceed them are 64-bit.
#pragma once

#include <cstdint>

#include "common/fast_divisor.h"
#include "common/numerics.h"

namespace fp8kit::cuda::smxx {

/// A scale grid written by a quantize kernel: cell (i, j) at data + i * row_stride + j * col_stride.
struct ScaleTarget {
  void* data = nullptr;
  int64_t row_stride = 0, col_stride = 0;
  bool ue8m0 = false;  // bytes 2^(b-127); else f32
};

/// A scale grid read by the dequantize kernel (same addressing as ScaleTarget).
struct ScaleSource {
  const void* data = nullptr;
  int64_t row_stride = 0, col_stride = 0;
  bool ue8m0 = false;
};

/// The scale rule of docs/numerics.md for one output format.
struct ScaleRule {
  float fmax = 0.0f;              // the FP8 format's max finite value
  numerics::ScaleDivisor fmax_divisor;  // ScaleDivisor::of(fmax): amax / fmax without an IEEE division
  float amax_upper_bound = 0.0f;  // 0: none
  bool pow2 = false;              // ScaleRounding::pow2
};

/// One 1 x G tile per group of lanes (quantize_group.cuh). Rows [row_begin, row_begin + rows).
/// For the fused SiLU-mul input, x is gate_up and the up half starts `cols` columns after the gate.
struct GroupParams {
  const void* x = nullptr;
  int64_t x_ld = 0;
  uint8_t* q = nullptr;
  int64_t q_ld = 0;
  ScaleTarget s;
  ScaleRule rule;
  uint32_t row_begin = 0, rows = 0, cols = 0;
  uint32_t group = 0;                 // G = 4 vectors per lane * 2^log2_lanes_per_group lanes
  uint32_t groups_per_row = 0;        // ceil(cols / G)
  uint32_t log2_lanes_per_group = 0;  // at most 5 (32 lanes; picks the kernel)
  bool m_major = false;               // column-major scales: walk bands of rows (picks the kernel)
};

/// R_b x C_b tiles, one per thread block (quantize_block.cuh); per-row quantization of wide rows is the
/// 1 x C tile.
struct BlockParams {
  const void* x = nullptr;
  int64_t x_ld = 0;
  uint8_t* q = nullptr;
  int64_t q_ld = 0;
  ScaleTarget s;
  ScaleRule rule;
  uint32_t rows = 0, cols = 0;
  uint32_t tile_rows = 0, tile_cols = 0;  // tile_cols a multiple of the vector width
  uint32_t tiles_per_row = 0, tiles_per_col = 0;  // the scale grid's columns and rows
  uint32_t vecs_per_tile_row = 0;         // tile_cols / vector width
  FastDivisor by_tiles_per_row;           // tile index -> tile row
  FastDivisor by_vecs_per_tile_row;       // slot's vector index in the tile -> row in the tile
  uint32_t slots = 0;                     // per thread: ceil(vectors of a full tile / threads) (general walk)
  // From a thread's slot k to slot k + 1 (the fixed_column and row walks of quantize_block.cuh): rows and
  // columns within the tile, element offsets in x and q.
  uint32_t slot_row_step = 0, slot_col_step = 0;
  int64_t x_slot_step = 0, q_slot_step = 0;
};

/// Per-tensor quantization (quantize_tensor.cuh): element-wise over units of one 16-byte vector (or
/// one element where the rows are not 16-byte aligned). amax_bits is the device word both kernels share.
struct TensorParams {
  const void* x = nullptr;
  int64_t x_ld = 0;
  uint8_t* q = nullptr;
  int64_t q_ld = 0;
  ScaleTarget s;
  ScaleRule rule;
  uint32_t* amax_bits = nullptr;
  int64_t row_begin = 0;
  uint32_t rows = 0, cols = 0;
  uint32_t units_per_row = 0;
  bool vector = false;
  bool contiguous = false;  // x_ld == q_ld == cols: unit u is at u * width from the launch's first row
};

/// Any tile shape, any alignment, 64-bit indices, one warp per tile (quantize_generic.cuh).
struct GenericParams {
  const void* x = nullptr;
  int64_t x_ld = 0;
  uint8_t* q = nullptr;
  int64_t q_ld = 0;
  ScaleTarget s;
  ScaleRule rule;
  int64_t rows = 0, cols = 0;
  int64_t tile_rows = 1, tile_cols = 1;
  int64_t grid_rows = 0, grid_cols = 0;  // tiles: the scale grid's shape
  int64_t tile_begin = 0, tile_count = 0;
};

/// Dequantization (dequantize.cuh): units of kDequantCodes consecutive codes of one row; a block holds
/// units_per_block unit columns times blockDim.x / units_per_block rows.
struct DequantParams {
  const uint8_t* q = nullptr;
  int64_t q_ld = 0;
  void* y = nullptr;
  int64_t y_ld = 0;
  ScaleSource s;
  int64_t row_begin = 0;
  uint32_t rows = 0, cols = 0;
  int64_t tile_rows = 1, tile_cols = 1;
  uint32_t units_per_row = 0;    // ceil(cols / kDequantCodes)
  uint32_t units_per_block = 0;  // min(units_per_row, kDequantBlockUnits)
  FastDivisor by_units_per_block;
  FastDivisor by_tile_rows;      // of min(tile_rows, 2^31 - 1): used while row indices stay below 2^31
  FastDivisor by_tile_cols;      // of min(tile_cols, 2^31 - 1) (columns stay below 2^30)
  bool rows_fit32 = false;       // every row index of the matrix is below 2^31
  bool vector = false;           // unit loads and 16-byte stores are aligned
  bool scale_per_unit = false;   // the codes of a unit always share one scale
};

/// Plain SiLU-mul (silu_mul.cuh): units of 8 outputs of one row (or 1 where unaligned).
struct SiluMulParams {
  const uint16_t* gate_up = nullptr;
  int64_t gate_up_ld = 0;
  uint16_t* h = nullptr;
  int64_t h_ld = 0;
  int64_t row_begin = 0;
  uint32_t rows = 0, cols = 0;  // cols = I
  uint32_t units_per_row = 0;
  bool vector = false;
};

}  // namespace fp8kit::cuda::smxx
