// sm90_fp8_gemm_kernel.cuh: the Hopper FP8 block-scaled GEMM kernel (sm_90a), one template for every tile
// shape. Included only by the sm90_fp8_gemm_tile_*.cu files, each of which instantiates one shape.
//
//   D[M, N] = (A * As)(B * Bs)^T (+ bias),  A [M, K] e4m3, B [N, K] e4m3 (both K-major),
//   As[m, kb] per row and 128-wide K block, Bs[nb, kb] per 128 x 128 block of B.
//
// Warp specialisation, persistent over tiles (see sm90_fp8_gemm_params.h for the tile order):
//  - the last warpgroup produces: warp 0 (one thread) issues TMA loads of the A and B tiles of each
//    128-wide K block into a ring of shared-memory stages, and, where As is M-major with 16-byte aligned
//    columns, the block's A scales (one per tile row) by TMA too, while warp 1 stores its one or two B
//    scales; for any other layout of As, warps 1-3 in turn copy both with 4-byte cp.async. All of it
//    completes on the stage's `full` mbarrier.
//    Out-of-bounds rows and K columns arrive as zeros (TMA fill).
//  - the other warpgroups consume: each owns a 64-row x (BLOCK_N / WG_N)-column slice of the tile per
//    wave, issues 4 wgmma m64nNk32 per K block into a scratch accumulator (the first overwrites it),
//    waits for them, releases the stage (`empty` mbarrier) and promotes: final += As[m, kb] * Bs[nb, kb] *
//    scratch in fp32 registers. FP8 products are never accumulated across K blocks inside the tensor core.
//    Where registers allow (one wave, wgmma N <= 128) the scratch is double-buffered: K block kb + 1 is
//    issued before kb is promoted, so the tensor core always has work queued.
//  - epilogue: bias (fp32) and rounding to D's type; bf16/f16 tiles are staged in swizzled shared memory
//    and written by TMA stores that complete while the next tile computes, other outputs are stored
//    straight from registers. With split K the partial tiles are first exchanged across the cluster
//    through distributed shared memory (st.async into each owner's receive area) and summed in the order of
//    the CTA ranks, so results are deterministic.
//  - start-up: the TMA thread initialises the barriers and, without multicast, issues its first tile's
//    first `stages` K blocks before it waits on the start-up (cluster) barrier with everyone else.
//  - launch: programmatic dependent launch (KernelParams::overlap): the barrier set-up and descriptor
//    prefetch overlap the previous kernel's tail; every thread waits for that kernel before any global
//    access, except, with Overlap::weights, the TMA thread's loads of the first tile's first B stages.
//  - diagnostics: the kTrace instantiation (launched when KernelParams::trace is set) has a few threads
//    write %globaltimer stamps per CTA (TraceSlot).
#pragma once

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cuda/common/dependent_launch.cuh"
#include "cuda/sm90/sm90_fp8_gemm_params.h"
#include "cuda/sm90/sm90_fp8_gemm_split_k.cuh"
#include "cuda/sm90/sm90_ptx.cuh"
#include "cuda/sm90/sm90_wgmma_fp8.cuh"

namespace fp8kit::cuda::sm90 {

/// A tile shape: BLOCK_M x BLOCK_N of D per CTA, computed by WG_M x WG_N consumer warpgroups, each
/// covering 64 rows per wave and BLOCK_N / WG_N columns; BLOCK_M / (64 * WG_M) waves.
template <int kBlockM_, int kBlockN_, int kWgM_, int kWgN_>
struct TileShape {
  static constexpr int kBlockM = kBlockM_, kBlockN = kBlockN_, kBlockK = 128;
  static constexpr int kWgM = kWgM_, kWgN = kWgN_;
  static constexpr int kMathWarpgroups = kWgM * kWgN;
  static constexpr int kThreads = 128 * (kMathWarpgroups + 1);
  static constexpr int kWaves = kBlockM / (64 * kWgM);
  static constexpr int kWgCols = kBlockN / kWgN;  // wgmma N
  static constexpr int kColGroups = kWgCols / 8;  // 8-column groups of the accumulator fragment
  static constexpr int kABytes = kBlockM * kBlockK;
  static constexpr int kBBytes = kBlockN * kBlockK;
  // Floats per stage: BLOCK_M A scales, 2 B scales, rounded up to the 128-byte alignment of TMA destinations.
  static constexpr int kScaleStride = (kBlockM + 2 + 31) / 32 * 32;
  // Double-buffered scratch accumulators where they fit in the registers (3 fragments + ~40): the tensor
  // core then never waits for a promotion.
  static constexpr bool kDoubleBuffer = kWaves == 1 && kWgCols <= 128;
  // Split K for one-wave tiles only: with two waves the exchange's code did not fit beside the 256x128
  // fragments (spills), and a tile that large has no use for split K where there are tiles for every SM.
  static constexpr bool kSplitK = kWaves == 1;
  // TMA-store epilogue: each warpgroup's 64-row slices are staged as column chunks of kChunkCols 16-bit
  // values (one swizzle span: 128, 64 or 32 bytes per row).
  static constexpr int kChunkCols = kWgCols % 64 == 0 ? 64 : kWgCols % 32 == 0 ? 32 : 16;
  static constexpr int kChunkBytes = kChunkCols * 2;
  static constexpr int kChunks = kWgCols / kChunkCols;
  static constexpr int kDBytes = kBlockM * kBlockN * 2;
  // Registers per thread after reallocation (setmaxnreg) when there are two consumer warpgroups: the
  // producer keeps 56 (its B-scale loop spilled at 40), the consumers take the rest of the 64K-register
  // file (224: the 256x128 and double-buffered 128x128 fragments fit without spills).
  static constexpr int kProducerRegisters = 56;
  static constexpr int kConsumerRegisters = 224;

