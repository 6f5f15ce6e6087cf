// bind_gemm.cpp: the block- and row-scaled FP8 GEMMs on caller-allocated tensors (fp8kit/gemm.h).
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>

#include "bindings.h"
#include "device_guard.h"
#include "fp8kit/gemm.h"
#include "op_options.h"
#include "tensor_args.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace fp8kit::python {
namespace {

GemmArgs make_args(nb::handle a, nb::handle b, nb::handle a_scales, nb::handle b_scales, nb::handle d,
                   nb::handle bias, std::string_view scaling, int64_t block_n, int64_t block_k, ImportScope& scope) {
  GemmArgs args;
  args.a = to_view(a, "a", false, scope);
  args.b = to_view(b, "b", false, scope);
  args.a_scales = to_view(a_scales, "a_scales", false, scope);
  args.b_scales = to_view(b_scales, "b_scales", false, scope);
  args.d = to_view(d, "d", true, scope);
  args.bias = to_optional_view(bias, "bias", scope);
  args.scaling = parse_scaling(scaling);
  args.block_n = block_n;
  args.block_k = block_k;
  return args;
}

void gemm_op(nb::handle a, nb::handle b, nb::handle a_scales, nb::handle b_scales, nb::handle d, nb::handle bias,
             std::string_view scaling, int64_t block_n, int64_t block_k, std::string_view backend, uintptr_t stream,
             bool constant_b) {
  ImportScope scope;
  const GemmArgs args = make_args(a, b, a_scales, b_scales, d, bias, scaling, block_n, block_k, scope);
  GemmOptions options;
  options.backend = parse_backend_arg(backend);
  options.stream = stream_ptr(stream);
  options.pointers_known = scope.only_raw_descriptors();
  options.constant_b = constant_b;
  nb::gil_scoped_release release;
  DeviceGuard guard(args.a.device);
  gemm(args, options);
}

std::string choose_gemm_backend_op(nb::handle a, nb::handle b, nb::handle a_scales, nb::handle b_scales,
                                   nb::handle d, nb::handle bias, std::string_view scaling, int64_t block_n,
                                   int64_t block_k) {
  ImportScope scope;
  const GemmArgs args = make_args(a, b, a_scales, b_scales, d, bias, scaling, block_n, block_k, scope);
  return std::string(backend_name(choose_gemm_backend(args)));
}

}  // namespace

void bind_gemm(nb::module_& m) {
  m.def("gemm", &gemm_op, "a"_a, "b"_a, "a_scales"_a, "b_scales"_a, "d"_a, "bias"_a = nb::none(),
        "scaling"_a = "block", "block_n"_a = 128, "block_k"_a = 128, "backend"_a = "auto", "stream"_a = 0,
        "constant_b"_a = false,
        "d = (a * a_scales)(b * b_scales)^T (+ bias), written into d (see fp8kit/gemm.h).\n"
        "a [..., K] and b [N, K] e4m3fn; scaling 'block': a_scales [..., ceil(K/block_k)] (row- or\n"
        "column-major), b_scales [ceil(N/block_n), ceil(K/block_k)]; scaling 'row': a_scales [M] and\n"
        "b_scales [N] (one element broadcasts). d [..., N] bf16/f16/f32; bias [N] optional.\n"
        "constant_b: the promise that no kernel still running writes b or b_scales (GemmOptions::constant_b).");
  m.def("choose_gemm_backend", &choose_gemm_backend_op, "a"_a, "b"_a, "a_scales"_a, "b_scales"_a, "d"_a,
        "bias"_a = nb::none(), "scaling"_a = "block", "block_n"_a = 128, "block_k"_a = 128,
        "The backend automatic dispatch would run gemm() on (ValueError with every refusal if none can).");
}

}  // namespace fp8kit::python
