// sm90_fp8_gemm_tiles.cpp: the table of compiled tile shapes.
#include <array>

#include "cuda/sm90/sm90_fp8_gemm_tiles.h"

namespace fp8kit::cuda::sm90 {

std::span<const TileConfig> tile_configs() {
  // Decode-sized M: 64-row tiles, one consumer warpgroup (two along N for 64x256), usually with split K.
  // Larger M: two consumer warpgroups along M; 256x128 runs two 64-row waves per warpgroup. The 64-row
  // tiles double-buffer their scratch accumulators (see TileShape::kDoubleBuffer).
  static const std::array<TileConfig, 8> table = {
      tile_config_64x112(),  tile_config_64x128(),  tile_config_64x192(),  tile_config_64x256(),
      tile_config_128x128(), tile_config_128x160(), tile_config_128x192(), tile_config_256x128(),
  };
  return table;
}

}  // namespace fp8kit::cuda::sm90
