// dequantize.cu: launcher of the dequantization kernel (dequantize.cuh). Rows of 2^30 columns or more
// are refused by smxx_backend.cpp before they get here.
#include "cuda/common/cuda_check.h"
#include "cuda/smxx/dequantize.cuh"
#include "cuda/smxx/launchers.h"

namespace fp8kit::cuda::smxx {
namespace {

template <DType T>
void launch_for_output(DequantParams d, int64_t rows, Fp8Format f, const LaunchContext& c) {
  const int64_t cap = int64_t{8} * c.multiprocessors;
  for_each_row_range(rows, d.chunks_per_row, [&](int64_t first, int64_t count) {
    d.row_begin = first;
    d.rows = static_cast<uint32_t>(count);
    const uint32_t blocks = grid_blocks(count * d.chunks_per_row, int64_t{kDequantThreads} * kDequantUnroll, cap);
    if (f == Fp8Format::e5m2) {
      smxx_dequantize_kernel<T, Fp8Format::e5m2><<<blocks, kDequantThreads, 0, c.stream>>>(d);
    } else {
      smxx_dequantize_kernel<T, Fp8Format::e4m3fn><<<blocks, kDequantThreads, 0, c.stream>>>(d);
    }
    FP8KIT_CUDA_CHECK_LAUNCH("smxx_dequantize_kernel");
  });
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
  d.chunks_per_row = static_cast<uint32_t>((p.q.cols + kDequantChunk - 1) / kDequantChunk);
  d.vector = rows_aligned(p.q.data, p.q.ld, p.q.rows, 1, 16) && rows_aligned(p.y.data, p.y.ld, p.y.rows, dtype_size(p.y.dtype), 16);
  d.scale_per_chunk = p.block_cols % kDequantChunk == 0 || p.block_cols >= p.q.cols;
  const Fp8Format f = format_of(p.q.dtype);
  switch (p.y.dtype) {
    case DType::f32: return launch_for_output<DType::f32>(d, p.q.rows, f, c);
    case DType::f16: return launch_for_output<DType::f16>(d, p.q.rows, f, c);
    case DType::bf16: return launch_for_output<DType::bf16>(d, p.q.rows, f, c);
    default: FP8KIT_FAIL("dequantize: unsupported output dtype ", dtype_name(p.y.dtype));
  }
}

}  // namespace fp8kit::cuda::smxx
