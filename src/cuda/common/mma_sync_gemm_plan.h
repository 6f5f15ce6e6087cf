// mma_sync_gemm_plan.h: host-side planning of the portable mma.sync GEMMs (cuda_fp8_mma on sm_89+,
// cuda_bf16_mma on sm_80+), shared by sm80/ and sm89/. The kernel itself is mma_sync_gemm_tile.cuh.
//
// Tiling: a CTA computes a BM x 128 tile of D (BM = 128, or 32 for M <= 64) over K blocks of 128
// (one block-scale step each), with a multi-stage cp.async pipeline. When the tiles cannot fill the GPU
// (small M or small N), K is split across CTAs; each split writes fp32 partial sums to the stream's
// workspace and a reduce kernel adds them in split order, so results stay deterministic.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/problem.h"
#include "fp8kit/error.h"

namespace fp8kit::cuda::mma_sync {

inline constexpr int kTileN = 128;       // D columns per CTA (= block_n of the weight scales)
inline constexpr int kTileK = 128;       // K elements (bytes) per pipeline stage (= block_k)
inline constexpr int kMaxStages = 4;
inline constexpr int kMaxSplits = 16;
inline constexpr int kMinKBlocksPerSplit = 4;

/// The two CTA shapes. large: 128 x 128, 8 warps (2 x 4, 64 x 32 each). small: 32 x 128, 4 warps
/// (1 x 4, 32 x 32 each), for M <= 64, where a 128-row tile would multiply mostly zero padding.
enum class TileShape : uint8_t { large, small };

/// Everything the kernel reads, by value (a __global__ parameter). Output/bias dtypes are runtime
/// switches in the epilogue, so each architecture compiles only two main kernels.
struct MmaGemmParams {
  const uint8_t* a;  // [M, K] fp8, row stride lda bytes
  const uint8_t* b;  // [N, K] fp8, row stride ldb bytes
  const float* a_scales;  // block: As[m, kb] at m*as_row + kb*as_col; row: As[m] at m*as_row
  const float* b_scales;  // block: Bs[nb, kb] at nb*bs_row + kb*bs_col; row: Bs[n] at n*bs_row
  const void* bias;       // [N] or nullptr
  void* d;                // [M, N], row stride ldd elements
  float* partial;         // split-K: [splits, M, N] fp32 partial sums (workspace); else nullptr
  int64_t lda, ldb, ldd;
  int64_t as_row, as_col, bs_row, bs_col;
  int m, n, k;
  int num_kblocks;         // ceil(K / 128)
  int kblocks_per_split;
  int splits;              // gridDim.y
  int tiles_m, tiles_n;    // gridDim.x = tiles_m * tiles_n
  int stages;              // 2..kMaxStages, fitted to the device's shared memory
  int row_scaling;         // 1: row scales applied once at the end; 0: block scales per K block
  int aligned_loads;       // 1: A and B rows are 16-byte aligned (cp.async); 0: byte loads
  int vector_stores;       // 1: D rows allow storing two adjacent elements at once
  int out_dtype;           // DType of D (f32, f16, bf16)
  int bias_dtype;          // DType of the bias
  uint32_t a_shift, b_shift;  // f16 widening (sm80): 1 for e4m3fn, 0 for e5m2
  float operand_scale;        // f16 widening: 2^8 per e4m3fn operand (its f16 image is value * 2^-8); else 1
};

struct MmaGemmPlan {
  MmaGemmParams params{};
  TileShape tile = TileShape::large;
  int threads = 256;
  unsigned grid_x = 1, grid_y = 1;
  size_t smem_bytes = 0;
  size_t workspace_bytes = 0;  // split-K partial sums
};

/// Why a portable mma.sync GEMM cannot run `p` on its device: compute capability below `min_cc`,
/// scaling granularity other than 128 x 128 blocks, `fp8_e4m3_only` and an e5m2 operand, or sizes
/// beyond 32-bit indexing.
Verdict check_mma_gemm(const core::GemmProblem& p, int min_cc, bool fp8_e4m3_only);

/// The launch plan for `p` on its device. `widen_to_f16` sets the f16 widening fields.
MmaGemmPlan plan_mma_gemm(const core::GemmProblem& p, bool widen_to_f16);

/// Shared memory of one pipeline stage for a tile shape (A tile + B tile + scales).
size_t stage_bytes(TileShape tile);

}  // namespace fp8kit::cuda::mma_sync
