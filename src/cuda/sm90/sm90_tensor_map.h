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

}  // namespace fp8kit::cuda::sm90
