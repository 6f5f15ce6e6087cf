// sm90_fp8_gemm_tile_64x256.cu: the 64 x 256 tile of the Hopper FP8 GEMM (1 x 2 consumer warpgroups).
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_64x256() { return make_tile_config<TileShape<64, 256, 1, 2>>("64x256"); }

}  // namespace fp8kit::cuda::sm90
