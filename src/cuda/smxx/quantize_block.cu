// quantize_block.cu: launcher of the R_b x C_b block kernel (quantize_block.cuh).
#include <algorithm>

#include "cuda/common/cuda_check.h"
#include "cuda/smxx/launchers.h"
#include "cuda/smxx/quantize_block.cuh"

namespace fp8kit::cuda::smxx {
namespace {

template <DType T, Fp8Format F>
void launch_kernel(const BlockParams& b, uint32_t threads, const LaunchContext& c) {
  const auto kernel = smxx_quantize_block_kernel<T, F>;
  // Persistent blocks: as many as fit at once (tiles beyond are taken in turn), never more than tiles.
  const int64_t tiles = int64_t{b.tiles_per_row} * b.tiles_per_col;
  const int64_t resident = int64_t{resident_blocks(reinterpret_cast<const void*>(kernel), static_cast<int>(threads))} * c.multiprocessors;
  const auto blocks = static_cast<uint32_t>(std::clamp<int64_t>(resident, 1, tiles));
  kernel<<<blocks, threads, 0, c.stream>>>(b);
  FP8KIT_CUDA_CHECK_LAUNCH("smxx_quantize_block_kernel");
}

template <DType T>
void launch_for_input(const BlockParams& b, uint32_t threads, Fp8Format f, const LaunchContext& c) {
  if (f == Fp8Format::e5m2) {
    launch_kernel<T, Fp8Format::e5m2>(b, threads, c);
  } else {
    launch_kernel<T, Fp8Format::e4m3fn>(b, threads, c);
  }
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
  // Threads: kCachedVectors vectors each for the tile's vectors, a multiple of a warp, at most
  // kBlockMaxThreads (128 x 128 bf16: 256; a 7168-wide bf16 row: 128).
  const int64_t vectors = std::min(p.block_rows, p.x.rows) * (p.block_cols / vec);
  const int64_t per_thread = (vectors + kCachedVectors - 1) / kCachedVectors;
  const auto threads = static_cast<uint32_t>(std::clamp<int64_t>((per_thread + 31) / 32 * 32, 32, kBlockMaxThreads));
  b.columns_fixed = threads % b.vecs_per_tile_row == 0;
  const Fp8Format f = format_of(p.q.dtype);
  switch (p.x.dtype) {
    case DType::f32: return launch_for_input<DType::f32>(b, threads, f, c);
    case DType::f16: return launch_for_input<DType::f16>(b, threads, f, c);
    case DType::bf16: return launch_for_input<DType::bf16>(b, threads, f, c);
    default: FP8KIT_FAIL("quantize: unsupported input dtype ", dtype_name(p.x.dtype));
  }
}

}  // namespace fp8kit::cuda::smxx
