// cublaslt_operand_prep.cu: layout kernels for the cuBLASLt backend (see the header). All are
// grid-stride loops over the destination; they move kilobytes to a few megabytes.
#include "common/numerics.h"
#include "cuda/common/cuda_check.h"
#include "cuda/cublaslt/cublaslt_operand_prep.h"

namespace fp8kit::cuda::cublaslt {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 4096 ? (b > 0 ? b : 1) : 4096);
}

__global__ void repack_activation_scales_kernel(const float* as, int64_t row_stride, int64_t col_stride, int64_t m,
                                                int64_t m_run, int64_t l, float* dst) {
  const int64_t total = m_run * l;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t kb = idx / m_run, i = idx % m_run;
    dst[idx] = i < m ? as[i * row_stride + kb * col_stride] : 0.0f;
  }
}

__global__ void repack_weight_scales_kernel(const float* bs, int64_t row_stride, int64_t col_stride, int64_t blocks,
                                            int64_t l, int64_t l4, float* dst) {
  const int64_t total = blocks * l4;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t nb = idx / l4, kb = idx % l4;
    dst[idx] = kb < l ? bs[nb * row_stride + kb * col_stride] : 0.0f;
  }
}

__global__ void expand_vector_kernel(const float* src, int64_t stride, int64_t n, int64_t n_run, float* dst) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n_run;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] = i < n ? src[i * stride] : 0.0f;
  }
}

__global__ void add_bias_f32_kernel(float* d, int64_t ldd, int64_t m, int64_t n, const void* bias, int bias_dtype) {
  for (int64_t i = blockIdx.y; i < m; i += gridDim.y) {
    for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < n;
         j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      float b;
      if (bias_dtype == static_cast<int>(DType::f32)) {
        b = static_cast<const float*>(bias)[j];
      } else {
        const uint16_t h = static_cast<const uint16_t*>(bias)[j];
        b = bias_dtype == static_cast<int>(DType::bf16) ? numerics::bf16_bits_to_float(h)
                                                         : numerics::f16_bits_to_float(h);
      }
      float* out = d + i * ldd + j;
      *out = numerics::canonicalize_f32(__fadd_rn(*out, b));
    }
  }
}

}  // namespace

void repack_activation_scales(const float* as, int64_t row_stride, int64_t col_stride, int64_t m, int64_t m_run,
                              int64_t l, float* dst, cudaStream_t stream) {
  repack_activation_scales_kernel<<<blocks_for(m_run * l), kThreads, 0, stream>>>(as, row_stride, col_stride, m, m_run,
                                                                                 l, dst);
  FP8KIT_CUDA_CHECK_LAUNCH("repack_activation_scales_kernel");
}

void repack_weight_scales(const float* bs, int64_t row_stride, int64_t col_stride, int64_t blocks, int64_t l,
                          int64_t l4, float* dst, cudaStream_t stream) {
  repack_weight_scales_kernel<<<blocks_for(blocks * l4), kThreads, 0, stream>>>(bs, row_stride, col_stride, blocks, l,
                                                                               l4, dst);
  FP8KIT_CUDA_CHECK_LAUNCH("repack_weight_scales_kernel");
}

void expand_vector(const float* src, int64_t stride, int64_t n, int64_t n_run, float* dst, cudaStream_t stream) {
  expand_vector_kernel<<<blocks_for(n_run), kThreads, 0, stream>>>(src, stride, n, n_run, dst);
  FP8KIT_CUDA_CHECK_LAUNCH("expand_vector_kernel");
}

void add_bias_f32(float* d, int64_t ldd, int64_t m, int64_t n, const void* bias, DType bias_dtype, cudaStream_t stream) {
  const dim3 grid(blocks_for(n) < 64 ? blocks_for(n) : 64, static_cast<unsigned>(m < 65535 ? m : 65535));
  add_bias_f32_kernel<<<grid, kThreads, 0, stream>>>(d, ldd, m, n, bias, static_cast<int>(bias_dtype));
  FP8KIT_CUDA_CHECK_LAUNCH("add_bias_f32_kernel");
}

}  // namespace fp8kit::cuda::cublaslt
