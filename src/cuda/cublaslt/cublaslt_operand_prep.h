// cublaslt_operand_prep.h: small kernels that bring fp8kit's operands into the layouts cuBLASLt accepts,
// enqueued on the GEMM's stream into its workspace, and the bias pass cuBLASLt cannot fuse.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "fp8kit/dtype.h"

namespace fp8kit::cuda::cublaslt {

/// VEC128 activation scales: dst[kb * m_run + i] = As[i, kb] (As at i * row_stride + kb * col_stride)
/// for i < m, 0 for m <= i < m_run; kb < l. The M-major [m_run x l] layout cuBLASLt reads.
void repack_activation_scales(const float* as, int64_t row_stride, int64_t col_stride, int64_t m, int64_t m_run,
                              int64_t l, float* dst, cudaStream_t stream);

/// BLK128x128 weight scales: dst[nb * l4 + kb] = Bs[nb, kb] for kb < l, 0 for l <= kb < l4; nb < blocks.
/// The K-major layout with a column stride of l4 (l rounded up to 4) cuBLASLt reads.
void repack_weight_scales(const float* bs, int64_t row_stride, int64_t col_stride, int64_t blocks, int64_t l,
                          int64_t l4, float* dst, cudaStream_t stream);

/// OUTER_VEC scales: dst[i] = src[i * stride] for i < n (stride 0 broadcasts one value), 0 up to n_run.
void expand_vector(const float* src, int64_t stride, int64_t n, int64_t n_run, float* dst, cudaStream_t stream);

/// f32 output: D[i, j] = D[i, j] + bias[j] in fp32 (bias f32, bf16 or f16), NaN canonical. Identical to
/// an epilogue bias: cuBLASLt's D is the unrounded fp32 sum.
void add_bias_f32(float* d, int64_t ldd, int64_t m, int64_t n, const void* bias, DType bias_dtype, cudaStream_t stream);

}  // namespace fp8kit::cuda::cublaslt
