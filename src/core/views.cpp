// views.cpp: validation and normalisation of tensor views (see views.h).
#include "core/views.h"

#include <cstdint>
#include <utility>

#include "fp8kit/error.h"

namespace fp8kit::core {
namespace {

/// Checks what every view must satisfy before any arithmetic on it: rank, non-negative sizes and
/// strides, a product of the non-zero sizes that fits in int64, and, for a non-empty view, a non-null
/// address aligned to the element size whose byte extent neither overflows int64 nor wraps around the
/// address space. Afterwards numel(), rows * ld and every element offset are exact int64 values.
void check_shape_and_strides(const TensorView& t, const char* op, const char* what) {
  FP8KIT_CHECK(t.rank >= 0 && t.rank <= kMaxRank, op, ": ", what, " has rank ", t.rank, ", expected 0..", kMaxRank);
  for (int d = 0; d < t.rank; ++d) {
    FP8KIT_CHECK(t.shape[d] >= 0, op, ": ", what, " has a negative size in dimension ", d, ": ", describe(t));
    FP8KIT_CHECK(t.strides[d] >= 0, op, ": ", what, " has a negative stride in dimension ", d, ": ", describe(t));
  }
  FP8KIT_CHECK(dtype_size(t.dtype) > 0, op, ": ", what, " has an unknown dtype (value ", static_cast<int>(t.dtype), ")");
  int64_t nonzero_product = 1;
  bool empty = false;
  for (int d = 0; d < t.rank; ++d) {
    if (t.shape[d] == 0) {
      empty = true;
      continue;
    }
    FP8KIT_CHECK(!__builtin_mul_overflow(nonzero_product, t.shape[d], &nonzero_product), op, ": ", what,
                 " has more elements than a 64-bit count holds: ", describe(t));
  }
  if (empty) return;
  FP8KIT_CHECK(t.data != nullptr, op, ": ", what, " is a null pointer with ", nonzero_product, " elements: ",
               describe(t));
  const int64_t size = dtype_size(t.dtype);
  const auto address = reinterpret_cast<uintptr_t>(t.data);
  FP8KIT_CHECK(address % static_cast<uintptr_t>(size) == 0, op, ": ", what, " at ", t.data,
               " is not aligned to its ", size, "-byte ", dtype_name(t.dtype), " elements: ", describe(t));
  int64_t last = 0;  // offset of the last element, in elements
  bool overflow = false;
  for (int d = 0; d < t.rank; ++d) {
    int64_t step = 0;
    overflow = overflow || __builtin_mul_overflow(t.shape[d] - 1, t.strides[d], &step) ||
               __builtin_add_overflow(last, step, &last);
  }
  int64_t extent = 0;  // bytes from the first element to one past the last
  overflow = overflow || __builtin_add_overflow(last, int64_t{1}, &extent) ||
             __builtin_mul_overflow(extent, size, &extent);
  FP8KIT_CHECK(!overflow, op, ": ", what, " spans more bytes than a 64-bit offset holds: ", describe(t));
  uintptr_t end = 0;
  FP8KIT_CHECK(!__builtin_add_overflow(address, static_cast<uintptr_t>(extent), &end), op, ": ", what, " at ", t.data,
               " spans ", extent, " bytes, past the end of the address space: ", describe(t));
}

/// Stride that steps one "row" through dims [0, end) collapsed (size-1 dims ignored), given that the
/// innermost collapsed element spacing must be `inner_span` elements apart at least. Returns
/// `fallback` when all those dims are trivial.
int64_t collapse_leading(const TensorView& t, int end, int64_t fallback, const char* op, const char* what) {
  int64_t stride = -1;
  int64_t expected = -1;
  for (int d = end - 1; d >= 0; --d) {
    if (t.shape[d] == 1) continue;
    if (stride < 0) {
      stride = t.strides[d];
    } else {
      FP8KIT_CHECK(t.strides[d] == expected, op, ": the leading dimensions of ", what,
                   " cannot be flattened into rows (dimension ", d, " has stride ", t.strides[d], ", expected ",
                   expected, "): ", describe(t));
    }
    expected = t.strides[d] * t.shape[d];
  }
  return stride < 0 ? fallback : stride;
}

}  // namespace

MatrixRef as_matrix(const TensorView& t, const char* op, const char* what) {
  check_shape_and_strides(t, op, what);
  MatrixRef m;
  m.data = t.data;
  m.dtype = t.dtype;
  if (t.rank == 0) {
    m.rows = m.cols = m.ld = 1;
    return m;
  }
  m.cols = t.shape[t.rank - 1];
  FP8KIT_CHECK(m.cols <= 1 || t.strides[t.rank - 1] == 1, op, ": the last dimension of ", what,
               " must be contiguous (stride 1), got stride ", t.strides[t.rank - 1], ": ", describe(t));
  m.rows = 1;
  for (int d = 0; d + 1 < t.rank; ++d) m.rows *= t.shape[d];
  m.ld = collapse_leading(t, t.rank - 1, m.cols, op, what);
  FP8KIT_CHECK(m.rows <= 1 || m.ld >= m.cols, op, ": rows of ", what, " overlap (row stride ", m.ld, " < ", m.cols,
               " columns): ", describe(t));
  if (m.rows <= 1) m.ld = m.cols;
  return m;
}

int64_t vector_stride(const TensorView& t, int64_t n, const char* op, const char* what) {
  check_shape_and_strides(t, op, what);
  FP8KIT_CHECK(t.numel() == n, op, ": ", what, " must hold ", n, " elements, got ", t.numel(), ": ", describe(t));
  return collapse_leading(t, t.rank, 0, op, what);
}

Tile resolve_tile(int64_t rows, int64_t cols, const ScaleSpec& spec) {
  const int64_t r = rows > 0 ? rows : 1;
  const int64_t c = cols > 0 ? cols : 1;
  switch (spec.granularity) {
    case Granularity::tensor: return {r, c};
    case Granularity::row: return {1, c};
    case Granularity::column: return {r, 1};
    case Granularity::group:
      FP8KIT_CHECK(spec.block_cols >= 1, "group scales need a group size >= 1, got ", spec.block_cols);
      return {1, spec.block_cols};
    case Granularity::block:
      FP8KIT_CHECK(spec.block_rows >= 1 && spec.block_cols >= 1, "block scales need a tile of at least 1x1, got ",
                   spec.block_rows, "x", spec.block_cols);
      return {spec.block_rows, spec.block_cols};
  }
  FP8KIT_FAIL("unknown scale granularity ", static_cast<int>(spec.granularity));
}

std::string spec_name(const ScaleSpec& spec) {
  const char* pow2 = spec.rounding == ScaleRounding::pow2 ? " pow2" : "";
  switch (spec.granularity) {
    case Granularity::group: return detail::concat("group(", spec.block_cols, ")", pow2);
    case Granularity::block: return detail::concat("block(", spec.block_rows, "x", spec.block_cols, ")", pow2);
    default: return detail::concat(granularity_name(spec.granularity), pow2);
  }
}

ScaleGridRef as_scale_grid(const TensorView& scales, const TensorView& x, int64_t rows, int64_t cols,
                           const ScaleSpec& spec, const char* op) {
  check_shape_and_strides(scales, op, "scales");
  FP8KIT_CHECK(scales.dtype == DType::f32 || scales.dtype == DType::ue8m0, op,
               ": scales must be f32 or ue8m0, got ", dtype_name(scales.dtype));
  const ScaleGridShape grid = scale_grid_shape(rows, cols, spec);
  ScaleGridRef s;
  s.data = scales.data;
  s.dtype = scales.dtype;
  s.rows = grid.rows;
  s.cols = grid.cols;
  switch (spec.granularity) {
    case Granularity::tensor:
      FP8KIT_CHECK(scales.numel() == 1, op, ": per-tensor scales must hold one element, got ", describe(scales));
      return s;
    case Granularity::row:
      s.row_stride = vector_stride(scales, rows, op, "per-row scales");
      return s;
    case Granularity::column:
      s.col_stride = vector_stride(scales, cols, op, "per-column scales");
      return s;
    case Granularity::group: {
      const bool ok_shape = scales.rank >= 1 && scales.shape[scales.rank - 1] == grid.cols &&
                            scales.numel() == grid.rows * grid.cols;
      FP8KIT_CHECK(ok_shape, op, ": ", spec_name(spec), " scales of a [", rows, ", ", cols,
                   "] input must have shape [", grid.rows, ", ", grid.cols, "] (or the input's leading dims + [",
                   grid.cols, "]), got ", describe(scales), " for input ", describe(x));
      s.col_stride = scales.rank >= 1 ? scales.strides[scales.rank - 1] : 0;
      s.row_stride = collapse_leading(scales, scales.rank - 1, 0, op, "scales");
      return s;
    }
    case Granularity::block: {
      const bool ok_shape = scales.rank == 2 && scales.shape[0] == grid.rows && scales.shape[1] == grid.cols;
      FP8KIT_CHECK(ok_shape, op, ": ", spec_name(spec), " scales of a [", rows, ", ", cols,
                   "] matrix must have shape [", grid.rows, ", ", grid.cols, "], got ", describe(scales));
      s.row_stride = scales.strides[0];
      s.col_stride = scales.strides[1];
      return s;
    }
  }
  FP8KIT_FAIL(op, ": unknown scale granularity ", static_cast<int>(spec.granularity));
}

void check_no_overlap(const TensorView& a, const char* a_name, const TensorView& b, const char* b_name,
                      const char* op) {
  if (a.data == nullptr || b.data == nullptr || !(a.device == b.device)) return;  // absent (bias) or elsewhere
  check_shape_and_strides(a, op, a_name);
  check_shape_and_strides(b, op, b_name);
  if (a.numel() == 0 || b.numel() == 0) return;
  // Byte ranges [first, one past the last element) as integers: after check_shape_and_strides
  // neither the sums nor the ends overflow.
  auto extent = [](const TensorView& t) {
    int64_t last = 0;
    for (int d = 0; d < t.rank; ++d) last += (t.shape[d] - 1) * t.strides[d];
    const auto lo = reinterpret_cast<uintptr_t>(t.data);
    return std::pair<uintptr_t, uintptr_t>{lo, lo + static_cast<uintptr_t>((last + 1) * dtype_size(t.dtype))};
  };
  const auto [alo, ahi] = extent(a);
  const auto [blo, bhi] = extent(b);
  FP8KIT_CHECK(!(alo < bhi && blo < ahi), op, ": ", a_name, " and ", b_name, " overlap in memory (", a_name, " ",
               describe(a), " at ", a.data, ", ", b_name, " ", describe(b), " at ", b.data, ")");
}

void check_same_device(const Device& device, const TensorView& t, const char* what, const char* op) {
  FP8KIT_CHECK(t.numel() == 0 || t.device == device, op, ": ", what, " is on ", to_string(t.device),
               " but the operation runs on ", to_string(device));
}

}  // namespace fp8kit::core

namespace fp8kit {

ScaleGridShape scale_grid_shape(int64_t rows, int64_t cols, const ScaleSpec& spec) {
  FP8KIT_CHECK(rows >= 0 && cols >= 0, "scale_grid_shape: the matrix must have non-negative sizes, got [", rows, ", ",
               cols, "]");
  const core::Tile tile = core::resolve_tile(rows, cols, spec);
  // One scale per tile, also for tiles without elements (the scale of an empty tile is 1, the
  // contract's all-zero rule): per-tensor is always one scale, per-row R, per-column C.
  switch (spec.granularity) {
    case Granularity::tensor: return {1, 1};
    case Granularity::row: return {rows, 1};
    case Granularity::column: return {1, cols};
    default: break;
  }
  auto cdiv = [](int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); };  // no overflow near INT64_MAX
  return {cdiv(rows, tile.rows), cdiv(cols, tile.cols)};
}

}  // namespace fp8kit
