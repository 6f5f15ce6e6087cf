// mma_sync_gemm_plan.cpp: checks and launch plans of the portable mma.sync GEMMs (see the header).
#include "cuda/common/mma_sync_gemm_plan.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>

#include "cuda/common/cuda_check.h"
#include "cuda/cuda_backend.h"

namespace fp8kit::cuda::mma_sync {
namespace {

struct DeviceLimits {
  int multiprocessors = 0;
  size_t smem_optin = 0;  // largest dynamic shared memory a block may opt into
};

DeviceLimits device_limits(int ordinal) {
  static std::mutex mutex;
  static std::map<int, DeviceLimits> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = cache.find(ordinal);
  if (it != cache.end()) return it->second;
  DeviceLimits l;
  int smem = 0;
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&l.multiprocessors, cudaDevAttrMultiProcessorCount, ordinal));
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, ordinal));
  l.smem_optin = static_cast<size_t>(smem);
  cache[ordinal] = l;
  return l;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool aligned16(const void* ptr, int64_t ld_bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % 16 == 0 && ld_bytes % 16 == 0;
}

int block_rows(TileShape tile) { return tile == TileShape::large ? 128 : 32; }

}  // namespace

size_t stage_bytes(TileShape tile) {
  const size_t bm = static_cast<size_t>(block_rows(tile));
  return bm * kTileK + static_cast<size_t>(kTileN) * kTileK + (bm + 4) * sizeof(float);
}

Verdict check_mma_gemm(const core::GemmProblem& p, int min_cc, bool fp8_e4m3_only) {
  using detail::concat;
  if (!p.device.is_cuda()) return Verdict::no(concat("runs on CUDA tensors, got ", to_string(p.device)));
  const int cc = compute_capability(p.device.index);
  if (cc == 0) return Verdict::no(concat("no usable CUDA device ", to_string(p.device)));
  if (cc < min_cc) {
    return Verdict::no(concat("needs compute capability ", min_cc / 10, ".", min_cc % 10, " or newer; ",
                              to_string(p.device), " is ", cc / 10, ".", cc % 10));
  }
  if (fp8_e4m3_only && (p.a.dtype != DType::e4m3fn || p.b.dtype != DType::e4m3fn)) {
    return Verdict::no(concat("multiplies e4m3fn operands only (mma.sync e4m3.e4m3); got A ", dtype_name(p.a.dtype),
                              " and B ", dtype_name(p.b.dtype)));
  }
  if (p.scaling == GemmScaling::block && (p.block_n != kTileN || p.block_k != kTileK)) {
    return Verdict::no(concat("supports 128 x 128 weight blocks with 1 x 128 activation groups; got block_n=",
                              p.block_n, " block_k=", p.block_k));
  }
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  if (p.m() > kIntMax || p.n() > kIntMax || p.k() > kIntMax) {
    return Verdict::no(concat("indexes M, N and K with 32-bit integers; got M=", p.m(), " N=", p.n(), " K=", p.k()));
  }
  return Verdict::yes();
}

MmaGemmPlan plan_mma_gemm(const core::GemmProblem& p, bool widen_to_f16) {
  const DeviceLimits limits = device_limits(p.device.index);
  MmaGemmPlan plan;
  plan.tile = p.m() <= 64 ? TileShape::small : TileShape::large;
  plan.threads = plan.tile == TileShape::large ? 256 : 128;
  const int64_t bm = block_rows(plan.tile);

  MmaGemmParams& k = plan.params;
  k.a = static_cast<const uint8_t*>(p.a.data);
  k.b = static_cast<const uint8_t*>(p.b.data);
  k.a_scales = static_cast<const float*>(p.a_scales.data);
  k.b_scales = static_cast<const float*>(p.b_scales.data);
  k.bias = p.bias;
  k.d = p.d.data;
  k.lda = p.a.ld;
  k.ldb = p.b.ld;
  k.ldd = p.d.ld;
  k.as_row = p.a_scales.row_stride;
  k.as_col = p.a_scales.col_stride;
  k.bs_row = p.b_scales.row_stride;
  k.bs_col = p.b_scales.col_stride;
  k.m = static_cast<int>(p.m());
  k.n = static_cast<int>(p.n());
  k.k = static_cast<int>(p.k());
  k.num_kblocks = static_cast<int>(ceil_div(p.k(), kTileK));
  k.tiles_m = static_cast<int>(ceil_div(p.m(), bm));
  k.tiles_n = static_cast<int>(ceil_div(p.n(), kTileN));
  k.row_scaling = p.scaling == GemmScaling::row ? 1 : 0;
  k.aligned_loads = aligned16(p.a.data, p.a.ld) && aligned16(p.b.data, p.b.ld) ? 1 : 0;
  const int64_t out_size = dtype_size(p.d.dtype);
  k.vector_stores = reinterpret_cast<uintptr_t>(p.d.data) % static_cast<uintptr_t>(2 * out_size) == 0 && p.d.ld % 2 == 0;
  k.out_dtype = static_cast<int>(p.d.dtype);
  k.bias_dtype = static_cast<int>(p.bias_dtype);
  k.a_shift = p.a.dtype == DType::e4m3fn ? 1u : 0u;
  k.b_shift = p.b.dtype == DType::e4m3fn ? 1u : 0u;
  k.operand_scale = 1.0f;
  if (widen_to_f16) {
    if (p.a.dtype == DType::e4m3fn) k.operand_scale *= 256.0f;
    if (p.b.dtype == DType::e4m3fn) k.operand_scale *= 256.0f;
  }

  const size_t stage = stage_bytes(plan.tile);
  k.stages = static_cast<int>(std::min<size_t>(kMaxStages, limits.smem_optin / stage));
  FP8KIT_CHECK(k.stages >= 2, "mma.sync GEMM: ", to_string(p.device), " offers ", limits.smem_optin,
               " bytes of shared memory per block; two pipeline stages need ", 2 * stage);
  plan.smem_bytes = stage * static_cast<size_t>(k.stages);

  // Split K when the output tiles cannot keep every multiprocessor busy (small M or small N).
  const int64_t tiles = static_cast<int64_t>(k.tiles_m) * k.tiles_n;
  FP8KIT_CHECK(tiles <= std::numeric_limits<int>::max(), "mma.sync GEMM: ", tiles, " output tiles for M=", p.m(),
               " N=", p.n(), " exceed one launch");
  const int64_t ctas_per_sm = plan.tile == TileShape::large ? 1 : 2;
  const int64_t target = static_cast<int64_t>(limits.multiprocessors) * ctas_per_sm;
  int64_t splits = 1;
  if (tiles < target) {
    const int64_t by_k = std::max<int64_t>(1, k.num_kblocks / kMinKBlocksPerSplit);
    splits = std::min<int64_t>({ceil_div(target, tiles), by_k, kMaxSplits});
  }
  k.kblocks_per_split = static_cast<int>(std::max<int64_t>(1, ceil_div(k.num_kblocks, splits)));
  k.splits = static_cast<int>(std::max<int64_t>(1, ceil_div(k.num_kblocks, k.kblocks_per_split)));  // K = 0: one
  if (k.splits > 1) plan.workspace_bytes = static_cast<size_t>(k.splits) * static_cast<size_t>(p.m()) *
                                           static_cast<size_t>(p.n()) * sizeof(float);
  plan.grid_x = static_cast<unsigned>(tiles);
  plan.grid_y = static_cast<unsigned>(k.splits);
  return plan;
}

}  // namespace fp8kit::cuda::mma_sync
