// sm90_fp8_gemm_tile_128x128.cu: the 128 x 128 tile of the Hopper FP8 GEMM (2 x 1 consumer warpgroups). Its
// two warpgroups overlap each other's promotion, so each keeps a single scratch accumulator (measured on
// H200: double-buffering it was 4% slower).
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_128x128() { return make_tile_config<TileShape<128, 128, 2, 1, false>>("128x128"); }

}  // namespace fp8kit::cuda::sm90
