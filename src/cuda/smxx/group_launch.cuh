// group_launch.cuh: launches smxx_quantize_group_kernel for any loader (plain input or fused SiLU-mul):
// grid sizing and the split into 32-bit index ranges.
#pragma once

#include "cuda/common/cuda_check.h"
#include "cuda/smxx/launch_support.h"
#include "cuda/smxx/quantize_group.cuh"

namespace fp8kit::cuda::smxx {

/// Lanes per group for a group of `group` elements of `vector_width` per 16 bytes, or 0 when the group
/// kernel cannot hold such groups (4 vectors per lane, a power of two of lanes, at most 32).
inline uint32_t group_lanes(int64_t group, int64_t vector_width) {
  const int64_t per_lane = vector_width * kGroupVectorsPerLane;
  const int64_t lanes = group / per_lane;
  const bool ok = group % per_lane == 0 && lanes >= 1 && lanes <= 32 && (lanes & (lanes - 1)) == 0;
  return ok ? static_cast<uint32_t>(lanes) : 0u;
}

/// Activations are quantized between two GEMMs: the kernel is launched as a dependent one (it may start
/// while the kernel ahead of it finishes, and waits for it) and lets the GEMM after it start early too.
template <class Loader, Fp8Format F, uint32_t kLog2Lanes>
void launch_group_walk(const GroupParams& p, dim3 grid, dim3 block, const LaunchContext& c) {
  if (p.m_major) {
    launch_dependent(smxx_quantize_group_kernel<Loader, F, true, kLog2Lanes>, grid, block, c, p);
  } else {
    launch_dependent(smxx_quantize_group_kernel<Loader, F, false, kLog2Lanes>, grid, block, c, p);
  }
}

/// The kernel for p.log2_lanes_per_group (0 to 5).
template <class Loader, Fp8Format F>
void launch_group_lanes(const GroupParams& p, dim3 grid, dim3 block, const LaunchContext& c) {
  switch (p.log2_lanes_per_group) {
    case 0: return launch_group_walk<Loader, F, 0>(p, grid, block, c);
    case 1: return launch_group_walk<Loader, F, 1>(p, grid, block, c);
    case 2: return launch_group_walk<Loader, F, 2>(p, grid, block, c);
    case 3: return launch_group_walk<Loader, F, 3>(p, grid, block, c);
    case 4: return launch_group_walk<Loader, F, 4>(p, grid, block, c);
    default: return launch_group_walk<Loader, F, 5>(p, grid, block, c);
  }
}

/// `p` is complete except for row_begin and rows; `lanes` comes from group_lanes. `rows` is the
/// matrix's row count.
template <class Loader>
void launch_group_kernel(GroupParams p, uint32_t lanes, int64_t rows, Fp8Format format, const LaunchContext& c) {
  while ((1u << p.log2_lanes_per_group) < lanes) ++p.log2_lanes_per_group;
  for_each_row_range(rows, p.groups_per_row, [&](int64_t first, int64_t count) {
    p.row_begin = static_cast<uint32_t>(first);
    p.rows = static_cast<uint32_t>(count);
    // Column-major scales walk bands of 32 / lanes rows (quantize_group.cuh): round the rows up to a band.
    const int64_t band = 32 / lanes;
    const int64_t walked_rows = p.m_major ? (count + band - 1) / band * band : count;
    const int64_t threads_needed = walked_rows * p.groups_per_row * lanes;
    // 256 threads per block, fewer while that leaves under two blocks per multiprocessor: small inputs
    // are latency-bound and finish sooner spread over more multiprocessors.
    int64_t threads = kGroupMaxThreads;
    while (threads > 64 && threads_needed < 2 * c.multiprocessors * threads) threads /= 2;
    const uint32_t blocks = grid_blocks(threads_needed, threads, kMaxIndex32);
    const dim3 grid(blocks), block(static_cast<uint32_t>(threads));
    if (format == Fp8Format::e5m2) {
      launch_group_lanes<Loader, Fp8Format::e5m2>(p, grid, block, c);
    } else {
      launch_group_lanes<Loader, Fp8Format::e4m3fn>(p, grid, block, c);
    }
    FP8KIT_CUDA_CHECK_LAUNCH("smxx_quantize_group_kernel");
  });
}

}  // namespace fp8kit::cuda::smxx
