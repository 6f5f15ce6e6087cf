// sm90_tensor_map.h: TMA tensor maps (CUtensorMap) for the Hopper kernels, encoded on the host through the
// driver's cuTensorMapEncodeTiled, reached via cudaGetDriverEntryPointByVersion (no link to libcuda).
#pragma once

#include <cuda.h>

#include <cstdint>

namespace fp8kit::cuda::sm90 {

/// Tensor map of a row-major byte matrix [rows, cols] with row stride `ld_bytes` (a multiple of 16; base
/// 16-byte aligned), read in boxes of `box_rows` x 128 bytes with 128-byte swizzling. Reads past `rows` or
/// `cols` return zeros.
CUtensorMap make_fp8_kmajor_tensor_map(const void* base, int64_t rows, int64_t cols, int64_t ld_bytes,
                                       int box_rows);

/// Tensor map of an M-major fp32 scale grid As[m, kb] at base + (kb * ld + m) * 4 (ld a multiple of 4 and
/// at least rows; base 16-byte aligned), read in boxes of `box_rows` consecutive rows of one K block. Reads
/// past `rows` return zeros.
CUtensorMap make_f32_mmajor_scale_tensor_map(const void* base, int64_t rows, int64_t k_blocks, int64_t ld,
                                             int box_rows);

/// Tensor map of a row-major 16-bit (bf16 or f16) matrix [rows, cols] with row stride `ld_bytes` (a
/// multiple of 16; base 16-byte aligned), written in boxes of 64 rows x `box_cols` columns with the
/// swizzle of one box row (box_cols * 2 = 128, 64 or 32 bytes). Stores past `rows` or `cols` are dropped.
CUtensorMap make_16bit_store_tensor_map(void* base, bool bf16, int64_t rows, int64_t cols, int64_t ld_bytes,
                                        int box_cols);

}  // namespace fp8kit::cuda::sm90
