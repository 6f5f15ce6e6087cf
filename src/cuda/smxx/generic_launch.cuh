// generic_launch.cuh: launches smxx_quantize_generic_kernel for any scalar loader, in pieces of at
// most kMaxIndex32 tiles.
#pragma once

#include <algorithm>

#include "cuda/common/cuda_check.h"
#include "cuda/smxx/launch_support.h"
#include "cuda/smxx/quantize_generic.cuh"

namespace fp8kit::cuda::smxx {

/// `p` is complete except for tile_begin and tile_count.
template <class Loader>
void launch_generic_kernel(GenericParams p, Fp8Format format, const LaunchContext& c) {
  const int64_t tiles = p.grid_rows * p.grid_cols;
  for (int64_t first = 0; first < tiles; first += kMaxIndex32) {
    p.tile_begin = first;
    p.tile_count = std::min(kMaxIndex32, tiles - first);
    const uint32_t blocks = grid_blocks(p.tile_count, kGenericWarps, kMaxIndex32);
    if (format == Fp8Format::e5m2) {
      smxx_quantize_generic_kernel<Loader, Fp8Format::e5m2><<<blocks, kGenericThreads, 0, c.stream>>>(p);
    } else {
      smxx_quantize_generic_kernel<Loader, Fp8Format::e4m3fn><<<blocks, kGenericThreads, 0, c.stream>>>(p);
    }
    FP8KIT_CUDA_CHECK_LAUNCH("smxx_quantize_generic_kernel");
  }
}

}  // namespace fp8kit::cuda::smxx
