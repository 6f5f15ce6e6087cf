// sm90_fp8_gemm_tiles.h: the compiled tile shapes of the Hopper FP8 GEMM kernel, as seen from host code.
// Each shape is one instantiation in its own sm90_fp8_gemm_tile_<M>x<N>.cu (compiled for sm_90a only).
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <span>

#include "cuda/sm90/sm90_fp8_gemm_params.h"

namespace fp8kit::cuda::sm90 {

/// One compiled tile shape and its host entry points.
struct TileConfig {
  const char* name = "";  // "<BLOCK_M>x<BLOCK_N>"
  int block_m = 0, block_n = 0;
  int math_warpgroups = 0;
  int stage_bytes = 0;     // shared memory per pipeline stage (A, B, scales, two mbarriers)
  int col_groups = 0;      // 8-column groups of each consumer warpgroup's accumulator fragment
  int split_k_units = 0;   // consumer warps, the units of the split-K exchange; 0: the tile has no split K
  int d_staging_bytes = 0;   // shared memory of the TMA-store epilogue (a bf16/f16 tile)
  int store_chunk_cols = 0;  // columns per TMA store box (64, 32 or 16: a 128-, 64- or 32-byte swizzle)
  /// Launches the kernel on the current device. `cluster` CTAs per cluster along x (1: none). `as` is read
  /// only with p.a_scales_tma, `d` only with p.tma_store.
  void (*launch)(const CUtensorMap& a, const CUtensorMap& b, const CUtensorMap& as, const CUtensorMap& d,
                 const KernelParams& p, int grid, int cluster, size_t smem_bytes, cudaStream_t stream) = nullptr;
  /// How many clusters of `cluster` CTAs with `smem_bytes` of shared memory fit on the current device at once.
  int (*max_active_clusters)(int cluster, size_t smem_bytes) = nullptr;
};

/// Shared memory of a launch with `stages` pipeline stages, with or without the D staging tile, with the
/// receive area of a `split`-way split K (two mbarriers and split - 1 slots), plus 1024 bytes for the
/// alignment of the base.
inline size_t smem_bytes_for(const TileConfig& t, int stages, bool tma_store, int split) {
  const size_t receive =
      split > 1 ? 16 + static_cast<size_t>(split - 1) *
                           static_cast<size_t>(split_k_slot_bytes(t.split_k_units, t.col_groups, split))
                : 0;
  return 1024 + (tma_store ? static_cast<size_t>(t.d_staging_bytes) : 0) +
         static_cast<size_t>(stages) * static_cast<size_t>(t.stage_bytes) + receive;
}

TileConfig tile_config_64x64();
TileConfig tile_config_64x128();
TileConfig tile_config_64x192();
TileConfig tile_config_128x64();
TileConfig tile_config_128x128();
TileConfig tile_config_128x160();
TileConfig tile_config_128x192();
TileConfig tile_config_256x128();

/// All compiled shapes.
std::span<const TileConfig> tile_configs();

}  // namespace fp8kit::cuda::sm90
