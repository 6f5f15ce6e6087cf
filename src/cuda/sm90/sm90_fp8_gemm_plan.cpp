// sm90_fp8_gemm_plan.cpp: enumerates launch plans, predicts their time with a small cost model of the
// kernel on the current device, and launches a plan.
//
// Cost model (cycles of one SM at the sustained clock, then microseconds), fitted by scripts/fit_sm90_cost_model.py
// to two sweeps of every plan on the six DeepSeek-V3 (N, K) pairs at M = 64, 128, 256, 512, 1024, 2048 and 4096 on
// an H200 (benchmarks/results/sm90_sweep_h200_2026-11-29c.csv and, with the 128x64 tile, -29d.csv; BENCHMARKS.md,
// Hopper v18): the plans it chooses run at 0.996 of the best plans' speed in geometric mean on both, and against
// the constants before (fitted to -29b.csv, Hopper v14) it changes no choice of the three stored sweeps for the
// worse; on the sweep made after the refit (-29e.csv, not fitted to) its plans ran at 0.997 of the best.
// Each CTA streams ceil(K/128 / split) K blocks per tile; a K block costs the larger of its tensor-core time
// (BLOCK_M x BLOCK_N x 128 MACs at the MAC rate fitted for one or two consumer warpgroups, promotion included)
// and its L2->SM load time (A and B tile bytes, B halved by multicast), plus a fraction of the smaller, plus a
// fixed cost. Persistent clusters take tiles round-robin: the slowest runs ceil(tiles / clusters) tiles, each
// with a fixed overhead, an epilogue (TMA-staged, or direct stores), with multicast a pairing cost and, with
// split K, a cluster reduction; plus the pipeline fill once. The time is bounded below by the DRAM time of
// reading A and B and writing D once, and by the rate at which the CTAs that hold tiles can stream A and B
// from DRAM.
#include "cuda/sm90/sm90_fp8_gemm_plan.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "cuda/common/cuda_check.h"
#include "cuda/sm90/sm90_tensor_map.h"
#include "fp8kit/error.h"

namespace fp8kit::cuda::sm90 {
namespace {

// Model constants (per SM unless stated). Cycles are of the model's clock, kSustainedClockFraction of the
// peak: a rate fitted above the hardware's (4096 FP8 MACs per clock) says that the clock held higher than that
// while the tensor cores bound the time, the fraction being fitted where loads and stores bound it too.
constexpr double kMacPerClock2Wg = 4651.0;        // two consumer warpgroups
constexpr double kMacPerClock1Wg = 4022.0;        // one consumer warpgroup
constexpr double kL2BytesPerClock = 125.7;        // TMA loads of A and B tiles
constexpr double kStagingBytesPerClock = 185.8;   // epilogue writes to the TMA staging tile
constexpr double kStoreBoxCycles = 139.3;         // each TMA store box of that epilogue
constexpr double kStoreBytesPerClock = 5.489;     // epilogue stores straight from registers
constexpr double kTileOverheadCycles = 905.0;
constexpr double kSplitOverheadCycles = 163.4;    // two cluster barriers per tile
constexpr double kDsmemBytesPerClock = 3.742;     // split-K partial sums pushed across the cluster, per
                                                  // consumer warpgroup
constexpr double kPipelineFillCycles = 3869.0;    // first K block of a CTA: launch, DRAM latency
constexpr double kLoadExposedFraction = 0.1517;   // of the shorter of a K block's MMA and load times (below)
constexpr double kKBlockCycles = 280.8;           // per K block, whatever the tile's size (below)
constexpr double kMulticastTileCycles = 914.3;    // per tile of a multicast pair (cross-CTA stage releases)
constexpr double kDramEfficiency = 0.9176;        // of the interface rate 2 x memory clock x bus width
constexpr double kStreamBytesPerClock = 27.04;    // A and B bytes one CTA streams from DRAM
constexpr double kSustainedClockFraction = 0.885; // of the peak SM clock, under FP8 load (the trace measured
                                                  // 0.86-0.90 in decode launches too; BENCHMARKS.md Hopper v17)
constexpr double kLaunchMicroseconds = 2.0;
constexpr int kMaxStages = 16;
constexpr int kSplitCandidates[] = {1, 2, 3, 4, 6, 8};

struct DeviceFacts {
  int sms = 0;
  int max_smem = 0;
  double clock_hz = 0.0;
  double dram_bytes_per_s = 0.0;
};

const DeviceFacts& device_facts(int device) {
  static std::mutex mutex;
  static std::map<int, DeviceFacts> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(device);
  if (it != cache.end()) return it->second;
  DeviceFacts f;
  int clock_khz = 0, mem_khz = 0, bus_bits = 0;
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&f.sms, cudaDevAttrMultiProcessorCount, device));
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&f.max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device));
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, device));
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device));
  f.clock_hz = kSustainedClockFraction * clock_khz * 1e3;
  f.dram_bytes_per_s = kDramEfficiency * 2.0 * mem_khz * 1e3 * bus_bits / 8.0;
  return cache.emplace(device, f).first->second;
}

