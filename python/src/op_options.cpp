// op_options.cpp: see op_options.h.
#include "op_options.h"

#include <string>

#include <nanobind/nanobind.h>

#include "fp8kit/error.h"

namespace nb = nanobind;

namespace fp8kit::python {

Backend parse_backend_arg(std::string_view name) {
  if (const auto b = parse_backend(name)) return *b;
  throw nb::value_error(detail::concat("backend: unknown backend '", name,
                                       "' (expected auto, cpu_reference, cpu, cuda, cublaslt, cuda_fp8_mma, "
                                       "cuda_bf16_mma or cuda_sm90)")
                            .c_str());
}

ScaleSpec make_spec(std::string_view granularity, int64_t block_rows, int64_t block_cols, bool pow2) {
  ScaleSpec spec;
  if (granularity == "tensor") {
    spec = ScaleSpec::per_tensor();
  } else if (granularity == "row") {
    spec = ScaleSpec::per_row();
  } else if (granularity == "column") {
    spec = ScaleSpec::per_column();
  } else if (granularity == "group") {
    if (block_cols < 1) {
      throw nb::value_error(detail::concat("block_cols: the group size must be >= 1, got ", block_cols).c_str());
    }
    spec = ScaleSpec::group(block_cols);
  } else if (granularity == "block") {
    if (block_rows < 1 || block_cols < 1) {
      throw nb::value_error(
          detail::concat("block_rows, block_cols: a block must be at least 1x1, got ", block_rows, "x", block_cols)
              .c_str());
    }
    spec = ScaleSpec::block(block_rows, block_cols);
  } else {
    throw nb::value_error(detail::concat("granularity: unknown granularity '", granularity,
                                         "' (expected tensor, row, column, group or block)")
                              .c_str());
  }
  return pow2 ? spec.pow2() : spec;
}

GemmScaling parse_scaling(std::string_view name) {
  if (name == "block") return GemmScaling::block;
  if (name == "row") return GemmScaling::row;
  throw nb::value_error(detail::concat("scaling: expected 'block' or 'row', got '", name, "'").c_str());
}

}  // namespace fp8kit::python
