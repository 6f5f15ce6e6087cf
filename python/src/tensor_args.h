// tensor_args.h: turning the Python objects the extension accepts into fp8kit::TensorView.
//
// Every tensor argument of fp8kit._C may be
//   * a DLPack producer (torch, numpy, cupy, jax...): its DLPack dtype names the element type
//     (float32/16, bfloat16, float8_e4m3fn = code 10, float8_e5m2 = 12, float8_e8m0fnu = 14);
//   * a pair (array, dtype): the array's memory read as `dtype` (a name such as "e4m3fn", or a DType
//     code), for frameworks that cannot export the type through DLPack (numpy with ml_dtypes'
//     float8 / bfloat16: pass arr.view(np.uint8) or arr.view(np.uint16)); element sizes must match;
//   * a raw descriptor (data_ptr, dtype, shape, strides, device_type, device_id): ints, strides in
//     elements, dtype a DType code or name, device_type as in DLPack (1 CPU, 2 CUDA, 3 CUDA host,
//     13 CUDA managed). The torch layer passes these: no DLPack exchange happens, so nothing touches a
//     CUDA stream (safe under CUDA-graph capture) and the per-call cost stays small.
// Errors are TypeError (not a tensor, unknown dtype) or ValueError (bad shape, rank), naming the argument.
#pragma once

#include <optional>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include "fp8kit/tensor.h"

namespace fp8kit::python {

/// Keeps the arrays imported through DLPack alive for the duration of one call.
class ImportScope {
 public:
  void keep(nanobind::ndarray<nanobind::ro> array) { arrays_.push_back(std::move(array)); }
  /// True when every tensor argument so far was a raw descriptor: addresses the torch layer took from
  /// its own tensors, which the library then need not ask the CUDA runtime about (pointers_known).
  bool only_raw_descriptors() const { return arrays_.empty(); }

 private:
  std::vector<nanobind::ndarray<nanobind::ro>> arrays_;
};

/// The view of a required tensor argument `name`. `writable` refuses read-only DLPack exports.
TensorView to_view(nanobind::handle obj, const char* name, bool writable, ImportScope& scope);

/// Like to_view, but None gives an empty view (no data, rank 0): an absent optional argument.
TensorView to_optional_view(nanobind::handle obj, const char* name, ImportScope& scope);

}  // namespace fp8kit::python