  static_assert(kBlockM % (64 * kWgM) == 0, "BLOCK_M must be a multiple of 64 * WG_M");
  static_assert(kBlockN % (16 * kWgN) == 0, "each warpgroup's columns must be a multiple of 16");
  static_assert(kWgCols <= 256, "wgmma N is at most 256");
  static_assert(kMathWarpgroups <= 2, "one producer and at most two consumer warpgroups");
  static_assert(kWgCols % 16 == 0, "BLOCK_N / WG_N must be a multiple of 16 (swizzle atoms, epilogue chunks)");
};

namespace detail {

__host__ __device__ constexpr int gcd_constexpr(int a, int b) { return b == 0 ? a : gcd_constexpr(b, a % b); }

/// Pipeline position: stage index and the parity of its current phase.
struct PipelineState {
  int stage = 0;
  uint32_t phase = 0;
  __device__ void advance(int stages) {
    if (++stage == stages) {
      stage = 0;
      phase ^= 1u;
    }
  }
};

/// The K-block range [begin, end) of this CTA for a tile (its split of K, or all of it).
struct KRange {
  int32_t begin, end;
};
__device__ __forceinline__ KRange k_range(const KernelParams& p, uint32_t cta_rank) {
  if (p.split_k <= 1) return {0, p.num_k_blocks};
  const int32_t begin = static_cast<int32_t>(cta_rank) * p.k_blocks_per_split;
  const int32_t end = begin + p.k_blocks_per_split < p.num_k_blocks ? begin + p.k_blocks_per_split : p.num_k_blocks;
  return {begin < end ? begin : end, end};
}

/// The m-block of a tile this CTA computes: with multicast, its rank's of the pair's two.
__device__ __forceinline__ int32_t m_block_of(const KernelParams& p, TileCoord tc, uint32_t cta_rank) {
  return p.multicast ? tc.m_unit * 2 + static_cast<int32_t>(cta_rank) : tc.m_unit;
}

/// Where a CTA loads a tile's B from: the first of its rows, which with multicast is this CTA's half of the
/// tile (loaded into both CTAs of the pair), at `dst_offset` bytes into the stage.
struct BSource {
  int32_t row0;
  uint32_t dst_offset;
};

template <class Shape>
__device__ __forceinline__ BSource b_source(const KernelParams& p, int32_t n_block, uint32_t cta_rank) {
  const int32_t half = p.multicast ? static_cast<int32_t>(cta_rank) * (Shape::kBlockN / 2) : 0;
  return {n_block * Shape::kBlockN + half, static_cast<uint32_t>(half * Shape::kBlockK)};
}

/// The TMA load of K block `kb` of a tile's B into one stage, completing on `bar` (both CTAs' with multicast).
/// With KernelParams::b_evict_first, evict-first in L2.
template <class Shape>
__device__ __forceinline__ void load_b(const KernelParams& p, const CUtensorMap* tma_b, uint8_t* stage_b,
                                       BSource src, int32_t kb, uint64_t* bar) {
  if (p.multicast) {
    ptx::tma_load_2d_multicast(stage_b + src.dst_offset, tma_b, kb * Shape::kBlockK, src.row0, bar, uint16_t{0x3});
  } else if (p.b_evict_first) {
    ptx::tma_load_2d_evict_first(stage_b, tma_b, kb * Shape::kBlockK, src.row0, bar);
  } else {
    ptx::tma_load_2d(stage_b, tma_b, kb * Shape::kBlockK, src.row0, bar);
  }
}

/// The pipeline's stage arrays in shared memory and their `full` barriers.
struct StageSmem {
  uint8_t* a;
  uint8_t* b;
  float* scales;
  uint64_t* full;
};

/// Which of a K block's loads load_stage issues. The stage's one arrive.expect_tx (all its bytes) goes
/// with the B tile: Overlap::weights issues B first, A once the previous grid has completed.
enum class StageParts { all, b, a };

/// The TMA loads of K block `kb` of a tile into stage `stage`: A (rows from m0), the A scales where they
/// come by TMA, and B (BSource), each completing on the stage's `full` barrier.
template <class Shape>
__device__ __forceinline__ void load_stage(const KernelParams& p, const CUtensorMap* tma_a, const CUtensorMap* tma_b,
                                           const CUtensorMap* tma_as, const StageSmem& smem, int stage,
                                           uint32_t tx_bytes, int32_t m0, BSource src, int32_t kb, StageParts parts) {
  uint64_t* bar = smem.full + stage;
  if (parts != StageParts::a) ptx::barrier_arrive_expect_tx(bar, tx_bytes);
  if (parts != StageParts::b) {
    ptx::tma_load_2d(smem.a + stage * Shape::kABytes, tma_a, kb * Shape::kBlockK, m0, bar);
    // The A scales by TMA (rows past M arrive as zeros).
    if (p.a_scales_tma) ptx::tma_load_2d(smem.scales + stage * Shape::kScaleStride, tma_as, m0, kb, bar);
  }
  if (parts != StageParts::a) load_b<Shape>(p, tma_b, smem.b + stage * Shape::kBBytes, src, kb, bar);
}

/// What the TMA thread issued at start-up: its first tile's K blocks [k_range.begin, end) in stages 0, 1, ...
struct FirstLoads {
  int32_t end = 0;
  uint64_t issued_ns = 0;  // kTrace: when the first was issued
};

/// Start-up, by the TMA thread alone (the barriers initialised, the stages all free): issues the first
/// `stages` K blocks of this CTA's first tile once the previous grid has completed (griddepcontrol.wait),
/// under Overlap::weights their B tiles before that wait. The producer loop then starts past them.
template <class Shape, bool kTrace>
__device__ __forceinline__ FirstLoads issue_first_loads(const KernelParams& p, const CUtensorMap* tma_a,
                                                        const CUtensorMap* tma_b, const CUtensorMap* tma_as,
                                                        const StageSmem& smem, uint32_t tx_bytes, int32_t tile,
                                                        uint32_t cta_rank) {
  FirstLoads first;
  if (tile >= p.num_tiles) return first;
  // With one m-unit (every decode-sized launch) tile_coord gives the n-block `tile`: its three run-time
  // divisions (each a chain of ~25 dependent instructions) are skipped on the way to the first load. (Not
  // inside tile_coord: the branch there, in every tile of the persistent loops, cost 4096 x 32768 x 512 5%.)
  const TileCoord tc = num_m_units(p) == 1 ? TileCoord{0, tile} : tile_coord(p, tile);
  const int32_t m_block = m_block_of(p, tc, cta_rank);
  const int32_t m0 = m_block * Shape::kBlockM;
  const KRange kr = k_range(p, cta_rank);
  const BSource src = b_source<Shape>(p, tc.n_block, cta_rank);
  first.end = kr.begin + (kr.end - kr.begin < p.stages ? kr.end - kr.begin : p.stages);
  if (kTrace) first.issued_ns = ptx::global_timer_ns();
  const bool weights_first = p.overlap == Overlap::weights;
  if (weights_first) {
#pragma unroll 1
    for (int32_t kb = kr.begin; kb < first.end; ++kb) {
      load_stage<Shape>(p, tma_a, tma_b, tma_as, smem, kb - kr.begin, tx_bytes, m0, src, kb, StageParts::b);
    }
  }
  wait_for_previous_grid();
#pragma unroll 1
  for (int32_t kb = kr.begin; kb < first.end; ++kb) {
    load_stage<Shape>(p, tma_a, tma_b, tma_as, smem, kb - kr.begin, tx_bytes, m0, src, kb,
                      weights_first ? StageParts::a : StageParts::all);
  }
  return first;
}

/// bias[col] of a bias of type kBias, as float.
template <BiasKind kBias>
__device__ __forceinline__ float load_bias_as(const KernelParams& p, int32_t col) {
  if constexpr (kBias == BiasKind::f32) return __ldg(static_cast<const float*>(p.bias) + col);
  if constexpr (kBias == BiasKind::bf16) return __bfloat162float(static_cast<const __nv_bfloat16*>(p.bias)[col]);
  if constexpr (kBias == BiasKind::f16) return __half2float(static_cast<const __half*>(p.bias)[col]);
  return 0.0f;
}

/// Calls f(std::integral_constant<BiasKind, kind>{}) for the launch's bias type: the epilogues are compiled
/// once per bias type, and the type is chosen once per tile rather than tested per column group.
template <class F>
__device__ __forceinline__ void with_bias_kind(BiasKind kind, F&& f) {
  switch (kind) {
    case BiasKind::none: f(std::integral_constant<BiasKind, BiasKind::none>{}); return;
    case BiasKind::f32: f(std::integral_constant<BiasKind, BiasKind::f32>{}); return;
    case BiasKind::bf16: f(std::integral_constant<BiasKind, BiasKind::bf16>{}); return;
    case BiasKind::f16: f(std::integral_constant<BiasKind, BiasKind::f16>{}); return;
  }
}

/// This thread's bias pairs (col0 + 8j, col0 + 8j + 1) of each column group j, 0 past N (none: nothing
/// loaded). col0 is even and each pair wholly inside D or wholly outside (N even, as the TMA store's N % 8 == 0
/// and the pair stores' condition ensure, or the warpgroup's columns inside N). The epilogues load them all
/// before their first store or staging wait: interleaved with the stores, each load waited out its memory
/// latency behind the stores before it (which may alias the bias as far as the compiler knows).
template <class Shape, BiasKind kBias>
struct BiasPairs {
  float v[kBias == BiasKind::none ? 1 : Shape::kColGroups][2] = {};

