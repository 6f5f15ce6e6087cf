// gpu_timing.h: what the GPU benchmarks need to time kernels with CUDA events.
//  - hold_stream keeps a stream's GPU busy while the host queues the launches to be timed, so that the
//    events around each launch time the GPU's work, not the host's launch overhead: a decode-sized GEMM
//    runs for about as long as the host needs to encode its tensor maps and launch it, and without a hold
//    the GPU would wait for the host between launches, inside the event pair.
//  - launch_empty_kernel is the floor of that method: an event pair around a kernel that does nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace fp8kit::bench {

/// Queues a one-thread kernel on `stream` that spins for `microseconds` of GPU time.
void hold_stream(cudaStream_t stream, uint64_t microseconds);

/// Queues a kernel that reads `bytes` (a multiple of 16) at `buffer` and writes nothing (unless the sum of
/// what it read is NaN, which zeroed memory never gives): with `bytes` several times the L2, it leaves L2 full
/// of clean lines of that buffer, as a DRAM-bound kernel ahead of the timed one would. last_exit (nullable):
/// where the kernel leaves the %globaltimer of its last block's exit (atomicMax). prefer_l1: the kernel asks
/// for the smallest shared-memory carveout (most L1) and 16 KB of shared memory per block, as a library's
/// block reduction runs, instead of no preference and 2 KB.
void read_through_l2(cudaStream_t stream, const void* buffer, size_t bytes, unsigned long long* last_exit,
                     bool prefer_l1);

/// Queues a kernel whose every block runs 8192 distinct instructions once (128 KB of code), one block per
/// SM or more: it leaves the SMs' instruction caches holding its code, not the next kernel's, as a large
/// library kernel ahead of the timed one would.
void sweep_instruction_caches(cudaStream_t stream);

/// Queues a one-block kernel that returns at once.
void launch_empty_kernel(cudaStream_t stream);

}  // namespace fp8kit::bench
