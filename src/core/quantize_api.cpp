// quantize_api.cpp: the public quantize / dequantize / silu-mul entry points: validate, normalise,
// choose a backend, run.
#include <cmath>

#include "core/dispatch.h"
#include "core/views.h"
#include "cpu/cpu_backend.h"
#include "cuda/cuda_backend.h"
#include "fp8kit/quantize.h"

namespace fp8kit {
namespace {

void check_same_shape(const TensorView& a, const char* a_name, const TensorView& b, const char* b_name,
                      const char* op) {
  bool same = a.rank == b.rank;
  for (int d = 0; same && d < a.rank; ++d) same = a.shape[d] == b.shape[d];
  FP8KIT_CHECK(same, op, ": ", b_name, " must have the shape of ", a_name, ": ", a_name, " is ", describe(a), ", ",
               b_name, " is ", describe(b));
}

/// A scale grid that is written must not map two cells to one address (an empty grid writes nothing).
void check_distinct_cells(const core::ScaleGridRef& s, const char* op) {
  if (s.rows == 0 || s.cols == 0) return;
  const bool rows_distinct = s.rows <= 1 || s.row_stride != 0;
  const bool cols_distinct = s.cols <= 1 || s.col_stride != 0;
  const bool disjoint = s.rows <= 1 || s.cols <= 1 || s.row_stride >= s.cols * s.col_stride ||
                        s.col_stride >= s.rows * s.row_stride;
  FP8KIT_CHECK(rows_distinct && cols_distinct && disjoint, op, ": the output scale grid [", s.rows, ", ", s.cols,
               "] with strides [", s.row_stride, ", ", s.col_stride, "] writes several scales to one address");
}

void check_scale_options(const TensorView& scales, const ScaleSpec& spec, float amax_upper_bound, const char* op) {
  FP8KIT_CHECK(scales.dtype != DType::ue8m0 || spec.rounding == ScaleRounding::pow2, op,
               ": ue8m0 scales hold only powers of two; use pow2 rounding (ScaleSpec::pow2()) with them");
  FP8KIT_CHECK(std::isfinite(amax_upper_bound) && amax_upper_bound >= 0.0f, op,
               ": amax_upper_bound must be finite and >= 0 (0 = none), got ", amax_upper_bound);
}

core::QuantizeProblem make_quantize_problem(const TensorView& x, const TensorView& q, const TensorView& scales,
                                            const ScaleSpec& spec, const QuantizeOptions& o) {
  const char* op = "quantize";
  FP8KIT_CHECK(is_high_precision(x.dtype), op, ": x must be f32, f16 or bf16, got ", dtype_name(x.dtype));
  FP8KIT_CHECK(is_fp8(q.dtype), op, ": q must be e4m3fn or e5m2, got ", dtype_name(q.dtype));
  check_same_shape(x, "x", q, "q", op);
  core::check_same_device(x.device, q, "q", op);
  core::check_same_device(x.device, scales, "scales", op);
  check_scale_options(scales, spec, o.amax_upper_bound, op);
  core::QuantizeProblem p;
  p.x = core::as_matrix(x, op, "x");
  p.q = core::as_matrix(q, op, "q");
  p.s = core::as_scale_grid(scales, x, p.x.rows, p.x.cols, spec, op);
  check_distinct_cells(p.s, op);
  core::check_no_overlap(x, "x", q, "q", op);
  core::check_no_overlap(x, "x", scales, "scales", op);
  core::check_no_overlap(q, "q", scales, "scales", op);
  const core::Tile tile = core::resolve_tile(p.x.rows, p.x.cols, spec);
  p.granularity = spec.granularity;
  p.block_rows = tile.rows;
  p.block_cols = tile.cols;
  p.rounding = spec.rounding;
  p.amax_upper_bound = o.amax_upper_bound;
  p.device = x.device;
  p.stream = o.stream;
  p.pointers_known = o.pointers_known;
  return p;
}

core::DequantizeProblem make_dequantize_problem(const TensorView& q, const TensorView& scales, const TensorView& y,
                                                const ScaleSpec& spec, const DequantizeOptions& o) {
  const char* op = "dequantize";
  FP8KIT_CHECK(is_fp8(q.dtype), op, ": q must be e4m3fn or e5m2, got ", dtype_name(q.dtype));
  FP8KIT_CHECK(is_high_precision(y.dtype), op, ": y must be f32, f16 or bf16, got ", dtype_name(y.dtype));
  check_same_shape(q, "q", y, "y", op);
  core::check_same_device(q.device, y, "y", op);
  core::check_same_device(q.device, scales, "scales", op);
  core::DequantizeProblem p;
  p.q = core::as_matrix(q, op, "q");
  p.y = core::as_matrix(y, op, "y");
  p.s = core::as_scale_grid(scales, q, p.q.rows, p.q.cols, spec, op);
  core::check_no_overlap(q, "q", y, "y", op);
  core::check_no_overlap(scales, "scales", y, "y", op);
  const core::Tile tile = core::resolve_tile(p.q.rows, p.q.cols, spec);
  p.granularity = spec.granularity;
  p.block_rows = tile.rows;
  p.block_cols = tile.cols;
  p.device = q.device;
  p.stream = o.stream;
  p.pointers_known = o.pointers_known;
  return p;
}

/// gate_up [.., 2I] bf16 and an output [.., I] of the same leading dims.
void check_gate_up(const TensorView& gate_up, const TensorView& out, const char* out_name, const char* op) {
  FP8KIT_CHECK(gate_up.dtype == DType::bf16, op, ": gate_up must be bf16, got ", dtype_name(gate_up.dtype));
  FP8KIT_CHECK(gate_up.rank >= 1 && gate_up.shape[gate_up.rank - 1] % 2 == 0, op,
               ": the last dimension of gate_up must be even (gate and up halves), got ", describe(gate_up));
  bool ok = gate_up.rank == out.rank && out.shape[out.rank - 1] * 2 == gate_up.shape[gate_up.rank - 1];
  for (int d = 0; ok && d + 1 < gate_up.rank; ++d) ok = gate_up.shape[d] == out.shape[d];
  FP8KIT_CHECK(ok, op, ": ", out_name, " must have gate_up's shape with the last dimension halved: gate_up is ",
               describe(gate_up), ", ", out_name, " is ", describe(out));
  core::check_same_device(gate_up.device, out, out_name, op);
  core::check_no_overlap(gate_up, "gate_up", out, out_name, op);
}

core::SiluMulQuantizeProblem make_silu_mul_quantize_problem(const TensorView& gate_up, const TensorView& q,
                                                            const TensorView& scales, const ScaleSpec& spec,
                                                            const QuantizeOptions& o) {
  const char* op = "silu_mul_quantize";
  FP8KIT_CHECK(spec.granularity == Granularity::group, op, ": only group (1 x G) scales are supported, got ",
               core::spec_name(spec));
  FP8KIT_CHECK(is_fp8(q.dtype), op, ": q must be e4m3fn or e5m2, got ", dtype_name(q.dtype));
  check_gate_up(gate_up, q, "q", op);
  core::check_same_device(gate_up.device, scales, "scales", op);
  check_scale_options(scales, spec, o.amax_upper_bound, op);
  core::SiluMulQuantizeProblem p;
  p.gate_up = core::as_matrix(gate_up, op, "gate_up");
  p.q = core::as_matrix(q, op, "q");
  p.s = core::as_scale_grid(scales, q, p.q.rows, p.q.cols, spec, op);
  check_distinct_cells(p.s, op);
  core::check_no_overlap(gate_up, "gate_up", scales, "scales", op);
  core::check_no_overlap(q, "q", scales, "scales", op);
  FP8KIT_CHECK(spec.block_cols >= 1, op, ": the group size must be >= 1, got ", spec.block_cols);
  p.group = spec.block_cols;
  p.rounding = spec.rounding;
  p.amax_upper_bound = o.amax_upper_bound;
  p.device = gate_up.device;
  p.stream = o.stream;
  p.pointers_known = o.pointers_known;
  return p;
}

core::SiluMulProblem make_silu_mul_problem(const TensorView& gate_up, const TensorView& h, const QuantizeOptions& o) {
  const char* op = "silu_mul";
  FP8KIT_CHECK(h.dtype == DType::bf16, op, ": h must be bf16, got ", dtype_name(h.dtype));
  check_gate_up(gate_up, h, "h", op);
  core::SiluMulProblem p;
  p.gate_up = core::as_matrix(gate_up, op, "gate_up");
  p.h = core::as_matrix(h, op, "h");
  p.device = gate_up.device;
  p.stream = o.stream;
  p.pointers_known = o.pointers_known;
  return p;
}

Backend choose(const core::QuantizeProblem& p, Backend requested) {
  const Verdict v = p.device.is_cuda() ? cuda::supports_quantize(p) : Verdict::yes();
  return core::choose_elementwise_backend(p.device, requested, v, "quantize");
}
Backend choose(const core::DequantizeProblem& p, Backend requested) {
  const Verdict v = p.device.is_cuda() ? cuda::supports_dequantize(p) : Verdict::yes();
  return core::choose_elementwise_backend(p.device, requested, v, "dequantize");
}

/// Runs `check` and turns a thrown Error into a Verdict.
template <typename F>
Verdict verdict_of(F&& check) {
  try {
    check();
    return Verdict::yes();
  } catch (const Error& e) {
    return Verdict::no(e.what());
  }
}

}  // namespace

void quantize(const TensorView& x, const TensorView& q, const TensorView& scales, const ScaleSpec& spec,
              const QuantizeOptions& options) {
  const core::QuantizeProblem p = make_quantize_problem(x, q, scales, spec, options);
  switch (choose(p, options.backend)) {
    case Backend::cpu_reference: return cpu::quantize_reference(p);
    case Backend::cpu: return cpu::quantize(p);
    default: return cuda::quantize(p);
  }
}

void dequantize(const TensorView& q, const TensorView& scales, const TensorView& y, const ScaleSpec& spec,
                const DequantizeOptions& options) {
  const core::DequantizeProblem p = make_dequantize_problem(q, scales, y, spec, options);
  switch (choose(p, options.backend)) {
    case Backend::cpu_reference: return cpu::dequantize_reference(p);
    case Backend::cpu: return cpu::dequantize(p);
    default: return cuda::dequantize(p);
  }
}

void silu_mul_quantize(const TensorView& gate_up, const TensorView& q, const TensorView& scales,
                       const ScaleSpec& spec, const QuantizeOptions& options) {
  const core::SiluMulQuantizeProblem p = make_silu_mul_quantize_problem(gate_up, q, scales, spec, options);
  const Verdict v = p.device.is_cuda() ? cuda::supports_silu_mul_quantize(p) : Verdict::yes();
  switch (core::choose_elementwise_backend(p.device, options.backend, v, "silu_mul_quantize")) {
    case Backend::cpu_reference: return cpu::silu_mul_quantize_reference(p);
    case Backend::cpu: return cpu::silu_mul_quantize(p);
    default: return cuda::silu_mul_quantize(p);
  }
}

void silu_mul(const TensorView& gate_up, const TensorView& h, const QuantizeOptions& options) {
  const core::SiluMulProblem p = make_silu_mul_problem(gate_up, h, options);
  const Verdict v = p.device.is_cuda() ? cuda::supports_silu_mul(p) : Verdict::yes();
  switch (core::choose_elementwise_backend(p.device, options.backend, v, "silu_mul")) {
    case Backend::cpu_reference: return cpu::silu_mul_reference(p);
    case Backend::cpu: return cpu::silu_mul(p);
    default: return cuda::silu_mul(p);
  }
}

Verdict can_quantize(const TensorView& x, const TensorView& q, const TensorView& scales, const ScaleSpec& spec,
                     const QuantizeOptions& options) {
  return verdict_of([&] { choose(make_quantize_problem(x, q, scales, spec, options), options.backend); });
}

Verdict can_dequantize(const TensorView& q, const TensorView& scales, const TensorView& y, const ScaleSpec& spec,
                       const DequantizeOptions& options) {
  return verdict_of([&] { choose(make_dequantize_problem(q, scales, y, spec, options), options.backend); });
}

}  // namespace fp8kit