  __device__ __forceinline__ BiasPairs(const KernelParams& p, int32_t col0) {
    if constexpr (kBias != BiasKind::none) {
#pragma unroll
      for (int j = 0; j < Shape::kColGroups; ++j) {
        const int32_t col = col0 + j * 8;
        if (col >= p.n) continue;
        v[j][0] = load_bias_as<kBias>(p, col);
        v[j][1] = load_bias_as<kBias>(p, col + 1);
      }
    }
  }
  /// Adds group j's pair to (v0, v1).
  __device__ __forceinline__ void add(int j, float& v0, float& v1) const {
    if constexpr (kBias != BiasKind::none) {
      v0 += v[j][0];
      v1 += v[j][1];
    }
  }
};

/// acc += scale(row, col) * scratch over one warpgroup fragment, where column groups j < kSplit use the
/// first B scale and the others the second. kSplit is a compile-time constant so that only four scale
/// products are live (a run-time split lets the compiler materialise one product per column group).
template <class Shape, int kSplit>
__device__ __forceinline__ void promote_split(float (&acc)[Shape::kColGroups * 4], const float (&scratch)[Shape::kColGroups * 4],
                                              float s00, float s10, float s01, float s11) {
#pragma unroll
  for (int j = 0; j < Shape::kColGroups; ++j) {
    const float t0 = j < kSplit ? s00 : s01, t1 = j < kSplit ? s10 : s11;
    acc[j * 4 + 0] = fmaf(t0, scratch[j * 4 + 0], acc[j * 4 + 0]);
    acc[j * 4 + 1] = fmaf(t0, scratch[j * 4 + 1], acc[j * 4 + 1]);
    acc[j * 4 + 2] = fmaf(t1, scratch[j * 4 + 2], acc[j * 4 + 2]);
    acc[j * 4 + 3] = fmaf(t1, scratch[j * 4 + 3], acc[j * 4 + 3]);
  }
}

/// Selects promote_split<j_split>. A tile starts at a multiple of BLOCK_N, so the split (clamped to
/// [0, column groups]) is a multiple of gcd(BLOCK_N, 128) / 8: only those values get code.
template <class Shape, int kSplit = 0>
__device__ __forceinline__ void promote(float (&acc)[Shape::kColGroups * 4], const float (&scratch)[Shape::kColGroups * 4],
                                        float sa0, float sa1, float sb0, float sb1, int32_t j_split) {
  constexpr int kStep = gcd_constexpr(Shape::kBlockN, 128) / 8;
  static_assert(Shape::kColGroups % kStep == 0, "the clamped split must lie on the step grid");
  if constexpr (kSplit >= Shape::kColGroups) {
    promote_split<Shape, kSplit>(acc, scratch, sa0 * sb0, sa1 * sb0, sa0 * sb1, sa1 * sb1);
  } else {
    if (j_split <= kSplit) {
      promote_split<Shape, kSplit>(acc, scratch, sa0 * sb0, sa1 * sb0, sa0 * sb1, sa1 * sb1);
    } else {
      promote<Shape, kSplit + kStep>(acc, scratch, sa0, sa1, sb0, sb1, j_split);
    }
  }
}

/// Writes `value` to this CTA's slot of the trace where `write` holds (trace instantiation only). A predicated
/// store, not a branch, so that the traced kernel stays close to the production one: a consumer-side
/// `if (threadIdx.x == 0)` around a stamp moved the main loop's index arithmetic off the uniform datapath
/// (256x128 ran 14-20% slower at M = 4096).
__device__ __forceinline__ void stamp(const KernelParams& p, TraceSlot slot, uint64_t value, bool write) {
  uint64_t* at = p.trace + blockIdx.x * kTraceSlots + slot;
  asm volatile(
      "{\n.reg .pred w;\nsetp.ne.u32 w, %2, 0;\n@w st.global.u64 [%0], %1;\n}" ::"l"(at), "l"(value),
      "r"(static_cast<uint32_t>(write))
      : "memory");
}

/// Writes values of D at (row, col) and (row, col + 1); col + 1 only when in bounds.
template <OutKind kOut>
__device__ __forceinline__ void store_pair(const KernelParams& p, int32_t row, int32_t col, float v0, float v1) {
  const bool both = col + 1 < p.n;
  const int64_t offset = static_cast<int64_t>(row) * p.ldd + col;
  if constexpr (kOut == OutKind::f32) {
    float* d = static_cast<float*>(p.d) + offset;
    if (both && p.pair_stores) {
      *reinterpret_cast<float2*>(d) = make_float2(v0, v1);
    } else {
      d[0] = v0;
      if (both) d[1] = v1;
    }
  } else if constexpr (kOut == OutKind::bf16) {
    __nv_bfloat16* d = static_cast<__nv_bfloat16*>(p.d) + offset;
    if (both && p.pair_stores) {
      *reinterpret_cast<__nv_bfloat162*>(d) = __floats2bfloat162_rn(v0, v1);
    } else {
      d[0] = __float2bfloat16_rn(v0);
      if (both) d[1] = __float2bfloat16_rn(v1);
    }
  } else {
    __half* d = static_cast<__half*>(p.d) + offset;
    if (both && p.pair_stores) {
      *reinterpret_cast<__half2*>(d) = __floats2half2_rn(v0, v1);
    } else {
      d[0] = __float2half_rn(v0);
      if (both) d[1] = __float2half_rn(v1);
    }
  }
}

template <OutKind kOut>
__device__ __forceinline__ uint32_t pack_pair(float v0, float v1) {
  if constexpr (kOut == OutKind::bf16) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(v0, v1);
    return *reinterpret_cast<const uint32_t*>(&h);
  } else {
    const __half2 h = __floats2half2_rn(v0, v1);
    return *reinterpret_cast<const uint32_t*>(&h);
  }
}

/// The straight-line part of store_tile for a bias of type kBias (none: no loads): one predicated pair
/// store per row and column group from precomputed row pointers. Rows past M and column pairs past N are
/// skipped; with N even a pair (col, col + 1) from an even column is wholly inside D or wholly outside.
template <class Shape, OutKind kOut, BiasKind kBias>
__device__ __forceinline__ void store_pairs(const KernelParams& p, const float (&acc)[Shape::kWaves][Shape::kColGroups * 4],
                                            int32_t row_base, int32_t col0) {
  using Pair = std::conditional_t<kOut == OutKind::f32, float2, uint32_t>;
  Pair* rows[Shape::kWaves][2];
  bool inside[Shape::kWaves][2];
#pragma unroll
  for (int w = 0; w < Shape::kWaves; ++w) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t row = row_base + w * 64 * Shape::kWgM + h * 8;
      inside[w][h] = row < p.m;
      rows[w][h] = reinterpret_cast<Pair*>(static_cast<char*>(p.d) + (row * p.ldd + col0) * (kOut == OutKind::f32 ? 4 : 2));
    }
  }
  const BiasPairs<Shape, kBias> bias(p, col0);
