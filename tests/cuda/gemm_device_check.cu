// gemm_device_check.cu: float64 reference, per-row error sums and bitwise comparison on the GPU (see the
// header). Straightforward kernels: correctness over speed, but tiled so a 128-row reference of the
// largest DeepSeek-V3 shape takes well under a second.
#include <cuda_runtime.h>

#include "common/numerics.h"
#include "cuda/common/cuda_check.h"
#include "gemm_device_check.h"

namespace fp8kit::testing::gemm {
namespace {

constexpr int kTile = 64;    // output rows and columns per block
constexpr int kChunk = 32;   // K per shared-memory step
constexpr int kThreads = 256;

__device__ double dequant_a(const DeviceGemmView& v, int64_t row, int64_t k) {
  const double x = numerics::decode_e4m3fn(v.a[row * v.lda + k]);
  return v.block ? x * static_cast<double>(v.as[row * v.as_row + (k / 128) * v.as_col]) : x;
}

__device__ double dequant_b(const DeviceGemmView& v, int64_t col, int64_t k) {
  const double x = numerics::decode_e4m3fn(v.b[col * v.k + k]);
  return v.block ? x * static_cast<double>(v.bs[(col / 128) * v.bs_row + (k / 128) * v.bs_col]) : x;
}

__device__ double bias_at(const DeviceGemmView& v, int64_t j) {
  if (v.bias_dtype == DType::f32) return static_cast<const float*>(v.bias)[j];
  const uint16_t h = static_cast<const uint16_t*>(v.bias)[j];
  return v.bias_dtype == DType::bf16 ? numerics::bf16_bits_to_float(h) : numerics::f16_bits_to_float(h);
}

/// Block (bx, by): reference rows rows[by*64 ..], columns bx*64 ..; each thread 4 x 4 outputs.
__global__ void __launch_bounds__(kThreads) reference_kernel(const DeviceGemmView v, const int64_t* rows, int64_t r,
                                                             double* ref) {
  __shared__ double a_tile[kTile][kChunk + 1];
  __shared__ double b_tile[kTile][kChunk + 1];
  const int tid = static_cast<int>(threadIdx.x);
  const int ty = tid / 16, tx = tid % 16;
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kTile, j0 = static_cast<int64_t>(blockIdx.x) * kTile;
  double acc[4][4] = {};
  for (int64_t k0 = 0; k0 < v.k; k0 += kChunk) {
    for (int e = tid; e < kTile * kChunk; e += kThreads) {
      const int rr = e / kChunk, kk = e % kChunk;
      const int64_t k = k0 + kk;
      const int64_t i = i0 + rr, j = j0 + rr;
      a_tile[rr][kk] = (i < r && k < v.k) ? dequant_a(v, rows[i], k) : 0.0;
      b_tile[rr][kk] = (j < v.n && k < v.k) ? dequant_b(v, j, k) : 0.0;
    }
    __syncthreads();
    for (int kk = 0; kk < kChunk; ++kk) {
      double av[4], bv[4];
      for (int q = 0; q < 4; ++q) {
        av[q] = a_tile[ty * 4 + q][kk];
        bv[q] = b_tile[tx * 4 + q][kk];
      }
      for (int p = 0; p < 4; ++p)
        for (int q = 0; q < 4; ++q) acc[p][q] = fma(av[p], bv[q], acc[p][q]);
    }
    __syncthreads();
  }
  for (int p = 0; p < 4; ++p) {
    const int64_t i = i0 + ty * 4 + p;
    if (i >= r) continue;
    const int64_t row = rows[i];
    for (int q = 0; q < 4; ++q) {
      const int64_t j = j0 + tx * 4 + q;
      if (j >= v.n) continue;
      double x = acc[p][q];
      if (!v.block) x *= static_cast<double>(v.as[row * v.as_row]) * static_cast<double>(v.bs[j * v.bs_row]);
      if (v.bias != nullptr) x += bias_at(v, j);
      ref[i * v.n + j] = x;
    }
  }
}

__device__ double widen(const void* d, DType out, int64_t idx) {
  if (out == DType::f32) return static_cast<const float*>(d)[idx];
  const uint16_t h = static_cast<const uint16_t*>(d)[idx];
  return out == DType::bf16 ? numerics::bf16_bits_to_float(h) : numerics::f16_bits_to_float(h);
}

__device__ double round_to(double w, DType out) {
  const float f = static_cast<float>(w);
  if (out == DType::bf16) return numerics::bf16_bits_to_float(numerics::float_to_bf16_bits(f));
  if (out == DType::f16) return numerics::f16_bits_to_float(numerics::float_to_f16_bits(f));
  return f;
}

/// One block per compared row: sums over its columns, reduced in shared memory.
__global__ void __launch_bounds__(kThreads) compare_rows_kernel(const void* d, DType out, int64_t ldd,
                                                                const int64_t* rows, int64_t n, const double* want,
                                                                double* err2, double* raw_err2, double* ref2,
                                                                long long* nonfinite, long long* lost_nan) {
  __shared__ double s_err[kThreads], s_raw[kThreads], s_ref[kThreads];
  __shared__ long long s_nf[kThreads], s_ln[kThreads];
  const int64_t i = blockIdx.x;
  const int64_t row = rows != nullptr ? rows[i] : i;
  double e = 0.0, raw = 0.0, w2 = 0.0;
  long long nf = 0, ln = 0;
  for (int64_t j = threadIdx.x; j < n; j += kThreads) {
    const double g = widen(d, out, row * ldd + j);
    const double w = want[i * n + j];
    if (!isfinite(w)) {
      ln += (isnan(w) && !isnan(g)) ? 1 : 0;
    } else if (!isfinite(g)) {
      ++nf;
    } else {
      const double rounded = round_to(w, out);
      e += (g - rounded) * (g - rounded);
      raw += (g - w) * (g - w);
      w2 += w * w;
    }
  }
  s_err[threadIdx.x] = e;
  s_raw[threadIdx.x] = raw;
  s_ref[threadIdx.x] = w2;
  s_nf[threadIdx.x] = nf;
  s_ln[threadIdx.x] = ln;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (static_cast<int>(threadIdx.x) < step) {
      s_err[threadIdx.x] += s_err[threadIdx.x + step];
      s_raw[threadIdx.x] += s_raw[threadIdx.x + step];
      s_ref[threadIdx.x] += s_ref[threadIdx.x + step];
      s_nf[threadIdx.x] += s_nf[threadIdx.x + step];
      s_ln[threadIdx.x] += s_ln[threadIdx.x + step];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    err2[i] = s_err[0];
    raw_err2[i] = s_raw[0];
    ref2[i] = s_ref[0];
    nonfinite[i] = s_nf[0];
    lost_nan[i] = s_ln[0];
  }
}

__global__ void widen_kernel(const void* d, DType out, int64_t ldd, int64_t m, int64_t n, double* want) {
  const int64_t total = m * n;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    want[idx] = widen(d, out, (idx / n) * ldd + idx % n);
  }
}

__global__ void count_nonfinite_kernel(const void* d, DType out, int64_t ldd, int64_t m, int64_t n,
                                       unsigned long long* count) {
  unsigned long long local = 0;
  const int64_t total = m * n;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    local += isfinite(widen(d, out, (idx / n) * ldd + idx % n)) ? 0 : 1;
  }
  if (local != 0) atomicAdd(count, local);
}

