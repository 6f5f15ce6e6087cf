// gemm_api.cpp: the public GEMM entry points: validate, normalise, choose a backend, run.
#include <sstream>

#include "core/dispatch.h"
#include "core/views.h"
#include "cpu/cpu_backend.h"
#include "cuda/cuda_backend.h"
#include "fp8kit/gemm.h"

namespace fp8kit {
namespace {

core::ScaleGridRef row_scales(const TensorView& s, int64_t n, const char* what, const char* op) {
  FP8KIT_CHECK(s.dtype == DType::f32, op, ": ", what, " must be f32, got ", dtype_name(s.dtype));
  core::ScaleGridRef g;
  g.data = s.data;
  g.dtype = s.dtype;
  g.rows = n;
  g.cols = 1;
  // one value broadcast (per-tensor) or one per row
  g.row_stride = s.numel() == 1 && n != 1 ? 0 : core::vector_stride(s, n, op, what);
  return g;
}

core::GemmProblem make_gemm_problem(const GemmArgs& args, const GemmOptions& o) {
  const char* op = "gemm";
  FP8KIT_CHECK(is_fp8(args.a.dtype) && is_fp8(args.b.dtype), op, ": A and B must be e4m3fn or e5m2, got ",
               dtype_name(args.a.dtype), " and ", dtype_name(args.b.dtype));
  FP8KIT_CHECK(is_high_precision(args.d.dtype), op, ": D must be bf16, f16 or f32, got ", dtype_name(args.d.dtype));
  FP8KIT_CHECK(args.b.rank == 2, op, ": B must be a 2-D [N, K] matrix, got ", describe(args.b));
  const Device dev = args.a.device;
  core::check_same_device(dev, args.b, "B", op);
  core::check_same_device(dev, args.d, "D", op);
  core::check_same_device(dev, args.a_scales, "As", op);
  core::check_same_device(dev, args.b_scales, "Bs", op);
  const bool has_bias = args.bias.data != nullptr || args.bias.rank != 0;
  if (has_bias) core::check_same_device(dev, args.bias, "bias", op);  // an absent bias has no device

  core::GemmProblem p;
  p.a = core::as_matrix(args.a, op, "A");
  p.b = core::as_matrix(args.b, op, "B");
  p.d = core::as_matrix(args.d, op, "D");
  const int64_t m = p.a.rows, n = p.b.rows, k = p.a.cols;
  FP8KIT_CHECK(p.b.cols == k, op, ": A is [", m, ", ", k, "] but B is [", n, ", ", p.b.cols,
               "]; both must share K (B is [N, K], the nn.Linear weight layout)");
  FP8KIT_CHECK(p.d.rows == m && p.d.cols == n, op, ": D must be [", m, ", ", n, "], got ", describe(args.d));
  p.scaling = args.scaling;
  if (args.scaling == GemmScaling::block) {
    FP8KIT_CHECK(args.block_n >= 1 && args.block_k >= 1, op, ": block sizes must be >= 1, got block_n=",
                 args.block_n, " block_k=", args.block_k);
    FP8KIT_CHECK(args.a_scales.dtype == DType::f32 && args.b_scales.dtype == DType::f32, op,
                 ": block-scaled GEMM needs f32 scales, got As ", dtype_name(args.a_scales.dtype), " and Bs ",
                 dtype_name(args.b_scales.dtype));
    p.block_n = args.block_n;
    p.block_k = args.block_k;
    p.a_scales = core::as_scale_grid(args.a_scales, args.a, m, k, ScaleSpec::group(args.block_k), op);
    p.b_scales = core::as_scale_grid(args.b_scales, args.b, n, k, ScaleSpec::block(args.block_n, args.block_k), op);
  } else {
    p.a_scales = row_scales(args.a_scales, m, "As (row scales)", op);
    p.b_scales = row_scales(args.b_scales, n, "Bs (row scales)", op);
  }
  if (has_bias) {
    FP8KIT_CHECK(is_high_precision(args.bias.dtype), op, ": bias must be f32, bf16 or f16, got ",
                 dtype_name(args.bias.dtype));
    FP8KIT_CHECK(core::vector_stride(args.bias, n, op, "bias") == 1 || n <= 1, op,
                 ": bias must be contiguous, got ", describe(args.bias));
    p.bias = args.bias.data;
    p.bias_dtype = args.bias.dtype;
  }
  for (const auto& [view, name] : {std::pair{&args.a, "A"}, {&args.b, "B"}, {&args.a_scales, "As"},
                                   {&args.b_scales, "Bs"}, {&args.bias, "bias"}}) {
    core::check_no_overlap(*view, name, args.d, "D", op);
  }
  p.device = dev;
  p.stream = o.stream;
  p.pointers_known = o.pointers_known;
  p.constant_b = o.constant_b;
  return p;
}

std::string refusal_summary(const std::vector<core::GemmCandidate>& candidates) {
  std::ostringstream out;
  for (const auto& c : candidates) out << "\n  " << backend_name(c.backend) << ": " << c.verdict.reason;
  return out.str();
}

Backend choose(const core::GemmProblem& p, Backend requested) {
  const auto candidates = core::gemm_candidates(p, requested);
  for (const auto& c : candidates) {
    if (c.verdict.ok) return c.backend;
  }
  FP8KIT_FAIL("gemm: no backend can run M=", p.m(), " N=", p.n(), " K=", p.k(), " on ", to_string(p.device),
              (candidates.empty() ? std::string(" (no candidate backend)") : refusal_summary(candidates)));
}

void run(Backend b, const core::GemmProblem& p) {
  switch (b) {
    case Backend::cpu_reference: return cpu::gemm_reference(p);
    case Backend::cpu: return cpu::gemm(p);
    default: return cuda::gemm(b, p);
  }
}

}  // namespace

void gemm(const GemmArgs& args, const GemmOptions& options) {
  const core::GemmProblem p = make_gemm_problem(args, options);
  if (p.m() == 0 || p.n() == 0) return;
  run(choose(p, options.backend), p);
}

Verdict can_gemm(const GemmArgs& args, const GemmOptions& options) {
  try {
    choose(make_gemm_problem(args, options), options.backend);
    return Verdict::yes();
  } catch (const Error& e) {
    return Verdict::no(e.what());
  }
}

Backend choose_gemm_backend(const GemmArgs& args) { return choose(make_gemm_problem(args, {}), Backend::automatic); }

}  // namespace fp8kit