/// Clusters of `cluster` CTAs of `tile` with `smem` bytes that fit on `device` at once (cached).
int active_clusters(const TileConfig& tile, int cluster, size_t smem, int device) {
  static std::mutex mutex;
  static std::map<std::tuple<const TileConfig*, int, size_t, int>, int> cache;
  const auto key = std::make_tuple(&tile, cluster, smem, device);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  const int n = tile.max_active_clusters(cluster, smem);
  std::lock_guard<std::mutex> lock(mutex);
  cache[key] = n;
  return n;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Makes `device` current for its lifetime and restores the previous device.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    FP8KIT_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) FP8KIT_CUDA_CHECK(cudaSetDevice(device));
    device_ = device;
  }
  ~DeviceScope() {
    if (previous_ != device_) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0, device_ = 0;
};

int out_size(const core::GemmProblem& p) { return p.d.dtype == DType::f32 ? 4 : 2; }

double predict_us(const core::GemmProblem& p, const LaunchPlan& plan, const DeviceFacts& dev) {
  const TileConfig& t = *plan.tile;
  const double bm = t.block_m, bn = t.block_n;
  const double m = static_cast<double>(p.m()), n = static_cast<double>(p.n()), k = static_cast<double>(p.k());
  const double k_blocks_per_cta = static_cast<double>(ceil_div(ceil_div(p.k(), 128), plan.split_k));
  const int cluster = plan.cluster_size();
  const double clusters = plan.grid / cluster;
  const double tiles_per_cluster = std::ceil(plan.num_tiles / clusters);

  const double mma = bm * bn * 128.0 / (t.math_warpgroups == 2 ? kMacPerClock2Wg : kMacPerClock1Wg);
  const double load = 128.0 * (bm + (plan.multicast ? bn / 2 : bn)) / kL2BytesPerClock;
  // The staged epilogue also pays per TMA store box: (BLOCK_M / 64) x (BLOCK_N / box columns) boxes, five
  // 32-column boxes per wave for 128x160 against two 64-column ones for 128x128.
  const double store_boxes = (bm / 64.0) * (bn / t.store_chunk_cols);
  const double epilogue = plan.tma_store ? bm * bn * 2.0 / kStagingBytesPerClock + store_boxes * kStoreBoxCycles
                                         : bm * bn * out_size(p) / plan.split_k / kStoreBytesPerClock;
  // A K block costs the longer of its MMA and load times plus a fraction of the shorter, plus kKBlockCycles.
  // The two times overlap, but not fully (Hopper v9: multicast, which halves B's load, ran 0.3-5% faster at
  // M = 4096 with K >= 7168 in all ten stored sweeps although the tensor core bounds those K blocks).
  // kKBlockCycles is what every K block costs whatever the tile's width (the consumers' wait, promotion and
  // release): without it the model put the 64x64 tile, half the work per K block of 64x128, 20-30% under its
  // measured time wherever it ran many K blocks, and chose it at M = 128 and 256 where it lost 12-20%
  // (Hopper v14). A multicast tile also pays kMulticastTileCycles, which made it up to 4% slower with K <= 2048.
  const double k_block = std::max(mma, load) + kLoadExposedFraction * std::min(mma, load) + kKBlockCycles;
  double per_tile = k_blocks_per_cta * k_block + kTileOverheadCycles + epilogue +
                    (plan.multicast ? kMulticastTileCycles : 0.0);
  if (plan.split_k > 1) {
    // Every consumer warp pushes its own rows' partial sums: a tile of two warpgroups moves its bytes twice as
    // fast (128x64 split3's exchange took 1.2 us where one warpgroup's rate predicted 1.8; Hopper v18).
    per_tile += kSplitOverheadCycles +
                bm * bn * 4.0 * (plan.split_k - 1) / plan.split_k / (kDsmemBytesPerClock * t.math_warpgroups);
  }
  const double sm_seconds = (tiles_per_cluster * per_tile + kPipelineFillCycles) / dev.clock_hz;
  const double dram_seconds = (m * k + n * k + m * n * out_size(p)) / dev.dram_bytes_per_s;
  const double active_ctas = std::min<double>(plan.grid, static_cast<double>(plan.num_tiles) * cluster);
  const double stream_seconds = (m * k + n * k) / (active_ctas * kStreamBytesPerClock * dev.clock_hz);
  return std::max({sm_seconds, dram_seconds, stream_seconds}) * 1e6 + kLaunchMicroseconds;
}