__global__ void count_differences_kernel(const uint8_t* x, const uint8_t* y, size_t bytes, unsigned long long* count) {
  unsigned long long local = 0;
  for (size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; idx < bytes;
       idx += static_cast<size_t>(gridDim.x) * blockDim.x) {
    local += x[idx] != y[idx] ? 1 : 0;
  }
  if (local != 0) atomicAdd(count, local);
}

template <typename T>
T* device_array(size_t n) {
  void* p = nullptr;
  FP8KIT_CUDA_CHECK(cudaMalloc(&p, (n > 0 ? n : 1) * sizeof(T)));
  return static_cast<T*>(p);
}

template <typename T>
std::vector<T> take_to_host(T* device, size_t n) {
  std::vector<T> host(n);
  FP8KIT_CUDA_CHECK(cudaMemcpy(host.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost));
  FP8KIT_CUDA_CHECK(cudaFree(device));
  return host;
}

}  // namespace

DeviceGemmView device_view(const HostOperands& h, const OperandPointers& ptrs) {
  const GemmCase& c = h.c;
  DeviceGemmView v;
  v.a = static_cast<const uint8_t*>(ptrs.a);
  v.lda = h.lda;
  v.b = static_cast<const uint8_t*>(ptrs.b);
  v.as = static_cast<const float*>(ptrs.as);
  v.bs = static_cast<const float*>(ptrs.bs);
  v.block = c.scaling == GemmScaling::block;
  v.m = c.m;
  v.n = c.n;
  v.k = c.k;
  if (v.block) {
    const int64_t l = (c.k + 127) / 128;
    const bool m_major = c.act_scales == ScaleLayout::m_major;
    v.as_row = m_major ? 1 : l;
    v.as_col = m_major ? h.as_ld : 1;
    v.bs_row = l;
    v.bs_col = 1;
  } else {
    v.as_row = c.per_tensor ? 0 : 1;
    v.bs_row = c.per_tensor ? 0 : 1;
  }
  v.bias = c.bias ? ptrs.bias : nullptr;
  v.bias_dtype = c.bias_dtype;
  return v;
}

