// gpu_timing.cu: see gpu_timing.h.
#include "cuda/support/gpu_timing.h"

#include "cuda/common/cuda_check.h"

namespace fp8kit::bench {
namespace {

__global__ void spin(uint64_t ns) {
  uint64_t t0 = 0, t = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (t - t0 < ns);
}

__global__ void empty() {}

}  // namespace

void hold_stream(cudaStream_t stream, uint64_t microseconds) {
  spin<<<1, 1, 0, stream>>>(microseconds * 1000);
  FP8KIT_CUDA_CHECK_LAUNCH("hold_stream");
}

void launch_empty_kernel(cudaStream_t stream) {
  empty<<<1, 32, 0, stream>>>();
  FP8KIT_CUDA_CHECK_LAUNCH("launch_empty_kernel");
}

}  // namespace fp8kit::bench
