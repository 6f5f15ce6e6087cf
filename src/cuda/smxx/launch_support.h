// launch_support.h: host-side helpers of the smxx launchers: device and alignment checks behind
// supports_* (pointer checks: cuda/common/pointer_check.h), cached device facts, and splitting a launch
// so its 32-bit indices fit.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <utility>

#include "cuda/common/cuda_check.h"
#include "cuda/common/device_guard.h"
#include "fp8kit/error.h"
#include "fp8kit/tensor.h"

namespace fp8kit::cuda::smxx {

/// What a launch needs besides its arguments.
struct LaunchContext {
  cudaStream_t stream = nullptr;
  int device = 0;
  int multiprocessors = 1;
  bool dependent_launch = false;  // sm_90 and later: programmatic dependent launch (launch_dependent)
};

/// Launches `kernel` (grid x block, no dynamic shared memory) on c.stream; where c.dependent_launch, with
/// programmatic stream serialization: the kernel may be scheduled while the kernel ahead of it finishes,
/// and must call wait_for_previous_grid() (cuda/common/dependent_launch.cuh) before touching memory.
template <class... Params, class... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, const LaunchContext& c, Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.stream = c.stream;
  cudaLaunchAttribute attribute;
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  config.attrs = &attribute;
  config.numAttrs = c.dependent_launch ? 1 : 0;
  FP8KIT_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

LaunchContext launch_context(const Device& device, void* stream);

/// Why `device` cannot run the smxx kernels (not a CUDA device, no such ordinal, below sm_80), or ok.
Verdict check_device(const Device& device, const char* op);

/// True when the stream-ordered allocator (cudaMallocAsync) works on the device.
bool has_memory_pools(int ordinal);

/// True when a matrix of `elem_bytes`-byte elements at `data` with row stride `ld` (elements) can be
/// accessed in `bytes`-wide vectors at every column that is a multiple of bytes / elem_bytes.
bool rows_aligned(const void* data, int64_t ld, int64_t rows, int elem_bytes, int bytes);

/// Largest count a 32-bit kernel index may reach (kept well below 2^31 so sums do not wrap).
inline constexpr int64_t kMaxIndex32 = int64_t{1} << 30;

/// Calls launch(first_row, row_count) over [0, rows) in pieces of at most max(1, kMaxIndex32 /
/// units_per_row) rows, so that row_count * units_per_row stays below kMaxIndex32 per launch.
void for_each_row_range(int64_t rows, int64_t units_per_row, const std::function<void(int64_t, int64_t)>& launch);

/// Blocks for `units` of work at `units_per_block`, at most `cap` (grid-stride kernels loop over the rest).
uint32_t grid_blocks(int64_t units, int64_t units_per_block, int64_t cap);

}  // namespace fp8kit::cuda::smxx
