// sm90_fp8_gemm_launch.cuh: host entry points of one tile shape (launch, occupancy), instantiated by each
// sm90_fp8_gemm_tile_*.cu.
#pragma once

#include <atomic>
#include <cstdint>

#include "cuda/common/cuda_check.h"
#include "cuda/sm90/sm90_fp8_gemm_kernel.cuh"
#include "cuda/sm90/sm90_fp8_gemm_tiles.h"

namespace fp8kit::cuda::sm90 {
namespace detail {

/// Raises the kernels' (production and trace) dynamic shared-memory limit to the device maximum, once per
/// device.
template <class Shape>
void allow_max_shared_memory() {
  static std::atomic<uint64_t> done_devices{0};
  int device = 0;
  FP8KIT_CUDA_CHECK(cudaGetDevice(&device));
  const uint64_t bit = device < 64 ? (uint64_t{1} << device) : 0;
  if (bit != 0 && (done_devices.load(std::memory_order_acquire) & bit) != 0) return;
  int max_optin = 0;
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&max_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  for (const void* kernel : {reinterpret_cast<const void*>(fp8_gemm_kernel<Shape, false>),
                             reinterpret_cast<const void*>(fp8_gemm_kernel<Shape, true>)}) {
    FP8KIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, max_optin));
  }
  done_devices.fetch_or(bit, std::memory_order_acq_rel);
}

/// The launch of `grid` CTAs in clusters of `cluster`; with `overlap` other than none, with programmatic
/// stream serialization: the kernel may begin while the previous kernel in the stream finishes (it waits for
/// it before touching global memory, sm90_fp8_gemm_kernel.cuh), so a decode step's chain of kernels does not
/// pay each launch's set-up in turn.
template <class Shape>
cudaLaunchConfig_t launch_config(int grid, int cluster, size_t smem_bytes, Overlap overlap, cudaStream_t stream,
                                 cudaLaunchAttribute (&attributes)[2]) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(grid), 1, 1);
  config.blockDim = dim3(Shape::kThreads, 1, 1);
  config.dynamicSmemBytes = smem_bytes;
  config.stream = stream;
  attributes[0].id = cudaLaunchAttributeClusterDimension;
  attributes[0].val.clusterDim.x = static_cast<unsigned>(cluster);
  attributes[0].val.clusterDim.y = 1;
  attributes[0].val.clusterDim.z = 1;
  attributes[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attributes[1].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attributes;
  config.numAttrs = overlap == Overlap::none ? 1 : 2;
  return config;
}

template <class Shape>
void launch(const CUtensorMap& a, const CUtensorMap& b, const CUtensorMap& as, const CUtensorMap& d,
            const KernelParams& p, int grid, int cluster, size_t smem_bytes, cudaStream_t stream) {
  allow_max_shared_memory<Shape>();
  cudaLaunchAttribute attributes[2];
  const cudaLaunchConfig_t config = launch_config<Shape>(grid, cluster, smem_bytes, p.overlap, stream, attributes);
  if (p.trace != nullptr) {
    FP8KIT_CUDA_CHECK(cudaLaunchKernelEx(&config, fp8_gemm_kernel<Shape, true>, a, b, as, d, p));
  } else {
    FP8KIT_CUDA_CHECK(cudaLaunchKernelEx(&config, fp8_gemm_kernel<Shape, false>, a, b, as, d, p));
  }
}

template <class Shape>
int max_active_clusters(int cluster, size_t smem_bytes) {
  allow_max_shared_memory<Shape>();
  cudaLaunchAttribute attributes[2];
  const cudaLaunchConfig_t config = launch_config<Shape>(cluster, cluster, smem_bytes, Overlap::none, nullptr, attributes);
  int clusters = 0;
  FP8KIT_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, fp8_gemm_kernel<Shape, false>, &config));
  return clusters;
}

}  // namespace detail

template <class Shape>
TileConfig make_tile_config(const char* name) {
  TileConfig t;
  t.name = name;
  t.block_m = Shape::kBlockM;
  t.block_n = Shape::kBlockN;
  t.math_warpgroups = Shape::kMathWarpgroups;
  t.stage_bytes = Shape::kABytes + Shape::kBBytes + Shape::kScaleStride * 4 + 2 * 8;
  t.col_groups = Shape::kColGroups;
  t.split_k_units = Shape::kSplitK ? Shape::kMathWarpgroups * 4 : 0;
  t.d_staging_bytes = Shape::kDBytes;
  t.store_chunk_cols = Shape::kChunkCols;
  t.launch = &detail::launch<Shape>;
  t.max_active_clusters = &detail::max_active_clusters<Shape>;
  return t;
}

}  // namespace fp8kit::cuda::sm90