#pragma unroll
  for (int j = 0; j < Shape::kColGroups; ++j) {
    if (col0 + j * 8 >= p.n) continue;
#pragma unroll
    for (int w = 0; w < Shape::kWaves; ++w) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        if (!inside[w][h]) continue;
        float v0 = acc[w][j * 4 + h * 2], v1 = acc[w][j * 4 + h * 2 + 1];
        bias.add(j, v0, v1);
        if constexpr (kOut == OutKind::f32) {
          rows[w][h][j * 4] = make_float2(v0, v1);
        } else {
          rows[w][h][j * 4] = pack_pair<kOut>(v0, v1);
        }
      }
    }
  }
}

/// Bias, rounding and stores of one consumer warpgroup's accumulators, straight from registers. Where D
/// allows pair stores (the usual case), store_pairs: a short straight-line run of predicated stores, one
/// instantiation per bias type. This epilogue runs from cold instruction caches in decode-sized launches,
/// where its code size is most of its cost (BENCHMARKS.md, Hopper v7), so ragged tiles (M not a multiple of
/// 64, the last n-block) and a bias take it too. (Until Hopper v9 they took the general path below, whose
/// fully unrolled bounds checks and per-element bias type switch are many times the code; in Nsight
/// Compute's samples of 64 x 2112 x 7168 its warps stalled mostly on instruction fetch.) The general path
/// remains for D without pair stores and for an odd N in the last n-block.
template <class Shape, OutKind kOut>
__device__ void store_tile(const KernelParams& p, const float (&acc)[Shape::kWaves][Shape::kColGroups * 4],
                           int32_t row_base, int32_t col_base) {
  const int lane = threadIdx.x % 32;
  const int32_t col0 = col_base + (lane % 4) * 2;
  if (p.pair_stores && (p.n % 2 == 0 || col_base + Shape::kWgCols <= p.n)) {
    with_bias_kind(p.bias_kind,
                   [&](auto bias) { store_pairs<Shape, kOut, decltype(bias)::value>(p, acc, row_base, col0); });
    return;
  }
#pragma unroll
  for (int j = 0; j < Shape::kColGroups; ++j) {
    const int32_t col = col0 + j * 8;
    if (col >= p.n) continue;
    float bias0 = 0.0f, bias1 = 0.0f;
    with_bias_kind(p.bias_kind, [&](auto bias) {
      bias0 = load_bias_as<decltype(bias)::value>(p, col);
      if (col + 1 < p.n) bias1 = load_bias_as<decltype(bias)::value>(p, col + 1);
    });
#pragma unroll
    for (int w = 0; w < Shape::kWaves; ++w) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int32_t row = row_base + w * 64 * Shape::kWgM + h * 8;
        if (row < p.m) {
          store_pair<kOut>(p, row, col, acc[w][j * 4 + h * 2] + bias0, acc[w][j * 4 + h * 2 + 1] + bias1);
        }
      }
    }
  }
}


/// Barrier of the 128 threads of consumer warpgroup `wg` (hardware barriers 1 and 2; 0 is __syncthreads).
__device__ __forceinline__ void warpgroup_barrier(int wg) {
  if (wg == 0) {
    asm volatile("bar.sync 1, 128;" ::: "memory");
  } else {
    asm volatile("bar.sync 2, 128;" ::: "memory");
  }
}

/// TMA-store epilogue of one consumer warpgroup (bf16/f16 D) for a bias of type kBias (none: no loads):
/// waits until its previous tile's stores have read the staging area, writes bias + accumulators there, and
/// lets one thread issue the TMA stores, which clip rows past M and columns past N and complete in the
/// background. Straight-line code, one instantiation per bias type: it runs once per tile, in decode-sized
/// launches from cold instruction caches, where each forward branch over code not taken costs a fetch from
/// L2 or DRAM (a bias test per column group made this epilogue 3.3 us slower cold than warm; BENCHMARKS.md
/// Hopper v13).
///
/// Staging layout: per wave and column chunk, 64 rows x kChunkBytes, with the tensor map's swizzle (the
/// 16-byte unit index XORed with address bits 7..9, masked to the swizzle width). This thread's rows r0 and
/// r0 + 8 share those bits, so its XOR value is one per thread; a warp's 4-byte stores hit 32 banks.
template <class Shape, OutKind kOut, BiasKind kBias>
__device__ void store_tile_tma(const KernelParams& p, const CUtensorMap* map_d,
                               const float (&acc)[Shape::kWaves][Shape::kColGroups * 4], uint8_t* staging,
                               int32_t row0, int32_t col0, int wg) {
  constexpr int kSubtileBytes = 64 * Shape::kChunkBytes;
  constexpr uint32_t kSwizzleMask = Shape::kChunkBytes / 16 - 1;
  const int t = static_cast<int>(threadIdx.x) % 128;
  const int lane = t % 32;
  const int r0 = (t / 32) * 16 + lane / 4;
  // Opaque: computed here, after the main loop, rather than hoisted into its registers.
  const uint32_t thread_base =
      ptx::opaque(ptx::smem_addr(staging) + static_cast<uint32_t>(r0 * Shape::kChunkBytes + (lane % 4) * 4));
  const uint32_t xor_units = ptx::opaque((static_cast<uint32_t>(r0 * Shape::kChunkBytes) >> 7) & kSwizzleMask);
  // The bias, loaded before the staging wait (0 past N, whose columns the TMA store clips).
  const BiasPairs<Shape, kBias> bias(p, col0 + (lane % 4) * 2);
  if (t == 0) ptx::bulk_wait_read();
  warpgroup_barrier(wg);
#pragma unroll
  for (int j = 0; j < Shape::kColGroups; ++j) {
    const int chunk = (j * 8) / Shape::kChunkCols;
    const uint32_t unit = static_cast<uint32_t>(((j * 8) % Shape::kChunkCols) * 2 / 16);
#pragma unroll
    for (int w = 0; w < Shape::kWaves; ++w) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const uint32_t address = thread_base + static_cast<uint32_t>((w * Shape::kChunks + chunk) * kSubtileBytes +
                                                                     h * 8 * Shape::kChunkBytes) +
                                 ((unit ^ xor_units) << 4);
        float v0 = acc[w][j * 4 + h * 2], v1 = acc[w][j * 4 + h * 2 + 1];
        bias.add(j, v0, v1);
        ptx::st_shared_b32(address, pack_pair<kOut>(v0, v1));
      }
    }
  }
  ptx::fence_async_shared();
  warpgroup_barrier(wg);
  if (t == 0) {
#pragma unroll
    for (int w = 0; w < Shape::kWaves; ++w) {
#pragma unroll
      for (int c = 0; c < Shape::kChunks; ++c) {
        ptx::tma_store_2d(map_d, col0 + c * Shape::kChunkCols, row0 + w * 64 * Shape::kWgM,
                          staging + (w * Shape::kChunks + c) * kSubtileBytes);
      }
    }
    ptx::bulk_commit();
  }
}

