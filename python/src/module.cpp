// module.cpp: the fp8kit._C extension: fp8kit's C++ API on DLPack tensors, framework-agnostic.
// It never includes framework headers; the torch layer (fp8kit/_ops.py) calls it with raw descriptors.
#include "bindings.h"
#include "fp8kit/error.h"

namespace nb = nanobind;

NB_MODULE(_C, m) {
  m.doc() = "fp8kit's compiled core: FP8 quantize / dequantize / GEMM on DLPack tensors (CPU and CUDA).";
  // Every refusal of the library (fp8kit::Error) is a ValueError carrying the library's message.
  nb::exception<fp8kit::Error>(m, "Error", PyExc_ValueError);
  fp8kit::python::bind_quantize(m);
  fp8kit::python::bind_gemm(m);
  fp8kit::python::bind_info(m);
}
