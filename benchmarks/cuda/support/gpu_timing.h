// gpu_timing.h: what the GPU benchmarks need to time kernels with CUDA events.
//  - hold_stream keeps a stream's GPU busy while the host queues the launches to be timed, so that the
//    events around each launch time the GPU's work, not the host's launch overhead: a decode-sized GEMM
//    runs for about as long as the host needs to encode its tensor maps and launch it, and without a hold
//    the GPU would wait for the host between launches, inside the event pair.
//  - launch_empty_kernel is the floor of that method: an event pair around a kernel that does nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace fp8kit::bench {

/// Queues a one-thread kernel on `stream` that spins for `microseconds` of GPU time.
void hold_stream(cudaStream_t stream, uint64_t microseconds);

/// Queues a one-block kernel that returns at once.
void launch_empty_kernel(cudaStream_t stream);

}  // namespace fp8kit::bench
