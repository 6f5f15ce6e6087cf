// quantize_common.h: pieces shared by the fast CPU drivers: the scale of an amax taken as fp32 bits,
// and the split of a matrix (or two matrices of one shape) into contiguous runs for parallel loops.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/numerics.h"
#include "core/problem.h"
#include "cpu/element_io.h"
#include "cpu/row_kernels.h"

namespace fp8kit::cpu {

/// The contract's scale for a tile whose amax, as fp32 magnitude bits, is `amax_bits` (bits at or
/// above kNonFiniteAmaxBits: the tile holds NaN or inf). Equal to group_scale() of an
/// AmaxAccumulator fed the same elements.
inline float scale_from_amax_bits(uint32_t amax_bits, DType fp8, ScaleRounding rounding, float bound) {
  numerics::AmaxAccumulator acc;
  acc.nonfinite = amax_bits >= kNonFiniteAmaxBits;
  acc.amax = acc.nonfinite ? 0.0f : numerics::float_of(amax_bits);
  return group_scale(acc, fp8, rounding, bound);
}

/// A contiguous run of `length` elements starting at (row, col).
struct Run {
  int64_t row = 0, col = 0, length = 0;
};

/// The elements of two same-shaped matrices `a` and `b` as runs of at most `max_run` elements. When
/// both are dense (ld == cols) they are viewed as one long row, so short rows do not make short runs.
struct RunSplit {
  core::MatrixRef a, b;
  int64_t runs_per_row = 0, run_length = 0;

  int64_t tasks() const { return a.rows * runs_per_row; }
  Run run(int64_t t) const {
    const int64_t row = t / runs_per_row;
    const int64_t col = (t % runs_per_row) * run_length;
    return {row, col, std::min(run_length, a.cols - col)};
  }
};

inline RunSplit split_into_runs(const core::MatrixRef& a, const core::MatrixRef& b, int64_t max_run) {
  RunSplit s{a, b, 0, 0};
  if (a.rows == 0 || a.cols == 0) return s;
  const bool dense = (a.rows == 1 || a.ld == a.cols) && (b.rows == 1 || b.ld == b.cols);
  if (dense) {
    for (core::MatrixRef* m : {&s.a, &s.b}) {
      m->cols *= m->rows;
      m->rows = 1;
      m->ld = m->cols;
    }
  }
  s.runs_per_row = (s.a.cols + max_run - 1) / max_run;
  s.run_length = std::min(max_run, s.a.cols);
  return s;
}

}  // namespace fp8kit::cpu
