// gemm_dispatch.cpp: which GEMM backends may run a problem, in preference order.
//
// CPU tensors: cpu (or cpu_reference). CUDA tensors: an order of CUDA backends from the table below,
// by the device's compute capability (probed once per device) and the problem's shape class; each
// backend then says whether it can run the problem, and the first that can is chosen. A backend that
// cannot run on the device (no sm_90, no FP8 tensor cores...) simply refuses with its reason, so the
// same order serves every GPU. FP8KIT_GEMM_BACKEND or GemmOptions::backend narrows the order to one
// backend (`cuda` = fp8kit's own kernels, in table order).
#include <array>
#include <cstdint>

#include "core/dispatch.h"
#include "cuda/cuda_backend.h"
#include "fp8kit/error.h"

namespace fp8kit::core {
namespace {

bool is_cuda_gemm_backend(Backend b) {
  return b == Backend::cuda || b == Backend::cublaslt || b == Backend::cuda_fp8_mma || b == Backend::cuda_bf16_mma ||
         b == Backend::cuda_sm90;
}

/// The problem's features the Hopper table below uses: whether it is "narrow" (N <= 2304 or K <= 512: few
/// output tiles or short K, where cuBLASLt's large tiles leave SMs idle) and how its activation scales lie.
/// M-major scales with 16-byte aligned columns (act_quant(..., column_major_scales=True), the layout of
/// fp8kit's linear layers) are what cuda_sm90 loads by TMA and cuBLASLt reads as they are; any other layout
/// (row-major, act_quant's default) cuda_sm90 copies with cp.async and cuBLASLt repacks with one extra kernel.
enum class Width : uint8_t { any, narrow, wide };
enum class ActScales : uint8_t { any, m_major, other };

Width width(const GemmProblem& p) { return p.n() <= 2304 || p.k() <= 512 ? Width::narrow : Width::wide; }
ActScales act_scales(const GemmProblem& p) {
  const ScaleGridRef& s = p.a_scales;
  const bool m_major = s.row_stride == 1 && s.col_stride % 4 == 0 && s.col_stride >= p.m() &&
                       reinterpret_cast<uintptr_t>(s.data) % 16 == 0;
  return p.m() > 1 && m_major ? ActScales::m_major : ActScales::other;
}

using Order = std::array<Backend, 4>;

/// A row applies to block-scaled problems with m_min <= M <= m_max, of its width and activation-scale
/// layout, of at most max_gflop GFLOP (2 M N K); the first row that applies gives the order.
struct TableRow {
  int64_t m_min, m_max;
  Width width;
  ActScales scales;
  double max_gflop;
  Order order;
};

constexpr Backend kLt = Backend::cublaslt, kSm90 = Backend::cuda_sm90, kFp8 = Backend::cuda_fp8_mma,
                  kF16 = Backend::cuda_bf16_mma;
constexpr int64_t kAnyM = INT64_MAX;
constexpr double kAnySize = 1e300;

/// Hopper (compute capability 9.0), from `bench_gemm --act-scales row-major|m-major --m 64,128,256,512,1024,2048,4096
/// --backends cublaslt,cuda_sm90` on an H200 (BENCHMARKS.md, "After Hopper v10"; the six DeepSeek-V3 (N, K)
/// pairs), cuda_sm90 x cuBLASLt:
///   M <= 128: 1.01-1.46x with M-major scales (0.98x at M = 128 with 24576 x 1536 and 32768 x 512), 1.12-1.64x
///   row-major;
///   larger M, narrow: 1.01-1.28x M-major, 0.96-1.31x row-major;
///   larger M, wide, M-major: 0.85-1.07x for M = 256-2048, 1.01-1.03x at M = 4096;
///   larger M, wide, row-major: 1.01-1.19x up to 20 GFLOP (cuBLASLt's repacking kernel weighs on short
///   GEMMs), 0.83-1.04x above.
/// The order below is within 5% of the faster backend on 41 of 42 shapes with M-major scales (the miss: M = 256,
/// N = 4096, K = 7168, cuda_sm90 7% ahead; its neighbours at M = 256 and 512 go the other way by 8-15%) and on
/// 42 of 42 row-major. Row scaling: cuBLASLt (cuda_sm90 is block-only). The portable kernels take what both
/// refuse (K not a multiple of 16, unaligned rows, e5m2 B...).
constexpr TableRow kHopperBlockTable[] = {
    {0, 128, Width::any, ActScales::any, kAnySize, {kSm90, kLt, kFp8, kF16}},
    {129, kAnyM, Width::narrow, ActScales::any, kAnySize, {kSm90, kLt, kFp8, kF16}},
    {4096, kAnyM, Width::wide, ActScales::m_major, kAnySize, {kSm90, kLt, kFp8, kF16}},
    {129, kAnyM, Width::wide, ActScales::other, 20.0, {kSm90, kLt, kFp8, kF16}},
    {129, kAnyM, Width::wide, ActScales::any, kAnySize, {kLt, kSm90, kFp8, kF16}},
};

/// Every other GPU, and row scaling: cuBLASLt where it can (per-tensor FP8 from sm_89, block and row
/// scaling only on sm_90), FP8 mma.sync from sm_89, the f16-widening kernel from sm_80.
constexpr Order kDefaultOrder = {kLt, kSm90, kFp8, kF16};

Order automatic_order(const GemmProblem& p) {
  if (cuda::compute_capability(p.device.index) != 90 || p.scaling != GemmScaling::block) return kDefaultOrder;
  const int64_t m = p.m();
  const Width w = width(p);
  const ActScales s = act_scales(p);
  const double gflop = 2e-9 * static_cast<double>(m) * static_cast<double>(p.n()) * static_cast<double>(p.k());
  for (const TableRow& row : kHopperBlockTable) {
    if (m >= row.m_min && m <= row.m_max && (row.width == Width::any || row.width == w) &&
        (row.scales == ActScales::any || row.scales == s) && gflop <= row.max_gflop) {
      return row.order;
    }
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
