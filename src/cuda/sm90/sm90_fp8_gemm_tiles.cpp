// sm90_fp8_gemm_tiles.cpp: the table of compiled tile shapes.
#include <array>

#include "cuda/sm90/sm90_fp8_gemm_tiles.h"

namespace fp8kit::cuda::sm90 {

std::span<const TileConfig> tile_configs() {
  // Decode-sized M: 64-row tiles, one consumer warpgroup, usually with split K. Larger M: two consumer
  // warpgroups along M; 256x128 runs two 64-row waves per warpgroup. The 64-row tiles double-buffer their
  // scratch accumulators (see TileShape::kDoubleBuffer). 64x64 gives a decode-sized launch twice the tiles
  // of 64x128, so more SMs stream the weight, with less split K or none: at M = 64 on an H200 it ran
  // 0.4-0.8 us (3-6%) faster at N = 2112, 4096 and 7168 with K = 2048-7168 (BENCHMARKS.md, Hopper v14).
  // 128x64 gives M = 128-512 the narrow tiles of 64x64 with two warpgroups promoting side by side and each
  // B tile read once: 128 x 4096 x 7168 8-10% and 128 x 2112 x 7168 4-5% faster than 64-row tiles (Hopper v18).
  // (A 128x96 tile, two tiles per CTA at 128 x 24576 x 1536, beat 128x192 there by 2%, lost 4-60% everywhere
  // else in a sweep of M = 64-512, and the planner never chose it; Hopper v18.)
  // (A 64x112 tile, to fill the SMs where N / 128 leaves some idle, lost 5-10% to 64x128 wherever the
  // planner chose it and never won by more than 2%: BLOCK_N not a multiple of 32 costs 16-column store
  // boxes and split B-scale blocks; BENCHMARKS.md, Hopper v8. A 64x256 tile (two consumer warpgroups along
  // N, one tile per CTA at M = 64) was the planner's choice at 64 x 32768 x 512 in all eleven stored sweeps
  // and ran up to 11% (median 4%) behind 64x128 there; it was the best plan of a case only at
  // 64 x 24576 x 1536 on the H200, by 1-2%; Hopper v9.)
  static const std::array<TileConfig, 8> table = {
      tile_config_64x64(),   tile_config_64x128(),  tile_config_64x192(),  tile_config_128x64(),
      tile_config_128x128(), tile_config_128x160(), tile_config_128x192(), tile_config_256x128(),
  };
  return table;
}

}  // namespace fp8kit::cuda::sm90
