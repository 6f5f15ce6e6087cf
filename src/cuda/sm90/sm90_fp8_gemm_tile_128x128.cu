// sm90_fp8_gemm_tile_128x128.cu: the 128 x 128 tile of the Hopper FP8 GEMM (2 x 1 consumer warpgroups), with
// double-buffered scratch accumulators: its consumer loop alone reaches 99.4% of the FP8 peak against 84% with
// one, and in the GEMM it ran faster than a single-buffered 128x128 on 65 of the 88 plans timed both ways
// (median 3%; H200, BENCHMARKS.md Hopper v6). Single buffering had won while the scale copies throttled the
// pipeline.
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_128x128() { return make_tile_config<TileShape<128, 128, 2, 1>>("128x128"); }

}  // namespace fp8kit::cuda::sm90