/// Whether D allows the TMA-store epilogue: 16-bit output, 16-byte aligned base and row stride, and rows of
/// whole 16-byte units (N a multiple of 8). TMA stores write whole 16-byte units: with N = 260 in rows of 264
/// they wrote columns 260-263, which are not D's (found by Sm90Gemm.OutputAndBiasDtypesPaddingAndScaleLayouts
/// on an H200, Hopper v9; triton-lang/triton issue 11583 reports the same on H100).
bool tma_store_allowed(const core::GemmProblem& p) {
  return (p.d.dtype == DType::bf16 || p.d.dtype == DType::f16) && (p.d.ld * 2) % 16 == 0 && p.n() % 8 == 0 &&
         reinterpret_cast<uintptr_t>(p.d.data) % 16 == 0;
}

/// Whether the A scales can come by TMA: M-major (row stride 1) with columns of at least M rows that start
/// on 16-byte boundaries (DeepGEMM's TMA-aligned layout; act_quant(..., column_major_scales=True)).
bool a_scales_tma_allowed(const core::GemmProblem& p) {
  return p.a_scales.row_stride == 1 && p.a_scales.col_stride % 4 == 0 && p.a_scales.col_stride >= p.m() &&
         reinterpret_cast<uintptr_t>(p.a_scales.data) % 16 == 0;
}

/// Rasterisation width: the clusters running at once should cover a near-square region of D.
int group_width(const LaunchPlan& plan, int64_t n_blocks, int64_t m_units) {
  if (m_units <= 1) return static_cast<int>(n_blocks);
  const double clusters = plan.grid / plan.cluster_size();
  const double unit_rows = plan.tile->block_m * (plan.multicast ? 2.0 : 1.0);
  const double width = std::sqrt(clusters * unit_rows / plan.tile->block_n);
  return static_cast<int>(std::clamp<int64_t>(std::llround(width), 1, n_blocks));
}

}  // namespace

