// sm90_fp8_gemm_tile_256x128.cu: the 256 x 128 tile of the Hopper FP8 GEMM (2 x 1 consumer warpgroups).
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_256x128() { return make_tile_config<TileShape<256, 128, 2, 1>>("256x128"); }

}  // namespace fp8kit::cuda::sm90
