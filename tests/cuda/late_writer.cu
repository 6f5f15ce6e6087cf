// late_writer.cu: see late_writer.h.
#include "cuda/common/cuda_check.h"
#include "cuda/common/dependent_launch.cuh"
#include "late_writer.h"

namespace fp8kit::testing {
namespace {

__device__ void copy_range(const CopyRange& r) {
  const auto* src = static_cast<const uint4*>(r.src);
  auto* dst = static_cast<uint4*>(r.dst);
  const size_t n = r.bytes / 16;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    dst[i] = src[i];
  }
}

__global__ void write_late_kernel(CopyRange first, CopyRange second, uint32_t delay_us) {
  cuda::allow_dependent_launch();
  uint64_t start;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  for (uint64_t now = start; now - start < uint64_t{delay_us} * 1000;) {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  }
  copy_range(first);
  copy_range(second);
}

}  // namespace

void write_late(CopyRange first, CopyRange second, uint32_t delay_us, cudaStream_t stream) {
  FP8KIT_CHECK(first.bytes % 16 == 0 && second.bytes % 16 == 0, "write_late copies 16-byte units: ", first.bytes,
               " and ", second.bytes, " bytes");
  // Few blocks, no shared memory: the dependent kernel's CTAs fit beside them.
  write_late_kernel<<<16, 256, 0, stream>>>(first, second, delay_us);
  FP8KIT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace fp8kit::testing
