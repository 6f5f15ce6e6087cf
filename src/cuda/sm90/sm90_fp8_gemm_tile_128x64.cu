// sm90_fp8_gemm_tile_128x64.cu: the 128 x 64 tile of the Hopper FP8 GEMM (2 x 1 consumer warpgroups, one
// 64 x 64 slice each). At M = 128 it reads each B tile once where two 64x64 tiles read it twice, and its two
// warpgroups promote their K blocks side by side, where one 64x64 warpgroup's promotion loop is latency-bound.
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_128x64() { return make_tile_config<TileShape<128, 64, 2, 1>>("128x64"); }

}  // namespace fp8kit::cuda::sm90
