// quantize_fast.cpp: the fast CPU quantize (Backend::cpu), bit-identical to quantize_reference.
//
// Three drivers over the vectorised row kernels (row_kernels.h), all multithreaded with parallel_for:
// - tiles (row, 1 x G group, R_b x C_b block): a task is one band of tile rows and a run of whole
//   tiles in it (about 64K elements, so a 128 x 128 bf16 band stays in L2): amax of each tile, its
//   scale, then the encode of the same elements;
// - tensor: two passes, a parallel amax (a max, so any split gives the same bits) then a parallel
//   encode with the one scale;
// - column (R x 1 tiles): a task owns a band of columns over all rows, so each column's amax, scale
//   and codes come from one task.
#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/element_io.h"
#include "cpu/parallel_for.h"
#include "cpu/quantize_common.h"
#include "cpu/row_kernels.h"

namespace fp8kit::cpu {
namespace {

constexpr int64_t kTaskElements = 1 << 16;
constexpr int64_t kColumnBand = 256;  // columns per task of the column driver
constexpr int64_t kPrefetchRows = 8;  // rows of a band read ahead of the amax pass

/// Asks for columns [c0, c1) of row r of m: a band reads many rows a short run each, more streams
/// than the hardware prefetcher follows.
void prefetch_run(const core::MatrixRef& m, int64_t r, int64_t c0, int64_t c1) {
  const auto* begin = static_cast<const char*>(element_address(m, r, c0));
  const auto* end = static_cast<const char*>(element_address(m, r, c1));
  for (const char* p = begin; p < end; p += 64) __builtin_prefetch(p);
}

void quantize_tiles(const core::QuantizeProblem& p, const QuantizeRowKernels& k) {
  const int64_t tile_rows = p.block_rows, tile_cols = p.block_cols;
  const int64_t tiles_per_task = std::clamp<int64_t>(kTaskElements / tile_rows / tile_cols, 1, p.s.cols);
  const int64_t tasks_per_band = (p.s.cols + tiles_per_task - 1) / tiles_per_task;
  const int64_t task_elements = std::min(tile_rows, p.x.rows) * std::min(tile_cols * tiles_per_task, p.x.cols);
  parallel_for(p.s.rows * tasks_per_band, grain_for(task_elements), [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> amax(static_cast<size_t>(tiles_per_task));
    std::vector<float> scales(static_cast<size_t>(tiles_per_task));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t gi = t / tasks_per_band;
      const int64_t gj0 = (t % tasks_per_band) * tiles_per_task;
      const int64_t gj1 = std::min(gj0 + tiles_per_task, p.s.cols);
      const int64_t r0 = gi * tile_rows, r1 = std::min(r0 + tile_rows, p.x.rows);
      const int64_t c0 = gj0 * tile_cols, c1 = std::min(gj1 * tile_cols, p.x.cols);
      std::fill(amax.begin(), amax.end(), 0u);
      for (int64_t r = r0; r < r1; ++r) {
        if (r + kPrefetchRows < r1) prefetch_run(p.x, r + kPrefetchRows, c0, c1);
        k.group_abs_max(element_address(p.x, r, c0), c1 - c0, tile_cols, amax.data());
      }
      for (int64_t gj = gj0; gj < gj1; ++gj) {
        const size_t j = static_cast<size_t>(gj - gj0);
        scales[j] = scale_from_amax_bits(amax[j], p.q.dtype, p.rounding, p.amax_upper_bound);
        store_scale(p.s, gi, gj, scales[j]);
      }
      for (int64_t r = r0; r < r1; ++r) {
        k.encode_groups(element_address(p.x, r, c0), p.q.row<uint8_t>(r) + c0, c1 - c0, tile_cols, scales.data());
      }
    }
  });
}

void quantize_tensor(const core::QuantizeProblem& p, const QuantizeRowKernels& k) {
  const RunSplit split = split_into_runs(p.x, p.q, kTaskElements);
  std::vector<uint32_t> partial(static_cast<size_t>(split.tasks()), 0u);
  const int64_t grain = grain_for(split.run_length, kTaskElements);
  parallel_for(split.tasks(), grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const Run run = split.run(t);
      k.group_abs_max(element_address(split.a, run.row, run.col), run.length, run.length,
                      &partial[static_cast<size_t>(t)]);
    }
  });
  const uint32_t amax = partial.empty() ? 0u : *std::max_element(partial.begin(), partial.end());
  const float scale = scale_from_amax_bits(amax, p.q.dtype, p.rounding, p.amax_upper_bound);
  store_scale(p.s, 0, 0, scale);
  parallel_for(split.tasks(), grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const Run run = split.run(t);
      k.encode_groups(element_address(split.a, run.row, run.col), split.b.row<uint8_t>(run.row) + run.col,
                      run.length, run.length, &scale);
    }
  });
}

void quantize_columns(const core::QuantizeProblem& p, const QuantizeRowKernels& k) {
  const int64_t bands = (p.x.cols + kColumnBand - 1) / kColumnBand;
  parallel_for(bands, 1, [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> amax(static_cast<size_t>(kColumnBand));
    std::vector<float> scales(static_cast<size_t>(kColumnBand));
    for (int64_t b = begin; b < end; ++b) {
      const int64_t c0 = b * kColumnBand, c1 = std::min(c0 + kColumnBand, p.x.cols);
      std::fill(amax.begin(), amax.end(), 0u);
      for (int64_t r = 0; r < p.x.rows; ++r) k.group_abs_max(element_address(p.x, r, c0), c1 - c0, 1, amax.data());
      for (int64_t c = c0; c < c1; ++c) {
        const size_t j = static_cast<size_t>(c - c0);
        scales[j] = scale_from_amax_bits(amax[j], p.q.dtype, p.rounding, p.amax_upper_bound);
        store_scale(p.s, 0, c, scales[j]);
      }
      for (int64_t r = 0; r < p.x.rows; ++r) {
        k.encode_groups(element_address(p.x, r, c0), p.q.row<uint8_t>(r) + c0, c1 - c0, 1, scales.data());
      }
    }
  });
}

}  // namespace

void quantize(const core::QuantizeProblem& p) {
  if (p.granularity != Granularity::tensor && (p.s.rows == 0 || p.s.cols == 0)) return;  // no tiles
  const QuantizeRowKernels& k = quantize_row_kernels(p.x.dtype, p.q.dtype);
  switch (p.granularity) {
    case Granularity::tensor: return quantize_tensor(p, k);
    case Granularity::column: return quantize_columns(p, k);
    case Granularity::row:
    case Granularity::group:
    case Granularity::block: return quantize_tiles(p, k);
  }
  FP8KIT_FAIL("cpu quantize: unknown granularity ", static_cast<int>(p.granularity));
}

}  // namespace fp8kit::cpu
