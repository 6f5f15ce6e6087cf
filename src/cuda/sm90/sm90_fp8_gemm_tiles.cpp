// sm90_fp8_gemm_tiles.cpp: the table of compiled tile shapes.
#include <array>

#include "cuda/sm90/sm90_fp8_gemm_tiles.h"

namespace fp8kit::cuda::sm90 {

std::span<const TileConfig> tile_configs() {
  // Decode-sized M: 64-row tiles, one consumer warpgroup (two along N for 64x256), usually with split K.
  // Larger M: two consumer warpgroups along M; 256x128 runs two 64-row waves per warpgroup. The 64-row
  // tiles double-buffer their scratch accumulators (see TileShape::kDoubleBuffer).
  // (A 64x112 tile, to fill the SMs where N / 128 leaves some idle, lost 5-10% to 64x128 wherever the
  // planner chose it and never won by more than 2%: BLOCK_N not a multiple of 32 costs 16-column store
  // boxes and split B-scale blocks; BENCHMARKS.md, Hopper v8.)
  static const std::array<TileConfig, 7> table = {
      tile_config_64x128(),  tile_config_64x192(),  tile_config_64x256(),  tile_config_128x128(),
      tile_config_128x160(), tile_config_128x192(), tile_config_256x128(),
  };
  return table;
}

}  // namespace fp8kit::cuda::sm90