/// store_tile_tma for the launch's bias type.
template <class Shape, OutKind kOut>
__device__ __forceinline__ void store_tile_tma(const KernelParams& p, const CUtensorMap* map_d,
                                               const float (&acc)[Shape::kWaves][Shape::kColGroups * 4],
                                               uint8_t* staging, int32_t row0, int32_t col0, int wg) {
  with_bias_kind(p.bias_kind, [&](auto bias) {
    store_tile_tma<Shape, kOut, decltype(bias)::value>(p, map_d, acc, staging, row0, col0, wg);
  });
}

/// The main loop of one consumer warpgroup over the K blocks of a tile.
template <class Shape>
struct Consumer {
  using Wgmma = WgmmaFp8<Shape::kWgCols>;
  static constexpr int kAcc = Wgmma::kAccumulators;

  const uint8_t* smem_a;
  const uint8_t* smem_b;
  const float* smem_scales;
  uint64_t* full;
  uint64_t* empty;
  int stages, lane, wg_m, wg_n, row_in_slice;
  // Lane 1 of each warp, with multicast: also releases the peer's stage. Opaque (set once, kept in a
  // register): recomputed from the parameter it cost 3 instructions per K block in the 256x128 loop.
  bool release_peer;
  uint32_t peer;  // the other CTA of a multicast pair

  /// The scales of one K block this thread needs: two A rows per wave, the tile's one or two B blocks.
  struct Scales {
    float sa[Shape::kWaves][2] = {};
    float sb0 = 0.0f, sb1 = 0.0f;
  };

  __device__ __forceinline__ Scales load_scales(int stage) const {
    const float* scales = smem_scales + stage * Shape::kScaleStride;
    Scales s;
#pragma unroll
    for (int w = 0; w < Shape::kWaves; ++w) {
      const int r = w * 64 * Shape::kWgM + wg_m * 64 + row_in_slice;
      s.sa[w][0] = scales[r];
      s.sa[w][1] = scales[r + 8];
    }
    s.sb0 = scales[Shape::kBlockM];
    s.sb1 = scales[Shape::kBlockM + 1];
    return s;
  }

  /// Issues the 4 wgmma of one K block and wave into `scratch` as one commit group.
  __device__ __forceinline__ void issue(float (&scratch)[kAcc], int stage, int wave) const {
    const uint64_t desc_a = ptx::wgmma_desc_sw128(smem_a + stage * Shape::kABytes +
                                                  (wave * 64 * Shape::kWgM + wg_m * 64) * Shape::kBlockK);
    const uint64_t desc_b =
        ptx::wgmma_desc_sw128(smem_b + stage * Shape::kBBytes + wg_n * Shape::kWgCols * Shape::kBlockK);
#pragma unroll
    for (int i = 0; i < kAcc; ++i) ptx::fence_register(scratch[i]);
    ptx::wgmma_fence();
#pragma unroll
    for (int k = 0; k < Shape::kBlockK / 32; ++k) {
      // +32 bytes along K inside the swizzled 128-byte rows: +2 in the descriptor's address field.
      Wgmma::mma(scratch, desc_a + 2 * k, desc_b + 2 * k, k > 0 ? 1u : 0u);
    }
    ptx::wgmma_commit();
#pragma unroll
    for (int i = 0; i < kAcc; ++i) ptx::fence_register(scratch[i]);
  }

  /// The stage's tiles and scales have all been read: hand it back to the producer(s).
  __device__ __forceinline__ void release(int stage) const {
    __syncwarp();
    if (lane == 0) ptx::barrier_arrive(&empty[stage]);
    if (release_peer) ptx::barrier_arrive_cluster(&empty[stage], peer);
  }

  /// One scratch accumulator: issue, wait, release, promote, per K block and wave.
  __device__ __forceinline__ void run_single(float (&acc)[Shape::kWaves][kAcc], float (&scratch)[kAcc],
                                             PipelineState& pipe, KRange kr, int32_t j_split) const {
    for (int32_t kb = kr.begin; kb < kr.end; ++kb) {
      ptx::barrier_wait(&full[pipe.stage], pipe.phase);
      const Scales s = load_scales(pipe.stage);
#pragma unroll
      for (int w = 0; w < Shape::kWaves; ++w) {
        issue(scratch, pipe.stage, w);
        ptx::wgmma_wait<0>();
#pragma unroll
        for (int i = 0; i < kAcc; ++i) ptx::fence_register(scratch[i]);
        if (w == Shape::kWaves - 1) release(pipe.stage);
        promote<Shape>(acc[w], scratch, s.sa[w][0], s.sa[w][1], s.sb0, s.sb1, j_split);
      }
      pipe.advance(stages);
    }
  }

