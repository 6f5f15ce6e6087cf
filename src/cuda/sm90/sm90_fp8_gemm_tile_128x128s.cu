// sm90_fp8_gemm_tile_128x128s.cu: the 128 x 128 tile with a single scratch accumulator per warpgroup (the
// two consumer warpgroups alone overlap promotion and wgmma), to compare with the double-buffered 128x128.
#include "cuda/sm90/sm90_fp8_gemm_launch.cuh"

namespace fp8kit::cuda::sm90 {

TileConfig tile_config_128x128s() { return make_tile_config<TileShape<128, 128, 2, 1, false>>("128x128s"); }

}  // namespace fp8kit::cuda::sm90
