// bind_quantize.cpp: quantize / dequantize / silu_mul / silu_mul_quantize on caller-allocated tensors.
// The GIL is released while the library works; tensors are described in tensor_args.h.
#include <nanobind/stl/string_view.h>

#include "bindings.h"
#include "device_guard.h"
#include "fp8kit/quantize.h"
#include "op_options.h"
#include "tensor_args.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace fp8kit::python {
namespace {

void quantize_op(nb::handle x, nb::handle q, nb::handle scales, std::string_view granularity, int64_t block_rows,
                 int64_t block_cols, bool pow2, float amax_upper_bound, std::string_view backend, uintptr_t stream) {
  ImportScope scope;
  const TensorView xv = to_view(x, "x", false, scope);
  const TensorView qv = to_view(q, "q", true, scope);
  const TensorView sv = to_view(scales, "scales", true, scope);
  const ScaleSpec spec = make_spec(granularity, block_rows, block_cols, pow2);
  QuantizeOptions options;
  options.amax_upper_bound = amax_upper_bound;
  options.backend = parse_backend_arg(backend);
  options.stream = stream_ptr(stream);
  options.pointers_known = scope.only_raw_descriptors();
  nb::gil_scoped_release release;
  DeviceGuard guard(xv.device);
  quantize(xv, qv, sv, spec, options);
}

void dequantize_op(nb::handle q, nb::handle scales, nb::handle y, std::string_view granularity, int64_t block_rows,
                   int64_t block_cols, std::string_view backend, uintptr_t stream) {
  ImportScope scope;
  const TensorView qv = to_view(q, "q", false, scope);
  const TensorView sv = to_view(scales, "scales", false, scope);
  const TensorView yv = to_view(y, "y", true, scope);
  const ScaleSpec spec = make_spec(granularity, block_rows, block_cols, false);
  DequantizeOptions options;
  options.backend = parse_backend_arg(backend);
  options.stream = stream_ptr(stream);
  options.pointers_known = scope.only_raw_descriptors();
  nb::gil_scoped_release release;
  DeviceGuard guard(qv.device);
  dequantize(qv, sv, yv, spec, options);
}

void silu_mul_quantize_op(nb::handle gate_up, nb::handle q, nb::handle scales, int64_t group, bool pow2,
                          float amax_upper_bound, std::string_view backend, uintptr_t stream) {
  ImportScope scope;
  const TensorView gv = to_view(gate_up, "gate_up", false, scope);
  const TensorView qv = to_view(q, "q", true, scope);
  const TensorView sv = to_view(scales, "scales", true, scope);
  const ScaleSpec spec = make_spec("group", 1, group, pow2);
  QuantizeOptions options;
  options.amax_upper_bound = amax_upper_bound;
  options.backend = parse_backend_arg(backend);
  options.stream = stream_ptr(stream);
  options.pointers_known = scope.only_raw_descriptors();
  nb::gil_scoped_release release;
  DeviceGuard guard(gv.device);
  silu_mul_quantize(gv, qv, sv, spec, options);
}

void silu_mul_op(nb::handle gate_up, nb::handle h, std::string_view backend, uintptr_t stream) {
  ImportScope scope;
  const TensorView gv = to_view(gate_up, "gate_up", false, scope);
  const TensorView hv = to_view(h, "h", true, scope);
  QuantizeOptions options;
  options.backend = parse_backend_arg(backend);
  options.stream = stream_ptr(stream);
  options.pointers_known = scope.only_raw_descriptors();
  nb::gil_scoped_release release;
  DeviceGuard guard(gv.device);
  silu_mul(gv, hv, options);
}

}  // namespace

void bind_quantize(nb::module_& m) {
  m.def("quantize", &quantize_op, "x"_a, "q"_a, "scales"_a, "granularity"_a = "group", "block_rows"_a = 1,
        "block_cols"_a = 128, "pow2"_a = false, "amax_upper_bound"_a = 0.0f, "backend"_a = "auto", "stream"_a = 0,
        "q = encode(x / s) and the scales s, written into q and scales (see fp8kit/quantize.h).\n"
        "granularity: tensor | row | column | group (1 x block_cols) | block (block_rows x block_cols);\n"
        "pow2: UE8M0 power-of-two scales; amax_upper_bound: FBGEMM's scale_ub (0 = none);\n"
        "stream: a cudaStream_t as int for CUDA tensors.");
  m.def("dequantize", &dequantize_op, "q"_a, "scales"_a, "y"_a, "granularity"_a = "group", "block_rows"_a = 1,
        "block_cols"_a = 128, "backend"_a = "auto", "stream"_a = 0,
        "y = round(decode(q) * s) in y's dtype, written into y.");
  m.def("silu_mul_quantize", &silu_mul_quantize_op, "gate_up"_a, "q"_a, "scales"_a, "group"_a = 128,
        "pow2"_a = false, "amax_upper_bound"_a = 0.0f, "backend"_a = "auto", "stream"_a = 0,
        "h = bf16(silu(gate) * up) from gate_up [R, 2I], quantized per 1 x group into q [R, I] and scales.");
  m.def("silu_mul", &silu_mul_op, "gate_up"_a, "h"_a, "backend"_a = "auto", "stream"_a = 0,
        "h [R, I] = bf16(silu(gate) * up) from gate_up [R, 2I] (bf16).");
}

}  // namespace fp8kit::python