  /// Two scratch accumulators (one wave): K block kb + 1 is issued before kb is promoted. The loop body
  /// issues unconditionally and the tail is peeled, so that no control-flow merge ever copies registers of
  /// a wgmma in flight (which would make ptxas serialise every wgmma).
  __device__ __forceinline__ void run_double(float (&acc)[1][kAcc], float (&scratch0)[kAcc], float (&scratch1)[kAcc],
                                             PipelineState& pipe, KRange kr, int32_t j_split) const {
    if (kr.begin >= kr.end) return;
    ptx::barrier_wait(&full[pipe.stage], pipe.phase);
    Scales s0 = load_scales(pipe.stage);
    issue(scratch0, pipe.stage, 0);
    int32_t kb = kr.begin;
    // Here scratch0 holds K block kb, in flight, at pipeline position `pipe`.
    for (; kb + 2 < kr.end; kb += 2) {
      PipelineState next = pipe;
      next.advance(stages);
      const Scales s1 = issue_next(scratch1, next);
      retire(acc, scratch0, s0, pipe, j_split);
      pipe = next;
      next.advance(stages);
      s0 = issue_next(scratch0, next);
      retire(acc, scratch1, s1, pipe, j_split);
      pipe = next;
    }
    if (kb + 1 < kr.end) {
      PipelineState next = pipe;
      next.advance(stages);
      const Scales s1 = issue_next(scratch1, next);
      retire(acc, scratch0, s0, pipe, j_split);
      pipe = next;
      ptx::wgmma_wait<0>();
      retire(acc, scratch1, s1, pipe, j_split);
    } else {
      ptx::wgmma_wait<0>();
      retire(acc, scratch0, s0, pipe, j_split);
    }
    pipe.advance(stages);
  }

  /// Waits for the stage at `at`, reads its scales and issues its K block into `scratch` (a second group
  /// in flight), then waits until only that group is pending.
  __device__ __forceinline__ Scales issue_next(float (&scratch)[kAcc], const PipelineState& at) const {
    ptx::barrier_wait(&full[at.stage], at.phase);
    const Scales s = load_scales(at.stage);
    issue(scratch, at.stage, 0);
    ptx::wgmma_wait<1>();
    return s;
  }

  /// The K block in `scratch` is complete: release its stage and promote it.
  __device__ __forceinline__ void retire(float (&acc)[1][kAcc], float (&scratch)[kAcc], const Scales& s,
                                         const PipelineState& at, int32_t j_split) const {
#pragma unroll
    for (int i = 0; i < kAcc; ++i) ptx::fence_register(scratch[i]);
    release(at.stage);
    promote<Shape>(acc[0], scratch, s.sa[0][0], s.sa[0][1], s.sb0, s.sb1, j_split);
  }
};

}  // namespace detail

