// sm90_fp8_gemm_tile_64x64.cu: the 64 x 64 tile of the Hopper FP8 GEMM (1 x 1 consumer warpgroups).
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_64x64() { return make_tile_config<TileShape<64, 64, 1, 1>>("64x64"); }

}  // namespace fp8kit::cuda::sm90
