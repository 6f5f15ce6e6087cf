// sm90_fp8_gemm_plan.cpp: enumerates launch plans, predicts their time with a small cost model of the
// kernel on the current device, and launches a plan.
//
// Cost model (cycles of one SM, then microseconds): each CTA streams ceil(K/128 / split) K blocks per tile;
// a K block costs the larger of its tensor-core time (BLOCK_M x BLOCK_N x 128 MACs at 4096 MAC/clk, plus
// the promotion when one consumer warpgroup cannot overlap it with another's wgmma) and its L2->SM time
// (A and B tile bytes, B halved by multicast, at a per-SM rate). Persistent clusters take tiles round-robin,
// so the slowest cluster runs ceil(tiles / active clusters) tiles, each with an epilogue and, with split K,
// a reduction. The result is bounded below by the whole GPU's L2 rate and by the DRAM time of reading A
// and B and writing D once.
#include "cuda/sm90/sm90_fp8_gemm_plan.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
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

// Model constants (per SM unless stated), calibrated against measurements on H100/H200.
constexpr double kMacPerClock = 4096.0;         // dense FP8 wgmma
constexpr double kL2BytesPerClockPerSm = 48.0;  // TMA loads one SM sustains from L2
constexpr double kL2BytesPerClockTotal = 5500.0;
constexpr double kStoreBytesPerClock = 24.0;    // epilogue stores straight from registers
constexpr double kStagingBytesPerClock = 64.0;  // epilogue writes to the TMA staging tile
constexpr double kDsmemBytesPerClock = 32.0;    // split-K partial sums read across the cluster
constexpr double kTileOverheadCycles = 300.0;   // tile switch, barrier waits
constexpr double kSplitOverheadCycles = 1500.0; // two cluster barriers per tile
constexpr double kPipelineFillCycles = 2500.0;  // first K block: DRAM latency
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
  // Sustained rates: ~90% of the peak clock under FP8 load, ~90% of the DRAM interface rate.
  f.clock_hz = 0.9 * clock_khz * 1e3;
  f.dram_bytes_per_s = 0.9 * 2.0 * mem_khz * 1e3 * bus_bits / 8.0;
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
  const int64_t k_blocks = ceil_div(p.k(), 128);
  const double k_blocks_per_cta = static_cast<double>(ceil_div(k_blocks, plan.split_k));
  const double clusters = plan.grid / plan.cluster_size();
  const double tiles_per_cluster = std::ceil(plan.num_tiles / clusters);

  const double mma = bm * bn * 128.0 / kMacPerClock;
  const double promotion = (bn / t.math_warpgroups) * 0.75 + 40.0;  // per warpgroup and K block
  const double compute = t.math_warpgroups == 1 ? mma + promotion : std::max(mma * 1.08, 2.0 * promotion);
  const double load_bytes = 128.0 * (bm + (plan.multicast ? bn / 2 : bn));
  const double per_k_block = std::max(compute, load_bytes / kL2BytesPerClockPerSm);
  const double epilogue = plan.tma_store ? bm * bn * 2.0 / kStagingBytesPerClock
                                        : bm * bn * out_size(p) / plan.split_k / kStoreBytesPerClock;
  double per_tile = k_blocks_per_cta * per_k_block + kTileOverheadCycles + epilogue;
  if (plan.split_k > 1) {
    per_tile += kSplitOverheadCycles + bm * bn * 4.0 * (plan.split_k - 1) / plan.split_k / kDsmemBytesPerClock;
  }
  const double sm_cycles = tiles_per_cluster * per_tile + kPipelineFillCycles;

  const double ctas_total = static_cast<double>(plan.num_tiles) * plan.cluster_size();
  const double l2_cycles = ctas_total * k_blocks_per_cta * load_bytes / kL2BytesPerClockTotal;
  const double m = static_cast<double>(p.m()), n = static_cast<double>(p.n()), k = static_cast<double>(p.k());
  const double dram_bytes = m * k + n * k + m * n * out_size(p);
  const double seconds =
      std::max({sm_cycles / dev.clock_hz, l2_cycles / dev.clock_hz, dram_bytes / dev.dram_bytes_per_s});
  return seconds * 1e6 + kLaunchMicroseconds;
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
  const bool tma_store_allowed = (p.d.dtype == DType::bf16 || p.d.dtype == DType::f16) && (p.d.ld * 2) % 16 == 0 &&
                                 reinterpret_cast<uintptr_t>(p.d.data) % 16 == 0;
  for (const TileConfig& tile : tile_configs()) {
    const int64_t m_blocks = ceil_div(p.m(), tile.block_m), n_blocks = ceil_div(p.n(), tile.block_n);
    for (const bool tma_store : {false, true}) {
      if (tma_store && !tma_store_allowed) continue;
      const int stages = std::min<int>(
          kMaxStages, (dev.max_smem - 1024 - (tma_store ? tile.d_staging_bytes : 0)) / tile.stage_bytes);
      if (stages < 2) continue;
      for (const bool multicast : {false, true}) {
        // Pairs of m-blocks only where every pair is complete.
        if (multicast && (m_blocks < 2 || m_blocks % 2 != 0)) continue;
        const int64_t m_units = multicast ? m_blocks / 2 : m_blocks;
        for (const int split : kSplitCandidates) {
          if (split > 1 && (multicast || tma_store)) continue;
          if (split > 1 && (k_blocks < 2 * split || m_units * n_blocks >= dev.sms)) continue;
          // Split-K partial tiles are parked in the drained pipeline stages.
          if (split > 1 &&
              static_cast<int64_t>(stages) * tile.stage_ab_bytes < int64_t{4} * tile.block_m * tile.block_n) {
            continue;
          }
          LaunchPlan plan;
          plan.tile = &tile;
          plan.multicast = multicast;
          plan.split_k = split;
          plan.tma_store = tma_store;
          plan.stages = stages;
          plan.smem_bytes = smem_bytes_for(tile, stages, tma_store);
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
  const std::vector<LaunchPlan> plans = candidate_plans(p);
  FP8KIT_CHECK(!plans.empty(), "sm90 GEMM: no launch plan fits M=", p.m(), " N=", p.n(), " K=", p.k());
  return *std::min_element(plans.begin(), plans.end(),
                           [](const LaunchPlan& a, const LaunchPlan& b) { return a.predicted_us < b.predicted_us; });
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

  const CUtensorMap map_a = make_fp8_kmajor_tensor_map(p.a.data, p.m(), p.k(), p.a.ld, tile.block_m);
  const CUtensorMap map_b =
      make_fp8_kmajor_tensor_map(p.b.data, p.n(), p.k(), p.b.ld, plan.multicast ? tile.block_n / 2 : tile.block_n);

  const CUtensorMap map_d = plan.tma_store ? make_16bit_store_tensor_map(p.d.data, p.d.dtype == DType::bf16, p.m(),
                                                                          p.n(), p.d.ld * 2, tile.store_chunk_cols)
                                           : CUtensorMap{};
  const DeviceScope scope(p.device.index);
  tile.launch(map_a, map_b, map_d, kp, plan.grid, plan.cluster_size(), plan.smem_bytes,
              static_cast<cudaStream_t>(p.stream));
}

}  // namespace fp8kit::cuda::sm90
