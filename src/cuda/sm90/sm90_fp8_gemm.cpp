// sm90_fp8_gemm.cpp: the `cuda_sm90` backend's entry points: what the Hopper kernel accepts, and running
// it with the planner's choice.
#include "cuda/sm90/sm90_fp8_gemm.h"

#include <cstdint>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/sm90/sm90_fp8_gemm_plan.h"
#include "fp8kit/error.h"

namespace fp8kit::cuda::sm90 {
namespace {

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

std::string why_not(const core::GemmProblem& p) {
  using detail::concat;
  if (!p.device.is_cuda()) return "the Hopper kernel runs on CUDA tensors only";
  const int cc = compute_capability(p.device.index);
  if (cc != 90) {
    return concat("the Hopper kernel needs compute capability 9.0 (sm_90a), cuda:", p.device.index, " has ", cc / 10,
                  ".", cc % 10);
  }
  if (p.scaling != GemmScaling::block) return "the Hopper kernel implements block scaling only, not row scaling";
  if (p.block_n != 128 || p.block_k != 128) {
    return concat("the Hopper kernel needs 128x128 weight blocks and 1x128 activation groups, got block_n=",
                  p.block_n, " block_k=", p.block_k);
  }
  if (p.a.dtype != DType::e4m3fn || p.b.dtype != DType::e4m3fn) {
    return concat("the Hopper kernel multiplies e4m3fn by e4m3fn, got A ", dtype_name(p.a.dtype), " and B ",
                  dtype_name(p.b.dtype));
  }
  if (p.a_scales.dtype != DType::f32 || p.b_scales.dtype != DType::f32) return "the Hopper kernel needs f32 scales";
  if (p.m() < 1 || p.n() < 1 || p.k() < 1) return concat("empty problem M=", p.m(), " N=", p.n(), " K=", p.k());
  constexpr int64_t kMaxDim = int64_t{1} << 31;
  if (p.m() >= kMaxDim || p.n() >= kMaxDim || p.k() >= kMaxDim) {
    return concat("dimensions must be below 2^31, got M=", p.m(), " N=", p.n(), " K=", p.k());
  }
  // TMA: 16-byte aligned base addresses and row strides of A and B.
  if (p.a.ld % 16 != 0 || p.b.ld % 16 != 0 || !aligned(p.a.data, 16) || !aligned(p.b.data, 16)) {
    return concat("TMA needs 16-byte aligned A and B with row strides that are multiples of 16 bytes, got A ld=",
                  p.a.ld, " at ", p.a.data, ", B ld=", p.b.ld, " at ", p.b.data);
  }
  if (!aligned(p.d.data, static_cast<uintptr_t>(dtype_size(p.d.dtype)))) {
    return concat("D must be aligned to its element size, got ", p.d.data);
  }
  if (!aligned(p.a_scales.data, 4) || !aligned(p.b_scales.data, 4)) return "scale grids must be 4-byte aligned";
  return {};
}

}  // namespace

// Scale layouts: As and Bs may have any strides (row-major, M-major padded or not, broadcast). M-major As
// with 16-byte aligned columns (DeepGEMM's TMA-aligned layout) is the fast path: loaded by TMA with the tiles;
// any other layout is copied with 4-byte cp.async. D may have any row stride (stores come straight from
// registers).
Verdict supports_fp8_gemm(const core::GemmProblem& p) {
  std::string reason = why_not(p);
  return reason.empty() ? Verdict::yes() : Verdict::no(std::move(reason));
}

void run_fp8_gemm(const core::GemmProblem& p) {
  const Verdict v = supports_fp8_gemm(p);
  FP8KIT_CHECK(v.ok, "sm90 GEMM: ", v.reason);
  LaunchPlan plan = choose_plan(p);
  plan.overlap = p.constant_b ? Overlap::weights : Overlap::setup;
  run_fp8_gemm(p, plan);
}

}  // namespace fp8kit::cuda::sm90
