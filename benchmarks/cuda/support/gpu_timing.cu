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

__global__ void read_all(const float4* data, size_t count, unsigned long long* last_exit) {
  float sum = 0.0f;
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x) {
    const float4 v = data[i];
    sum += v.x + v.y + v.z + v.w;
  }
  extern __shared__ float partial[];  // 16 KB with prefer_l1: a library kernel's block reduction buffer
  if (sum != sum) {  // never taken on zeroed memory; keeps the loads (and the shared buffer)
    partial[threadIdx.x] = sum;
    const_cast<float4*>(data)[0].x = partial[(threadIdx.x + 1) % blockDim.x];
  }
  if (last_exit != nullptr) {
    __syncthreads();
    if (threadIdx.x == 0) {
      unsigned long long t = 0;
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
      atomicMax(last_exit, t);
    }
  }
}

/// 8192 fused multiply-adds with distinct immediates, unrolled: straight-line code the SMs fetch once.
__global__ void long_code(float seed, float* sink) {
  float v = seed + threadIdx.x;
#pragma unroll
  for (int i = 0; i < 8192; ++i) {
    v = fmaf(v, 1.0f + static_cast<float>(i) * 1e-7f, static_cast<float>(i & 255) * 1e-3f);
  }
  if (v == 0.0f && sink != nullptr) *sink = v;  // v only grows from 1; keeps the chain
}

__global__ void empty() {}

/// The current device's SM count (the flush kernels launch a few blocks per SM).
int multiprocessors() {
  int device = 0, sms = 0;
  FP8KIT_CUDA_CHECK(cudaGetDevice(&device));
  FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return sms;
}

}  // namespace

void hold_stream(cudaStream_t stream, uint64_t microseconds) {
  spin<<<1, 1, 0, stream>>>(microseconds * 1000);
  FP8KIT_CUDA_CHECK_LAUNCH("hold_stream");
}

void read_through_l2(cudaStream_t stream, const void* buffer, size_t bytes, unsigned long long* last_exit,
                     bool prefer_l1) {
  FP8KIT_CUDA_CHECK(cudaFuncSetAttribute(read_all, cudaFuncAttributePreferredSharedMemoryCarveout,
                                         prefer_l1 ? 0 : -1));
  const size_t shared_bytes = prefer_l1 ? 16384 : 2048;
  read_all<<<4 * multiprocessors(), 512, shared_bytes, stream>>>(static_cast<const float4*>(buffer), bytes / 16, last_exit);
  FP8KIT_CUDA_CHECK_LAUNCH("read_through_l2");
}

void sweep_instruction_caches(cudaStream_t stream) {
  long_code<<<2 * multiprocessors(), 32, 0, stream>>>(1.0f, nullptr);
  FP8KIT_CUDA_CHECK_LAUNCH("sweep_instruction_caches");
}

void launch_empty_kernel(cudaStream_t stream) {
  empty<<<1, 32, 0, stream>>>();
  FP8KIT_CUDA_CHECK_LAUNCH("launch_empty_kernel");
}

}  // namespace fp8kit::bench
