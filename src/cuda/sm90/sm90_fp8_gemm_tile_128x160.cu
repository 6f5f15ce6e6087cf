// sm90_fp8_gemm_tile_128x160.cu: the 128 x 160 tile of the Hopper FP8 GEMM (2 x 1 consumer warpgroups).
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_128x160() { return make_tile_config<TileShape<128, 160, 2, 1>>("128x160"); }

}  // namespace fp8kit::cuda::sm90
