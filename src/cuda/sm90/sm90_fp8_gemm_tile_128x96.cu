// sm90_fp8_gemm_tile_128x96.cu: the 128 x 96 tile of the Hopper FP8 GEMM (2 x 1 consumer warpgroups, one
// double-buffered 64 x 96 slice each).
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_128x96() { return make_tile_config<TileShape<128, 96, 2, 1>>("128x96"); }

}  // namespace fp8kit::cuda::sm90
