// bindings.h: the parts of the fp8kit._C module, one function per source file.
#pragma once

#include <nanobind/nanobind.h>

namespace fp8kit::python {

void bind_quantize(nanobind::module_& m);  // quantize, dequantize, silu_mul, silu_mul_quantize
void bind_gemm(nanobind::module_& m);      // gemm, choose_gemm_backend
void bind_info(nanobind::module_& m);      // capabilities, names, scale_grid_shape, version

}  // namespace fp8kit::python
