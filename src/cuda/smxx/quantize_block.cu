// quantize_block.cu: launcher of the R_b x C_b block kernel (quantize_block.cuh).
#include <algorithm>

#include "cuda/common/cuda_check.h"
#include "cuda/smxx/launchers.h"
#include "cuda/smxx/quantize_block.cuh"

namespace fp8kit::cuda::smxx {
namespace {

template <DType T, Fp8Format F, int kV>
void launch_walk(const BlockParams& b, int threads, SlotWalk walk, const LaunchContext& c) {
  const auto blocks = static_cast<uint32_t>(int64_t{b.tiles_per_row} * b.tiles_per_col);  // < 2^30: quantize_block_fits
  switch (walk) {
    case SlotWalk::fixed_column: smxx_quantize_block_kernel<T, F, kV, SlotWalk::fixed_column><<<blocks, threads, 0, c.stream>>>(b); break;
    case SlotWalk::row: smxx_quantize_block_kernel<T, F, kV, SlotWalk::row><<<blocks, threads, 0, c.stream>>>(b); break;
    case SlotWalk::general: smxx_quantize_block_kernel<T, F, kV, SlotWalk::general><<<blocks, threads, 0, c.stream>>>(b); break;
  }
  FP8KIT_CUDA_CHECK_LAUNCH("smxx_quantize_block_kernel");
}

template <DType T>
void launch_for_input(const BlockParams& b, int threads, int cached, SlotWalk walk, Fp8Format f, const LaunchContext& c) {
  if (f == Fp8Format::e5m2) {
    return cached == 4 ? launch_walk<T, Fp8Format::e5m2, 4>(b, threads, walk, c) : launch_walk<T, Fp8Format::e5m2, 8>(b, threads, walk, c);
  }
  return cached == 4 ? launch_walk<T, Fp8Format::e4m3fn, 4>(b, threads, walk, c) : launch_walk<T, Fp8Format::e4m3fn, 8>(b, threads, walk, c);
}

}  // namespace

bool quantize_block_fits(const core::QuantizeProblem& p) {
  const int64_t vec = vector_width(p.x.dtype);
  const int64_t tile_rows = std::min(p.block_rows, p.x.rows);
  return p.block_cols % vec == 0 && p.x.cols % vec == 0 && fits_index32(p.x.rows, p.x.cols) &&
         fits_index32(p.block_rows, p.block_cols) && tile_rows * (p.block_cols / vec) < kMaxIndex32 &&
         p.s.rows * p.s.cols < kMaxIndex32 &&
         rows_aligned(p.x.data, p.x.ld, p.x.rows, dtype_size(p.x.dtype), 16) &&
         rows_aligned(p.q.data, p.q.ld, p.q.rows, 1, static_cast<int>(vec));
}

void launch_quantize_block(const core::QuantizeProblem& p, const LaunchContext& c) {
  const int64_t vec = vector_width(p.x.dtype);
  BlockParams b;
  b.x = p.x.data;
  b.x_ld = p.x.ld;
  b.q = static_cast<uint8_t*>(p.q.data);
  b.q_ld = p.q.ld;
  b.s = scale_target(p.s);
  b.rule = scale_rule(p.q.dtype, p.rounding, p.amax_upper_bound);
  b.rows = static_cast<uint32_t>(p.x.rows);
  b.cols = static_cast<uint32_t>(p.x.cols);
  b.tile_rows = static_cast<uint32_t>(p.block_rows);
  b.tile_cols = static_cast<uint32_t>(p.block_cols);
  b.tiles_per_row = static_cast<uint32_t>(p.s.cols);
  b.tiles_per_col = static_cast<uint32_t>(p.s.rows);  // >= 1: empty inputs never get here
  b.vecs_per_tile_row = static_cast<uint32_t>(p.block_cols / vec);
  const int64_t vectors = std::min(p.block_rows, p.x.rows) * (p.block_cols / vec);
  const int threads = block_threads(vectors, p.block_rows == 1 ? 4 : 8);
  b.by_tiles_per_row = FastDivisor::of(b.tiles_per_row);
  b.by_vecs_per_tile_row = FastDivisor::of(b.vecs_per_tile_row);
  b.slots = static_cast<uint32_t>((vectors + threads - 1) / threads);
  const int cached = block_cached_vectors(vectors, threads);
  const bool cached_all = b.slots <= static_cast<uint32_t>(cached);
  const SlotWalk walk = cached_all && static_cast<uint32_t>(threads) % b.vecs_per_tile_row == 0 ? SlotWalk::fixed_column
                        : cached_all && p.block_rows == 1                                       ? SlotWalk::row
                                                                                                : SlotWalk::general;
  if (walk == SlotWalk::fixed_column) {
    b.slot_row_step = static_cast<uint32_t>(threads) / b.vecs_per_tile_row;
    b.x_slot_step = b.slot_row_step * p.x.ld;
    b.q_slot_step = b.slot_row_step * p.q.ld;
  } else if (walk == SlotWalk::row) {
    b.slot_col_step = static_cast<uint32_t>(threads * vec);
    b.x_slot_step = b.q_slot_step = b.slot_col_step;
  }
  const Fp8Format f = format_of(p.q.dtype);
  switch (p.x.dtype) {
    case DType::f32: return launch_for_input<DType::f32>(b, threads, cached, walk, f, c);
    case DType::f16: return launch_for_input<DType::f16>(b, threads, cached, walk, f, c);
    case DType::bf16: return launch_for_input<DType::bf16>(b, threads, cached, walk, f, c);
    default: FP8KIT_FAIL("quantize: unsupported input dtype ", dtype_name(p.x.dtype));
  }
}

}  // namespace fp8kit::cuda::smxx