std::vector<LaunchPlan> candidate_plans(const core::GemmProblem& p) {
  const DeviceScope scope(p.device.index);
  const DeviceFacts& dev = device_facts(p.device.index);

  std::vector<LaunchPlan> plans;
  const int64_t k_blocks = ceil_div(p.k(), 128);
  const bool tma_store_ok = tma_store_allowed(p);
  for (const TileConfig& tile : tile_configs()) {
    const int64_t m_blocks = ceil_div(p.m(), tile.block_m), n_blocks = ceil_div(p.n(), tile.block_n);
    for (const bool tma_store : {false, true}) {
      if (tma_store && !tma_store_ok) continue;
      for (const bool multicast : {false, true}) {
        // Pairs of m-blocks only where every pair is complete, and where there are two pairs or more: a
        // single pair (M = 128 in 64-row tiles) streams B from DRAM once either way, and its cluster cost
        // more than the halved L2 traffic saved (1-2% slower in every sweep, H100 and H200; Hopper v8).
        if (multicast && (m_blocks < 4 || m_blocks % 2 != 0)) continue;
        const int64_t m_units = multicast ? m_blocks / 2 : m_blocks;
        for (const int split : kSplitCandidates) {
          // Split K: clusters of at most 8 CTAs, one-wave tiles, each rank finishing at least one warp's rows.
          if (split > 1 && (multicast || tma_store || split > tile.split_k_units)) continue;
          if (split > 1 && (k_blocks < 2 * split || m_units * n_blocks >= dev.sms)) continue;
          // The most stages that fit beside the staging tile and the split-K receive area.
          const int64_t room = int64_t{dev.max_smem} - static_cast<int64_t>(smem_bytes_for(tile, 0, tma_store, split));
          const int stages = static_cast<int>(std::min<int64_t>(kMaxStages, room / tile.stage_bytes));
          if (stages < 2) continue;
          LaunchPlan plan;
          plan.tile = &tile;
          plan.multicast = multicast;
          plan.split_k = split;
          plan.tma_store = tma_store;
          plan.stages = stages;
          plan.smem_bytes = smem_bytes_for(tile, stages, tma_store, split);
          plan.num_tiles = static_cast<int>(m_units * n_blocks);
          const int cluster = plan.cluster_size();
          const int slots = active_clusters(tile, cluster, plan.smem_bytes, p.device.index);
          if (slots < 1) continue;
          plan.grid = static_cast<int>(std::min<int64_t>(plan.num_tiles, slots)) * cluster;
          plan.group_n = group_width(plan, n_blocks, m_units);
          plan.predicted_us = predict_us(p, plan, dev);
          plans.push_back(plan);
        }
      }
    }
  }
  return plans;
}

LaunchPlan choose_plan(const core::GemmProblem& p) {
  // The choice depends only on the device, the sizes, D's type and whether D allows TMA stores, so it is
  // made once per such signature: enumerating and costing the ~50-200 candidates took microseconds of
  // every decode-sized call. The cache is emptied when it reaches kMaxCachedPlans (a serving process
  // sees a few shapes per layer times its batch sizes).
  constexpr size_t kMaxCachedPlans = 4096;
  using Key = std::tuple<int, int64_t, int64_t, int64_t, DType, bool>;
  static std::mutex mutex;
  static std::map<Key, LaunchPlan> cache;
  const Key key{p.device.index, p.m(), p.n(), p.k(), p.d.dtype, tma_store_allowed(p)};
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  const std::vector<LaunchPlan> plans = candidate_plans(p);
  FP8KIT_CHECK(!plans.empty(), "sm90 GEMM: no launch plan fits M=", p.m(), " N=", p.n(), " K=", p.k());
  const LaunchPlan best = *std::min_element(
      plans.begin(), plans.end(), [](const LaunchPlan& a, const LaunchPlan& b) { return a.predicted_us < b.predicted_us; });
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() >= kMaxCachedPlans) cache.clear();
  cache.emplace(key, best);
  return best;
}

std::string describe(const LaunchPlan& plan) {
  std::ostringstream out;
  out << plan.tile->name;
  if (plan.multicast) out << " mc2";
  if (plan.split_k > 1) out << " split" << plan.split_k;
  if (plan.tma_store) out << " tma";
  out << " st" << plan.stages << " grid" << plan.grid << " gn" << plan.group_n;
  return out.str();
}

