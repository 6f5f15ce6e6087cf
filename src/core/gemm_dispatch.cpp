// gemm_dispatch.cpp: which GEMM backends may run a problem, in preference order.
//
// CPU tensors: cpu (or cpu_reference). CUDA tensors: an order of CUDA backends from the table below,
// by the device's compute capability (probed once per device) and the problem's shape class; each
// backend then says whether it can run the problem, and the first that can is chosen. A backend that
// cannot run on the device (no sm_90, no FP8 tensor cores...) simply refuses with its reason, so the
// same order serves every GPU. FP8KIT_GEMM_BACKEND or GemmOptions::backend narrows the order to one
// backend (`cuda` = fp8kit's own kernels, in table order).
#include <array>

#include "core/dispatch.h"
#include "cuda/cuda_backend.h"
#include "fp8kit/error.h"

namespace fp8kit::core {
namespace {

bool is_cuda_gemm_backend(Backend b) {
  return b == Backend::cuda || b == Backend::cublaslt || b == Backend::cuda_fp8_mma || b == Backend::cuda_bf16_mma ||
         b == Backend::cuda_sm90;
}

/// Shape classes: decode-sized M (<= 64), M <= 128, larger M; for larger M, whether the problem is
/// "narrow" (N <= 2304 or K <= 512: few output tiles or short K, where cuBLASLt's large tiles leave SMs
/// idle) or wide; block or row scaling.
enum class MClass : uint8_t { decode, small, large };
enum class Width : uint8_t { any, narrow, wide };

MClass m_class(int64_t m) { return m <= 64 ? MClass::decode : m <= 128 ? MClass::small : MClass::large; }
Width width(const GemmProblem& p) { return p.n() <= 2304 || p.k() <= 512 ? Width::narrow : Width::wide; }

using Order = std::array<Backend, 4>;

struct TableRow {
  MClass m;
  Width width;
  GemmScaling scaling;
  Order order;
};

constexpr Backend kLt = Backend::cublaslt, kSm90 = Backend::cuda_sm90, kFp8 = Backend::cuda_fp8_mma,
                  kF16 = Backend::cuda_bf16_mma;

/// Hopper (compute capability 9.0), filled from bench_gemm on an H200 (BENCHMARKS.md, 2026-11-27; the
/// six DeepSeek-V3 (N, K) pairs x M in {1, 16, 64, 128, 1024, 4096}, ragged shapes alike), and checked
/// again after Hopper v6 for both layouts of the activation scales (bench_gemm --act-scales; row-major is
/// act_quant's default, which cuBLASLt must repack and cuda_sm90 copies with cp.async; M-major, which
/// cuda_sm90 loads by TMA):
///   M <= 128: cuda_sm90 1.05-1.26x cuBLASLt with row-major scales, 0.88-1.12x with M-major ones;
///   larger M, narrow: cuda_sm90 0.97-1.30x (row-major), 0.99-1.24x (M-major);
///   larger M, wide: cuda_sm90 0.78-1.02x (row-major), 0.91-1.02x (M-major; 0.99-1.02x at M = 4096).
/// The order below is within 5% of the fastest on all 24 shapes with row-major scales and on 23 of 24 with
/// M-major ones (the miss: M = 128, N = 32768, K = 512, cuBLASLt 12% ahead there, 5% behind row-major).
/// Row scaling: cuBLASLt (cuda_sm90 is block-only). The portable kernels take what both refuse (K not a
/// multiple of 16, unaligned rows, e5m2 B...).
constexpr TableRow kHopperTable[] = {
    {MClass::decode, Width::any, GemmScaling::block, {kSm90, kLt, kFp8, kF16}},
    {MClass::small, Width::any, GemmScaling::block, {kSm90, kLt, kFp8, kF16}},
    {MClass::large, Width::narrow, GemmScaling::block, {kSm90, kLt, kFp8, kF16}},
    {MClass::large, Width::wide, GemmScaling::block, {kLt, kSm90, kFp8, kF16}},
};

/// Every other GPU, and row scaling: cuBLASLt where it can (per-tensor FP8 from sm_89, block and row
/// scaling only on sm_90), FP8 mma.sync from sm_89, the f16-widening kernel from sm_80.
constexpr Order kDefaultOrder = {kLt, kSm90, kFp8, kF16};

Order automatic_order(const GemmProblem& p) {
  if (cuda::compute_capability(p.device.index) != 90) return kDefaultOrder;
  const MClass m = m_class(p.m());
  const Width w = width(p);
  for (const TableRow& row : kHopperTable) {
    if (row.m == m && (row.width == Width::any || row.width == w) && row.scaling == p.scaling) return row.order;
  }
  return kDefaultOrder;
}

std::vector<Backend> cuda_preference(const GemmProblem& p, Backend requested) {
  if (requested != Backend::automatic && requested != Backend::cuda) return {requested};
  std::vector<Backend> out;
  for (Backend b : automatic_order(p)) {
    if (requested == Backend::cuda && b == Backend::cublaslt) continue;  // `cuda` = fp8kit's own kernels
    out.push_back(b);
  }
  return out;
}

}  // namespace

std::vector<GemmCandidate> gemm_candidates(const GemmProblem& p, Backend requested) {
  std::vector<GemmCandidate> out;
  if (p.device.kind == Device::Kind::cpu) {
    Backend b = requested == Backend::automatic ? backend_from_env("FP8KIT_CPU_BACKEND") : requested;
    if (b == Backend::automatic) b = Backend::cpu;
    FP8KIT_CHECK(b == Backend::cpu || b == Backend::cpu_reference, "gemm: backend ", backend_name(b),
                 " cannot run on CPU tensors (use cpu or cpu_reference)");
    out.push_back({b, Verdict::yes()});
    return out;
  }
  const Backend b = requested == Backend::automatic ? backend_from_env("FP8KIT_GEMM_BACKEND") : requested;
  FP8KIT_CHECK(b == Backend::automatic || is_cuda_gemm_backend(b), "gemm: backend ", backend_name(b),
               " cannot run on tensors on ", to_string(p.device));
  // Verdicts in order, up to the first backend that accepts (later ones are not asked: each check
  // costs host time on every call).
  for (Backend c : cuda_preference(p, b)) {
    out.push_back({c, cuda::supports_gemm(c, p)});
    if (out.back().verdict.ok) break;
  }
  return out;
}

}  // namespace fp8kit::core
