// dequantize_fast.cpp: the fast CPU dequantize (Backend::cpu), bit-identical to dequantize_reference.
//
// The scale grid (any layout, f32 or UE8M0) is first read into a dense fp32 grid, one row per band of
// tile rows; then every row is decoded in runs by the vectorised kernel with the scales of its band
// (one per tile; one per element for column scales). Rows (or, for per-tensor scales of a dense
// matrix, runs of the flattened matrix) are spread over the threads.
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

/// The scales of p as a dense row-major fp32 grid [s.rows, s.cols].
std::vector<float> dense_scales(const core::DequantizeProblem& p) {
  std::vector<float> grid(static_cast<size_t>(p.s.rows * p.s.cols));
  parallel_for(p.s.rows, grain_for(p.s.cols, kTaskElements), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j = 0; j < p.s.cols; ++j) grid[static_cast<size_t>(i * p.s.cols + j)] = load_scale(p.s, i, j);
    }
  });
  return grid;
}

void dequantize_tensor(const core::DequantizeProblem& p, const DequantizeRowKernels& k) {
  const float scale = load_scale(p.s, 0, 0);
  const RunSplit split = split_into_runs(p.q, p.y, kTaskElements);
  parallel_for(split.tasks(), grain_for(split.run_length, kTaskElements), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const Run run = split.run(t);
      k.decode_groups(split.a.row<const uint8_t>(run.row) + run.col, element_address(split.b, run.row, run.col),
                      run.length, run.length, &scale);
    }
  });
}

}  // namespace

void dequantize(const core::DequantizeProblem& p) {
  const DequantizeRowKernels& k = dequantize_row_kernels(p.q.dtype, p.y.dtype);
  if (p.granularity == Granularity::tensor) return dequantize_tensor(p, k);
  if (p.s.rows == 0 || p.s.cols == 0) return;  // no tiles
  const std::vector<float> scales = dense_scales(p);
  const int64_t group = p.block_cols;  // column scales: 1, one per element
  const int64_t run = std::max<int64_t>(group, kTaskElements / group * group);  // whole tiles per run
  const int64_t runs_per_row = (p.q.cols + run - 1) / run;
  parallel_for(p.q.rows * runs_per_row, grain_for(std::min(run, p.q.cols), kTaskElements),
               [&](int64_t begin, int64_t end) {
                 for (int64_t t = begin; t < end; ++t) {
                   const int64_t r = t / runs_per_row;
                   const int64_t c0 = (t % runs_per_row) * run;
                   const float* band = scales.data() + (r / p.block_rows) * p.s.cols;
                   k.decode_groups(p.q.row<const uint8_t>(r) + c0, element_address(p.y, r, c0),
                                   std::min(run, p.q.cols - c0), group, band + c0 / group);
                 }
               });
}

}  // namespace fp8kit::cpu