void run_fp8_gemm(const core::GemmProblem& p, const LaunchPlan& plan) {
  const TileConfig& tile = *plan.tile;
  KernelParams kp;
  kp.a_scales = static_cast<const float*>(p.a_scales.data);
  kp.as_row_stride = p.a_scales.row_stride;
  kp.as_col_stride = p.a_scales.col_stride;
  kp.b_scales = static_cast<const float*>(p.b_scales.data);
  kp.bs_row_stride = p.b_scales.row_stride;
  kp.bs_col_stride = p.b_scales.col_stride;
  kp.d = p.d.data;
  kp.ldd = p.d.ld;
  kp.bias = p.bias;
  kp.bias_kind = p.bias == nullptr               ? BiasKind::none
                 : p.bias_dtype == DType::f32    ? BiasKind::f32
                 : p.bias_dtype == DType::bf16   ? BiasKind::bf16
                                                 : BiasKind::f16;
  kp.m = static_cast<int32_t>(p.m());
  kp.n = static_cast<int32_t>(p.n());
  kp.k = static_cast<int32_t>(p.k());
  kp.num_k_blocks = static_cast<int32_t>(ceil_div(p.k(), 128));
  kp.num_m_blocks = static_cast<int32_t>(ceil_div(p.m(), tile.block_m));
  kp.num_n_blocks = static_cast<int32_t>(ceil_div(p.n(), tile.block_n));
  kp.num_b_scale_rows = static_cast<int32_t>(ceil_div(p.n(), 128));
  kp.num_tiles = plan.num_tiles;
  kp.group_n = plan.group_n;
  kp.k_blocks_per_split = static_cast<int32_t>(ceil_div(kp.num_k_blocks, plan.split_k));
  kp.stages = plan.stages;
  kp.out = p.d.dtype == DType::bf16 ? OutKind::bf16 : p.d.dtype == DType::f16 ? OutKind::f16 : OutKind::f32;
  kp.multicast = plan.multicast ? 1 : 0;
  kp.split_k = static_cast<uint8_t>(plan.split_k);
  const int64_t esize = out_size(p);
  kp.pair_stores = (p.d.ld % 2 == 0 && reinterpret_cast<uintptr_t>(p.d.data) % (2 * esize) == 0) ? 1 : 0;
  kp.tma_store = plan.tma_store ? 1 : 0;
  kp.a_scales_tma = a_scales_tma_allowed(p) ? 1 : 0;
  // Evict-first weight loads where each B tile is read once and D is small against B (at most a tenth of
  // its bytes): measured on an H200 (BENCHMARKS.md Hopper v12), they cut 0.2-1.0 us from launches with
  // D / B <= 0.083 and added 0.5-0.8 us to those with D / B >= 0.167 (64 x 32768 x 512, 128 x 24576 x 1536).
  kp.b_evict_first = num_m_units(kp) == 1 && 10 * p.m() * out_size(p) <= p.k() ? 1 : 0;
  kp.overlap = plan.overlap;
  kp.trace = plan.trace;

  const CUtensorMap map_a = make_fp8_kmajor_tensor_map(p.a.data, p.m(), p.k(), p.a.ld, tile.block_m);
  const CUtensorMap map_b =
      make_fp8_kmajor_tensor_map(p.b.data, p.n(), p.k(), p.b.ld, plan.multicast ? tile.block_n / 2 : tile.block_n);

  const CUtensorMap map_as = kp.a_scales_tma ? make_f32_mmajor_scale_tensor_map(p.a_scales.data, p.m(), kp.num_k_blocks,
                                                                                p.a_scales.col_stride, tile.block_m)
                                             : CUtensorMap{};
  const CUtensorMap map_d = plan.tma_store ? make_16bit_store_tensor_map(p.d.data, p.d.dtype == DType::bf16, p.m(),
                                                                          p.n(), p.d.ld * 2, tile.store_chunk_cols)
                                           : CUtensorMap{};
  const DeviceScope scope(p.device.index);
  tile.launch(map_a, map_b, map_as, map_d, kp, plan.grid, plan.cluster_size(), plan.smem_bytes,
              static_cast<cudaStream_t>(p.stream));
}

}  // namespace fp8kit::cuda::sm90