void reference_rows_on_device(const DeviceGemmView& v, const int64_t* rows, int64_t r, double* ref) {
  const dim3 grid(static_cast<unsigned>((v.n + kTile - 1) / kTile), static_cast<unsigned>((r + kTile - 1) / kTile));
  reference_kernel<<<grid, kThreads>>>(v, rows, r, ref);
  FP8KIT_CUDA_CHECK_LAUNCH("reference_kernel");
  FP8KIT_CUDA_CHECK(cudaDeviceSynchronize());
}

RowSums compare_rows_on_device(const void* d, DType out, int64_t ldd, const int64_t* rows, int64_t r, int64_t n,
                               const double* want) {
  const size_t count = static_cast<size_t>(r);
  double* err2 = device_array<double>(count);
  double* raw_err2 = device_array<double>(count);
  double* ref2 = device_array<double>(count);
  long long* nonfinite = device_array<long long>(count);
  long long* lost_nan = device_array<long long>(count);
  if (r > 0) {
    compare_rows_kernel<<<static_cast<unsigned>(r), kThreads>>>(d, out, ldd, rows, n, want, err2, raw_err2, ref2,
                                                                 nonfinite, lost_nan);
    FP8KIT_CUDA_CHECK_LAUNCH("compare_rows_kernel");
  }
  RowSums sums;
  sums.err2 = take_to_host(err2, count);
  sums.raw_err2 = take_to_host(raw_err2, count);
  sums.ref2 = take_to_host(ref2, count);
  for (long long x : take_to_host(nonfinite, count)) sums.nonfinite.push_back(x);
  for (long long x : take_to_host(lost_nan, count)) sums.lost_nan.push_back(x);
  return sums;
}

void widen_on_device(const void* d, DType out, int64_t ldd, int64_t m, int64_t n, double* want) {
  widen_kernel<<<1024, kThreads>>>(d, out, ldd, m, n, want);
  FP8KIT_CUDA_CHECK_LAUNCH("widen_kernel");
  FP8KIT_CUDA_CHECK(cudaDeviceSynchronize());
}

int64_t count_nonfinite_on_device(const void* d, DType out, int64_t ldd, int64_t m, int64_t n) {
  auto* count = device_array<unsigned long long>(1);
  FP8KIT_CUDA_CHECK(cudaMemset(count, 0, sizeof(unsigned long long)));
  count_nonfinite_kernel<<<1024, kThreads>>>(d, out, ldd, m, n, count);
  FP8KIT_CUDA_CHECK_LAUNCH("count_nonfinite_kernel");
  return static_cast<int64_t>(take_to_host(count, 1)[0]);
}

int64_t count_differences_on_device(const void* x, const void* y, size_t bytes) {
  auto* count = device_array<unsigned long long>(1);
  FP8KIT_CUDA_CHECK(cudaMemset(count, 0, sizeof(unsigned long long)));
  count_differences_kernel<<<1024, kThreads>>>(static_cast<const uint8_t*>(x), static_cast<const uint8_t*>(y), bytes,
                                               count);
  FP8KIT_CUDA_CHECK_LAUNCH("count_differences_kernel");
  return static_cast<int64_t>(take_to_host(count, 1)[0]);
}

}  // namespace fp8kit::testing::gemm
