// views.h: turning public TensorViews into the normalised refs of problem.h, with errors that name
// the tensor, its shape and strides, and what was expected.
#pragma once

#include <string>

#include "core/problem.h"

namespace fp8kit::core {

/// Flattens all leading dimensions into rows. Requires a unit last-dimension stride and leading
/// dimensions that collapse into a single row stride. `what` names the argument in errors.
MatrixRef as_matrix(const TensorView& t, const char* op, const char* what);

/// The uniform element stride of a tensor that holds `n` elements in C order (size-1 dimensions are
/// ignored; a single element has stride 0). Throws if the elements are not evenly spaced.
int64_t vector_stride(const TensorView& t, int64_t n, const char* op, const char* what);

/// Interprets `scales` as the scale grid of an R x C matrix (x's leading dims given by `x`) for `spec`,
/// checking shape, dtype and strides.
ScaleGridRef as_scale_grid(const TensorView& scales, const TensorView& x, int64_t rows, int64_t cols,
                           const ScaleSpec& spec, const char* op);

/// The tile (block_rows x block_cols) one scale covers for an R x C matrix; both >= 1.
struct Tile {
  int64_t rows = 1, cols = 1;
};
Tile resolve_tile(int64_t rows, int64_t cols, const ScaleSpec& spec);

/// Throws if the byte ranges of two views overlap (an output must not alias an input).
void check_no_overlap(const TensorView& a, const char* a_name, const TensorView& b, const char* b_name,
                      const char* op);

/// Throws unless every listed tensor is on `device` (or is empty/undefined).
void check_same_device(const Device& device, const TensorView& t, const char* what, const char* op);

std::string spec_name(const ScaleSpec& spec);

}  // namespace fp8kit::core
