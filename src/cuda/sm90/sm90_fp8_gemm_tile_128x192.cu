// sm90_fp8_gemm_tile_128x192.cu: the 128 x 192 tile of the Hopper FP8 GEMM (2 x 1 consumer warpgroups).
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_128x192() { return make_tile_config<TileShape<128, 192, 2, 1>>("128x192"); }

}  // namespace fp8kit::cuda::sm90