/// kTrace: the diagnostic instantiation, which writes KernelParams::trace (bench_sm90_gemm --trace); the
/// production one has none of its code (a consumer-side stamp, even predicated off, changed the 256x128
/// main loop's scheduling and cost up to 4-9% at M = 4096).
template <class Shape, bool kTrace>
__global__ void __launch_bounds__(Shape::kThreads, 1)
    fp8_gemm_kernel(const __grid_constant__ CUtensorMap tma_a, const __grid_constant__ CUtensorMap tma_b,
                    const __grid_constant__ CUtensorMap tma_as, const __grid_constant__ CUtensorMap tma_d,
                    const __grid_constant__ KernelParams p) {
  using Wgmma = WgmmaFp8<Shape::kWgCols>;
  constexpr int kAcc = Wgmma::kAccumulators;
  constexpr int kBlockM = Shape::kBlockM, kBlockN = Shape::kBlockN;

  // Shared memory: [D staging (TMA-store epilogue only)][A stages][B stages][scale stages][full barriers]
  // [empty barriers][split K only: recv_full, recv_free barriers, receive area], 1024-byte aligned so that
  // TMA's 128-byte swizzle matches the wgmma descriptors.
  extern __shared__ uint8_t smem_raw[];
  // (Offsetting smem_raw, rather than rounding an integer, keeps the pointers known to be shared memory.)
  uint8_t* smem = smem_raw + ((1024u - (ptx::smem_addr(smem_raw) & 1023u)) & 1023u);
  const int stages = p.stages;
  uint8_t* smem_d = smem;
  uint8_t* smem_a = smem + (p.tma_store ? Shape::kDBytes : 0);
  uint8_t* smem_b = smem_a + stages * Shape::kABytes;
  float* smem_scales = reinterpret_cast<float*>(smem_b + stages * Shape::kBBytes);
  uint64_t* full = reinterpret_cast<uint64_t*>(smem_scales + stages * Shape::kScaleStride);
  uint64_t* empty = full + stages;

  const int warp = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x) / 32, 0);
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const uint32_t cluster_size = p.multicast ? 2u : p.split_k;
  const uint32_t cta_rank = cluster_size > 1 ? ptx::cluster_cta_rank() : 0u;
  const int32_t cluster_id = static_cast<int32_t>(blockIdx.x / cluster_size);
  const int32_t num_clusters = static_cast<int32_t>(gridDim.x / cluster_size);
  // Split K: the exchange's two barriers and receive area (16-byte aligned: the scale stages are 128-byte
  // multiples and the barriers come in pairs).
  uint64_t* recv_full = empty + stages;
  uint64_t* recv_free = recv_full + 1;
  uint8_t* recv = reinterpret_cast<uint8_t*>(recv_free + 1);
  constexpr int kProducerWarp = Shape::kMathWarpgroups * 4;
  constexpr int kScaleWarps = 3;  // producer warps 1-3

  const uint64_t entry_ns = kTrace ? ptx::global_timer_ns() : 0;  // stored once global writes are allowed
  // Start-up. The TMA thread initialises the barriers and issues its first tile's first `stages` K blocks
  // before it waits on the start-up barrier (after, with multicast, whose loads complete on the peer's
  // barriers too): its first loads leave 0.15-0.5 us sooner than after that barrier (Hopper v15). Every
  // other thread arrives and waits. (Issuing them before the barriers' cluster-scope release fence instead
  // made that fence wait for the loads to land: 1.7 us later for everyone else.)
  const bool tma_thread = warp == kProducerWarp && lane == 0;
  if (tma_thread) {
    ptx::tma_prefetch_descriptor(&tma_a);
    ptx::tma_prefetch_descriptor(&tma_b);
    if (p.a_scales_tma) ptx::tma_prefetch_descriptor(&tma_as);
    for (int s = 0; s < stages; ++s) {
      // The TMA thread's arrive.expect_tx, plus the B-scale thread's (A scales by TMA) or the 32 lanes of
      // a scale-copy warp (cp.async).
      ptx::barrier_init(&full[s], p.a_scales_tma ? 1 + 1 : 1 + 32);
      ptx::barrier_init(&empty[s], Shape::kMathWarpgroups * 4 * (p.multicast ? 2 : 1));
    }
    if (Shape::kSplitK && p.split_k > 1) {
      ptx::barrier_init(recv_full, 1);  // this CTA's arrive.expect_tx, then the senders' bytes
      ptx::barrier_init(recv_free, (p.split_k - 1) * Shape::kMathWarpgroups * 4);  // the other ranks' warps
    }
    ptx::barrier_init_fence();  // for the other threads and CTAs, with the start-up barrier
    ptx::fence_async_shared();  // for this thread's own TMA loads, which complete on these barriers
  }
  ptx::cluster_arrive_relaxed();
  const uint64_t barriers_ready_ns = kTrace && tma_thread ? ptx::global_timer_ns() : 0;
  // Each stage's `full` barrier expects the A and B tiles and, by TMA, the A scales: one arrive.expect_tx.
  const uint32_t stage_tx_bytes = Shape::kABytes + Shape::kBBytes + (p.a_scales_tma ? kBlockM * 4u : 0u);
  detail::FirstLoads first;  // the TMA thread's: its first tile's K blocks issued at start-up
  const detail::StageSmem stage_smem{smem_a, smem_b, smem_scales, full};
  if (p.multicast) ptx::cluster_wait();  // (one call site below: the loads' code exists once)
  if (tma_thread) {
    first = detail::issue_first_loads<Shape, kTrace>(p, &tma_a, &tma_b, &tma_as, stage_smem, stage_tx_bytes,
                                                     cluster_id, cta_rank);
  }
  if (!p.multicast) ptx::cluster_wait();
  const uint64_t set_up_ns = kTrace ? ptx::global_timer_ns() : 0;
  // Programmatic dependent launch: the set-up above may overlap the previous kernel in the stream; nothing
  // global (A, scales, bias, D; B too unless Overlap::weights) is touched before that kernel has completed
  // (issue_first_loads waits for it too). Then the next kernel may start its own set-up on the SMs this grid
  // leaves.
  wait_for_previous_grid();
  const uint64_t dependency_ns = kTrace ? ptx::global_timer_ns() : 0;
  // The next kernel may start its set-up now; under Overlap::weights only once this CTA's loads are all
  // issued (below), so that its early B loads fill this grid's tail instead of slowing its stream.
  if (p.overlap != Overlap::weights) allow_dependent_launch();
  if (kTrace) {
    detail::stamp(p, kTraceEntry, entry_ns, threadIdx.x == 0);
    detail::stamp(p, kTraceSetUp, set_up_ns, threadIdx.x == 0);
    detail::stamp(p, kTraceDependencyMet, dependency_ns, threadIdx.x == 0);
  }

  if (warp >= kProducerWarp) {
    // ---------------------------------------------------------------- producer warpgroup
    if constexpr (Shape::kMathWarpgroups == 2) ptx::warpgroup_registers_decrease<Shape::kProducerRegisters>();
    const int role = warp - kProducerWarp;  // 0: TMA, 1-3: scales of every third K block
    detail::PipelineState pipe;
    for (int32_t tile = cluster_id; tile < p.num_tiles; tile += num_clusters) {
      const TileCoord tc = tile_coord(p, tile);
      const int32_t m_block = detail::m_block_of(p, tc, cta_rank);
      const detail::KRange kr = detail::k_range(p, cta_rank);
      if (role == 0) {
        if (lane == 0) {
          const int32_t m0 = m_block * kBlockM;
          // Each CTA of a multicast pair loads half of the B tile's rows into both CTAs.
          const detail::BSource src = detail::b_source<Shape>(p, tc.n_block, cta_rank);
          // The first tile's first K blocks were issued at start-up, into stages 0, 1, ... of the first phase.
          int32_t kb = kr.begin;
          if (tile == cluster_id) {
            if (kTrace) {
              detail::stamp(p, kTraceTmaEntry, entry_ns, true);
              detail::stamp(p, kTraceBarriersReady, barriers_ready_ns, true);
              detail::stamp(p, kTraceFirstLoad, first.issued_ns, true);
            }
            for (; kb < first.end; ++kb) pipe.advance(stages);
          }
          for (; kb < kr.end; ++kb) {
            ptx::barrier_wait(&empty[pipe.stage], pipe.phase ^ 1u);
            detail::load_stage<Shape>(p, &tma_a, &tma_b, &tma_as, stage_smem, pipe.stage, stage_tx_bytes, m0, src,
                                      kb, detail::StageParts::all);
            pipe.advance(stages);
          }
          // (the first call from any thread of a CTA counts for the CTA)
          if (p.overlap == Overlap::weights && tile + num_clusters >= p.num_tiles) allow_dependent_launch();
        }
      } else if (p.a_scales_tma) {
        if (role == 1) {
          // With the A scales coming by TMA, warp 1 provides each K block's one or two B scales. Its lanes
          // load them for 32 K blocks at a time (lane l: the group's K block l; one memory latency per 32 K
          // blocks, inside the pipeline's lead), and lane l stores its pair and arrives, its release ordering
          // the stores. The whole warp waits for each stage, so it never diverges around a spinning wait
          // (a lane-0 wait followed by a shuffle made every K block take the warp's slow divergent path:
          // consumers starved for the B scales, 25-50% slower; BENCHMARKS.md, Hopper v6).
          const int32_t b_row = tc.n_block * kBlockN / 128;
          float b0 = 0.0f, b1 = 0.0f;  // this lane's K block of the current group of 32
          for (int32_t kb = kr.begin; kb < kr.end; ++kb, pipe.advance(stages)) {
            const int32_t slot = (kb - kr.begin) % 32;
            if (slot == 0 && kb + lane < kr.end) {
              const float* column = p.b_scales + (kb + lane) * p.bs_col_stride;
              b0 = b_row < p.num_b_scale_rows ? __ldg(column + b_row * p.bs_row_stride) : 0.0f;
              b1 = b_row + 1 < p.num_b_scale_rows ? __ldg(column + (b_row + 1) * p.bs_row_stride) : 0.0f;
            }
            ptx::barrier_wait(&empty[pipe.stage], pipe.phase ^ 1u);
            if (lane == slot) {
              float* scales = smem_scales + pipe.stage * Shape::kScaleStride;
              scales[kBlockM] = b0;
              scales[kBlockM + 1] = b1;
              ptx::barrier_arrive(&full[pipe.stage]);
            }
            __syncwarp();
          }
        }
      } else {
        // Three warps take turns, K block by K block: one warp copying every block ran at about one K block
        // per global-memory latency whatever the pipeline depth, which throttled the whole GEMM (17-20% at
        // M = 4096, BENCHMARKS.md Hopper v5). Each warp still waits for every stage to be free, its turn or
        // not: a warp that skipped waits could run two phases ahead, where a parity wait cannot tell them apart.
        const int32_t b_scale_row = tc.n_block * kBlockN / 128;
        for (int32_t kb = kr.begin; kb < kr.end; ++kb, pipe.advance(stages)) {
          ptx::barrier_wait(&empty[pipe.stage], pipe.phase ^ 1u);
          if ((kb - kr.begin) % kScaleWarps != role - 1) continue;
          float* scales = smem_scales + pipe.stage * Shape::kScaleStride;
          // A scales of the tile's rows (rows past M stay stale: they only feed rows that are not stored).
          for (int r = lane; r < kBlockM; r += 32) {
            const int32_t row = m_block * kBlockM + r;
            if (row < p.m) ptx::cp_async_4(scales + r, p.a_scales + row * p.as_row_stride + kb * p.as_col_stride);
          }
          // The tile's one or two B scales (a second block past N feeds only columns that are not stored).
          if (lane < 2 && b_scale_row + lane < p.num_b_scale_rows) {
            ptx::cp_async_4(scales + kBlockM + lane,
                            p.b_scales + (b_scale_row + lane) * p.bs_row_stride + kb * p.bs_col_stride);
          }
          ptx::cp_async_arrive_noinc(&full[pipe.stage]);
        }
      }
    }
    if (p.multicast) {
      // No CTA may exit while its peer can still multicast into it or arrive on its barriers.
      __syncwarp();
      ptx::cluster_sync();
    }
  } else {
    // ---------------------------------------------------------------- consumer warpgroups
    if constexpr (Shape::kMathWarpgroups == 2) {
      ptx::warpgroup_registers_increase<Shape::kConsumerRegisters>();
      if (kTrace) detail::stamp(p, kTraceRegistersReady, ptx::global_timer_ns(), threadIdx.x == 0);
    }
    const int wg = warp / 4;
    const int wg_m = wg / Shape::kWgN, wg_n = wg % Shape::kWgN;
    const int row_in_slice = (warp % 4) * 16 + lane / 4;  // fragment rows: this and this + 8
    const detail::Consumer<Shape> consumer{smem_a, smem_b, smem_scales, full, empty, stages, lane, wg_m, wg_n,
                                           row_in_slice,
                                           ptx::opaque(static_cast<uint32_t>(p.multicast != 0 && lane == 1)) != 0u,
                                           cta_rank ^ 1u};
    float scratch0[kAcc], scratch1[Shape::kDoubleBuffer ? kAcc : 1];
    float acc[Shape::kWaves][kAcc];
#pragma unroll
    for (int i = 0; i < kAcc; ++i) scratch0[i] = 0.0f;
#pragma unroll
    for (int i = 0; i < (Shape::kDoubleBuffer ? kAcc : 1); ++i) scratch1[i] = 0.0f;
    detail::PipelineState pipe;
    uint32_t parity = 0;  // split K: the tile's index in this CTA's sequence, mod 2 (the exchange's phases)

    for (int32_t tile = cluster_id; tile < p.num_tiles; tile += num_clusters, parity ^= 1u) {
      const TileCoord tc = tile_coord(p, tile);
      const int32_t m_block = detail::m_block_of(p, tc, cta_rank);
      const detail::KRange kr = detail::k_range(p, cta_rank);
      // B-scale split: this warpgroup's 8-column groups j >= j_split lie in the next 128-row block of B.
      const int32_t tile_col0 = tc.n_block * kBlockN;
      const int32_t j_split = (128 - tile_col0 % 128 - wg_n * Shape::kWgCols) / 8;

#pragma unroll
      for (int w = 0; w < Shape::kWaves; ++w) {
#pragma unroll
        for (int i = 0; i < kAcc; ++i) acc[w][i] = 0.0f;
      }
      if (kTrace && tile == cluster_id && kr.begin < kr.end) {
        ptx::barrier_wait(&full[pipe.stage], pipe.phase);  // (waited for again, at once, by the K loop)
        detail::stamp(p, kTraceFirstData, ptx::global_timer_ns(), threadIdx.x == 0);
        detail::stamp(p, kTraceClockFirstData, clock64(), threadIdx.x == 0);
      }
      if constexpr (Shape::kDoubleBuffer) {
        consumer.run_double(acc, scratch0, scratch1, pipe, kr, j_split);
      } else {
        consumer.run_single(acc, scratch0, pipe, kr, j_split);
      }
      if (kTrace) {
        detail::stamp(p, kTraceMainLoopDone, ptx::global_timer_ns(), threadIdx.x == 0);
        detail::stamp(p, kTraceClockLoopDone, clock64(), threadIdx.x == 0);
      }

      // Split K (never with the TMA-store epilogue): consumer warp u's rows are finished by the CTA of rank
      // u % split, which adds the other CTAs' partials to its own (sm90_fp8_gemm_split_k.cuh).
      bool store = true;
      if constexpr (Shape::kSplitK) {
        if (p.split_k > 1) {
          const detail::SplitKExchange<Shape> exchange{recv, recv_full, recv_free, p.split_k, cta_rank};
          store = exchange.owner(warp) == cta_rank;
          const bool probe = kTrace && warp == static_cast<int>(cta_rank);  // a unit this rank finishes
          if (store) {
            exchange.reduce(acc, warp, parity, [&] {
              if (probe) detail::stamp(p, kTraceReceived, ptx::global_timer_ns(), lane == 0);
            });
          } else {
            exchange.push(acc, warp, parity);
          }
          if (probe) {
            float sum = 0.0f;  // the stamp waits for every load and add
#pragma unroll
            for (int i = 0; i < kAcc; ++i) sum += acc[0][i];
            detail::stamp(p, kTraceReduced, ptx::global_timer_ns_after(sum), lane == 0);
          }
          if (tile + num_clusters < p.num_tiles) exchange.release();
        }
      }

      const int32_t row_base = ptx::opaque(m_block * kBlockM + wg_m * 64 + row_in_slice);
      const int32_t col_base = ptx::opaque(tile_col0 + wg_n * Shape::kWgCols);
      if (m_block < p.num_m_blocks && store) {
        if (p.tma_store) {
          uint8_t* staging = smem_d + wg * (Shape::kDBytes / Shape::kMathWarpgroups);
          const int32_t row0 = m_block * kBlockM + wg_m * 64;
          if (p.out == OutKind::bf16) {
            detail::store_tile_tma<Shape, OutKind::bf16>(p, &tma_d, acc, staging, row0, col_base, wg);
          } else {
            detail::store_tile_tma<Shape, OutKind::f16>(p, &tma_d, acc, staging, row0, col_base, wg);
          }
        } else {
          switch (p.out) {
            case OutKind::bf16: detail::store_tile<Shape, OutKind::bf16>(p, acc, row_base, col_base); break;
            case OutKind::f16: detail::store_tile<Shape, OutKind::f16>(p, acc, row_base, col_base); break;
            case OutKind::f32: detail::store_tile<Shape, OutKind::f32>(p, acc, row_base, col_base); break;
          }
        }
      }
      if (kTrace) detail::stamp(p, kTraceEpilogueDone, ptx::global_timer_ns(), threadIdx.x == 0);
    }
    // Bulk stores must finish reading shared memory before the CTA exits.
    if (p.tma_store && threadIdx.x % 128 == 0) ptx::bulk_wait();
    if (p.multicast) ptx::cluster_sync();
    if (kTrace) {
      const bool first = threadIdx.x == 0;
      detail::stamp(p, kTraceExit, ptx::global_timer_ns(), first);
      detail::stamp(p, kTraceTiles, cluster_id < p.num_tiles ? (p.num_tiles - 1 - cluster_id) / num_clusters + 1 : 0,
                    first);
      detail::stamp(p, kTraceSm, ptx::sm_id(), first);
    }
  }
}

}  // namespace fp8kit::cuda::sm90
