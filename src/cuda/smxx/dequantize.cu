// dequantize.cu: launcher of the dequantization kernel (dequantize.cuh). Rows of 2^30 columns or more
// are refused by smxx_backend.cpp before they get here.
#include <algorithm>

#include "cuda/common/cuda_check.h"
#include "cuda/smxx/dequantize.cuh"
#include "cuda/smxx/launchers.h"

namespace fp8kit::cuda::smxx {
namespace {

template <DType T>
void launch_for_output(DequantParams d, int64_t rows, Fp8Format f, const LaunchContext& c) {
  constexpr int64_t kCodes = kDequantCodes<T>;
  d.units_per_row = static_cast<uint32_t>((d.cols + kCodes - 1) / kCodes);
  d.units_per_block = std::min<uint32_t>(d.units_per_row, kDequantBlockUnits);
  d.by_units_per_block = FastDivisor::of(d.units_per_block);
  const dim3 threads(kDequantThreads);
  const int64_t rows_per_block = int64_t{kDequantThreads / d.units_per_block} * kDequantRows;
  // Launches of at most 65535 row bands (the grid's y limit) and of fewer than kMaxIndex32 rows.
  const int64_t max_rows = std::min<int64_t>(65535 * rows_per_block, kMaxIndex32);
  for (int64_t first = 0; first < rows; first += max_rows) {
    const int64_t count = std::min(max_rows, rows - first);
    d.row_begin = first;
    d.rows = static_cast<uint32_t>(count);
    const dim3 blocks((d.units_per_row + d.units_per_block - 1) / d.units_per_block,
                      static_cast<uint32_t>((count + rows_per_block - 1) / rows_per_block));
    if (f == Fp8Format::e5m2) {
      smxx_dequantize_kernel<T, Fp8Format::e5m2><<<blocks, threads, 0, c.stream>>>(d);
    } else {
      smxx_dequantize_kernel<T, Fp8Format::e4m3fn><<<blocks, threads, 0, c.stream>>>(d);
    }
    FP8KIT_CUDA_CHECK_LAUNCH("smxx_dequantize_kernel");
  }
}

/// Whether the unit loads (kCodes bytes) and the 16-byte output stores are aligned.
bool vector_aligned(const core::DequantizeProblem& p, int codes) {
  return rows_aligned(p.q.data, p.q.ld, p.q.rows, 1, codes) &&
         rows_aligned(p.y.data, p.y.ld, p.y.rows, dtype_size(p.y.dtype), 16);
}

}  // namespace

void launch_dequantize(const core::DequantizeProblem& p, const LaunchContext& c) {
  DequantParams d;
  d.q = static_cast<const uint8_t*>(p.q.data);
  d.q_ld = p.q.ld;
  d.y = p.y.data;
  d.y_ld = p.y.ld;
  d.s = scale_source(p.s);
  d.cols = static_cast<uint32_t>(p.q.cols);
  d.tile_rows = p.block_rows;
  d.tile_cols = p.block_cols;
  constexpr int64_t kMax31 = (int64_t{1} << 31) - 1;
  d.by_tile_rows = FastDivisor::of(static_cast<uint32_t>(std::min(d.tile_rows, kMax31)));
  d.by_tile_cols = FastDivisor::of(static_cast<uint32_t>(std::min(d.tile_cols, kMax31)));
  d.rows_fit32 = p.q.rows <= kMax31;
  const auto codes = static_cast<int>(p.y.dtype == DType::f32 ? kDequantCodes<DType::f32> : kDequantCodes<DType::bf16>);
  d.vector = vector_aligned(p, codes);
  d.scale_per_unit = p.block_cols % codes == 0 || p.block_cols >= p.q.cols;
  const Fp8Format f = format_of(p.q.dtype);
  switch (p.y.dtype) {
    case DType::f32: return launch_for_output<DType::f32>(d, p.q.rows, f, c);
    case DType::f16: return launch_for_output<DType::f16>(d, p.q.rows, f, c);
    case DType::bf16: return launch_for_output<DType::bf16>(d, p.q.rows, f, c);
    default: FP8KIT_FAIL("dequantize: unsupported output dtype ", dtype_name(p.y.dtype));
  }
}

}  // namespace fp8kit::cuda::smxx
