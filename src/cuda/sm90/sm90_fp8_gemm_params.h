// sm90_fp8_gemm_params.h: the launch parameters of the Hopper FP8 GEMM kernel and its tile order, shared by
// the host planner (.cpp) and the kernel (.cu). Plain data; no CUDA types.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define FP8KIT_SM90_HD __host__ __device__
#else
#define FP8KIT_SM90_HD
#endif

namespace fp8kit::cuda::sm90 {

/// Element type of D.
enum class OutKind : uint8_t { bf16, f16, f32 };
/// Element type of the bias, or none.
enum class BiasKind : uint8_t { none, f32, bf16, f16 };

/// How a launch overlaps the kernel before it in the stream (programmatic dependent launch). In every mode
/// the kernel reads As, the bias and writes D only after that kernel has completed; A and B likewise, except
/// B under `weights`.
enum class Overlap : uint8_t {
  none,     // launched when the previous kernel has completed
  setup,    // the barrier set-up and tensor-map prefetch run during the previous kernel's tail
  weights,  // as setup, and each CTA's TMA thread also starts the B tiles of its first tile's first `stages`
            // K blocks then: only for a B that no kernel still running may write, such as a model's weights
            // (the caller's promise; the B scales still wait). The next kernel is let start only once this
            // CTA's loads are all issued, so that its own early loads fill this kernel's tail.
};

/// Everything the kernel needs besides the A and B tensor maps. Strides are in elements.
/// A tile is the work of one cluster: one BLOCK_M x BLOCK_N block of D, or with `multicast` a pair of
/// vertically adjacent blocks (m-blocks 2u and 2u + 1) that share the B tile, or with `split_k` > 1 one
/// block whose K range is split across the CTAs of the cluster and reduced through distributed shared
/// memory in a fixed order.
struct KernelParams {
  const float* a_scales = nullptr;  // As[m, kb] at m * as_row_stride + kb * as_col_stride
  const float* b_scales = nullptr;  // Bs[nb, kb] at nb * bs_row_stride + kb * bs_col_stride
  int64_t as_row_stride = 0, as_col_stride = 0;
  int64_t bs_row_stride = 0, bs_col_stride = 0;
  void* d = nullptr;  // D[M, N], row stride ldd
  int64_t ldd = 0;
  const void* bias = nullptr;  // [N] or nullptr
  int32_t m = 0, n = 0, k = 0;
  int32_t num_k_blocks = 0;  // ceil(K / 128)
  int32_t num_m_blocks = 0, num_n_blocks = 0;
  int32_t num_b_scale_rows = 0;  // ceil(N / 128)
  int32_t num_tiles = 0;         // tiles (see above) the persistent clusters share out
  int32_t group_n = 1;           // rasterisation: tiles walk group_n n-blocks, then the next m-block
  int32_t k_blocks_per_split = 0;
  int32_t stages = 0;            // shared-memory pipeline depth
  OutKind out = OutKind::bf16;
  BiasKind bias_kind = BiasKind::none;
  uint8_t multicast = 0;    // 1: clusters of 2 CTAs along M, the B tile multicast to both
  uint8_t split_k = 1;      // CTAs per cluster along K (1: no split)
  uint8_t pair_stores = 0;  // 1: D is aligned for 2-element vector stores
  uint8_t tma_store = 0;    // 1: the epilogue stages D in shared memory and writes it with TMA (bf16/f16)
  uint8_t a_scales_tma = 0;  // 1: As is M-major with 16-byte aligned columns (as_row_stride 1, as_col_stride a
                             // multiple of 4 and >= M, base 16-byte aligned): A scales come by TMA with the tiles
  uint8_t b_evict_first = 0;  // 1: B's loads carry an evict-first L2 policy, so the weight stream does not
                              // evict what is reused (A, the scales, D, the kernels' code); the host sets it
                              // where each B tile is loaded by one cluster and D is small against B
  Overlap overlap = Overlap::setup;  // the host launch's attribute; the TMA thread's early B loads (weights)
  uint64_t* trace = nullptr;  // diagnostics (bench_sm90_gemm --trace): kTraceSlots timestamps per CTA, or nullptr
};

/// Per-CTA slots of KernelParams::trace: %globaltimer nanoseconds at each point, then counts.
enum TraceSlot : int {
  kTraceEntry = 0,        // thread 0, first instruction
  kTraceTmaEntry,         // the TMA thread, first instruction
  kTraceBarriersReady,    // the TMA thread, past initialising the barriers and arriving on the start-up barrier
  kTraceSetUp,            // thread 0, past the barrier set-up and the CTA's (or cluster's) barrier
  kTraceDependencyMet,    // thread 0, past griddepcontrol.wait (the kernel before has completed)
  kTraceRegistersReady,   // thread 0, past its warpgroup's register increase (two-warpgroup tiles only)
  kTraceFirstLoad,        // the TMA thread issues its first K block
  kTraceFirstData,        // consumer thread 0 sees its first stage full
  kTraceMainLoopDone,     // consumer thread 0 leaves the K loop of its last tile
  kTraceReceived,         // split K, consumer warp `rank` (a unit its CTA finishes): the other CTAs' partials
  kTraceReduced,          //   have arrived; ... it has added them (loads and adds complete)
  kTraceEpilogueDone,     // consumer thread 0 has written (or issued the stores of) its last tile
  kTraceExit,             // consumer thread 0, after its stores completed, about to exit
  kTraceTiles,            // tiles this CTA ran
  kTraceSm,               // the SM it ran on
  kTraceClockFirstData,   // the SM's clock (clock64) at kTraceFirstData ...
  kTraceClockLoopDone,    //   ... and at kTraceMainLoopDone: the SM clock rate from the first data to the end of
                          //   the last K loop (which the tensor cores' activity lowers; BENCHMARKS.md Hopper v17)
  kTraceSlots
};

/// x / split for 0 <= x < 4 * split, by comparisons: the split-K exchange's quotients (x counts consumer
/// warps, at most 8, and the split is 2-8, so x < 8 <= 4 * split). The kernel needs them after the K loop,
/// on the path to the last store, where a division by the run-time split compiled to a chain of about 25
/// dependent instructions (I2F, MUFU.RCP, F2I), four of them between a tile's last K block and its stores.
FP8KIT_SM90_HD constexpr int32_t split_k_quotient(int32_t x, int32_t split) {
  return (x >= split ? 1 : 0) + (x >= 2 * split ? 1 : 0) + (x >= 3 * split ? 1 : 0);
}

/// Whether split_k_quotient equals x / split over its whole domain (checked at compile time below).
constexpr bool split_k_quotient_is_exact() {
  for (int32_t split = 2; split <= 8; ++split) {
    for (int32_t x = 0; x < 4 * split; ++x) {
      if (split_k_quotient(x, split) != x / split) return false;
    }
  }
  return true;
}
static_assert(split_k_quotient_is_exact(), "split_k_quotient must equal x / split over its whole domain");

/// Bytes of one slot of the split-K receive area (sm90_fp8_gemm_split_k.cuh): the ceil(units / split) units
/// (consumer warps) a rank finishes, each 32 lanes x `col_groups` float4s. The area has split - 1 slots,
/// after the pipeline's barriers and two more of its own.
FP8KIT_SM90_HD constexpr int32_t split_k_slot_bytes(int32_t units, int32_t col_groups, int32_t split) {
  return (split_k_quotient(units - 1, split) + 1) * col_groups * 32 * 16;
}

/// Coordinates of tile `tile`: the m-unit (an m-block, or a pair of them with multicast) and the n-block.
/// Tiles walk `group_n` n-blocks for one m-unit, then the next m-unit, so that the clusters running at
/// the same time share A rows and B columns in L2.
struct TileCoord {
  int32_t m_unit, n_block;
};

FP8KIT_SM90_HD inline int32_t num_m_units(const KernelParams& p) {
  return p.multicast ? (p.num_m_blocks + 1) / 2 : p.num_m_blocks;
}

FP8KIT_SM90_HD inline TileCoord tile_coord(const KernelParams& p, int32_t tile) {
  const int32_t units = num_m_units(p);
  const int32_t group = tile / (p.group_n * units);
  const int32_t first_n = group * p.group_n;
  const int32_t width = p.num_n_blocks - first_n < p.group_n ? p.num_n_blocks - first_n : p.group_n;
  const int32_t local = tile - group * p.group_n * units;
  return {local / width, first_n + local % width};
}

}  // namespace fp8kit::cuda::sm90
