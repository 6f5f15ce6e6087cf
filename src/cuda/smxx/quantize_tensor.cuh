// quantize_tensor.cuh: per-tensor quantization in two kernels. The amax kernel folds each block's
// max |x| bits into one device word with atomicMax: a max is independent of the order of the updates,
// and the bits of NaN and inf sort above every finite value, so the word is the tensor's amax plus its
// non-finite flag, bit for bit the same on every run. The quantize kernel derives the scale from it.
//
// Work units are 16-byte vectors of a row when the rows are aligned for them, else single elements.
#pragma once

#include "cuda/smxx/device_numerics.cuh"

namespace fp8kit::cuda::smxx {

inline constexpr int kTensorThreads = 256;
inline constexpr int kTensorUnroll = 4;

/// Element offset of unit u (row-major over rows x units_per_row) within the launch's rows; no
/// division when the rows of x and q are contiguous.
__device__ __forceinline__ int64_t tensor_unit_offset(const TensorParams& p, uint32_t u, int64_t ld, uint32_t width) {
  if (p.contiguous) return p.row_begin * ld + static_cast<int64_t>(u) * width;
  const uint32_t r = u / p.units_per_row;
  const uint32_t cu = u - r * p.units_per_row;
  return (p.row_begin + r) * ld + static_cast<int64_t>(cu) * width;
}

template <DType T>
__global__ void __launch_bounds__(kTensorThreads) smxx_tensor_amax_kernel(const TensorParams p) {
  constexpr uint32_t kVec = kVecOf<T>;
  __shared__ uint32_t scratch[32];
  const uint32_t units = p.rows * p.units_per_row;
  const uint32_t stride = gridDim.x * blockDim.x;
  const auto* x = static_cast<const uint8_t*>(p.x);
  constexpr int64_t kBytes = T == DType::f32 ? 4 : 2;
  uint32_t amax = 0;
  for (uint32_t base = blockIdx.x * blockDim.x + threadIdx.x; base < units; base += kTensorUnroll * stride) {
    if (p.vector) {
      uint4 raw[kTensorUnroll];
#pragma unroll
      for (int k = 0; k < kTensorUnroll; ++k) {
        const uint32_t u = base + static_cast<uint32_t>(k) * stride;
        raw[k] = u < units ? __ldg(reinterpret_cast<const uint4*>(x + tensor_unit_offset(p, u, p.x_ld, kVec) * kBytes))
                           : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int k = 0; k < kTensorUnroll; ++k) amax = max(amax, vec_amax_bits<T>(raw[k]));
    } else {
#pragma unroll
      for (int k = 0; k < kTensorUnroll; ++k) {
        const uint32_t u = base + static_cast<uint32_t>(k) * stride;
        if (u < units) amax = max(amax, abs_bits(load_element<T>(p.x, tensor_unit_offset(p, u, p.x_ld, 1))));
      }
    }
  }
  amax = block_max(amax, scratch);
  if (threadIdx.x == 0 && amax != 0) atomicMax(p.amax_bits, amax);
}

template <DType T, Fp8Format F>
__global__ void __launch_bounds__(kTensorThreads) smxx_tensor_quantize_kernel(const TensorParams p) {
  constexpr uint32_t kVec = kVecOf<T>;
  constexpr int64_t kBytes = T == DType::f32 ? 4 : 2;
  const uint32_t amax_bits = *p.amax_bits;
  const TileScale ts = tile_scale(amax_bits, p.rule);
  if (blockIdx.x == 0 && threadIdx.x == 0 && p.row_begin == 0) store_scale(p.s, 0, 0, ts.scale);
  const uint32_t units = p.rows * p.units_per_row;
  const uint32_t stride = gridDim.x * blockDim.x;
  const auto* x = static_cast<const uint8_t*>(p.x);
  for (uint32_t base = blockIdx.x * blockDim.x + threadIdx.x; base < units; base += kTensorUnroll * stride) {
    if (p.vector) {
      uint4 raw[kTensorUnroll];
      bool valid[kTensorUnroll];
#pragma unroll
      for (int k = 0; k < kTensorUnroll; ++k) {
        const uint32_t u = base + static_cast<uint32_t>(k) * stride;
        valid[k] = u < units;
        raw[k] = valid[k] ? __ldg(reinterpret_cast<const uint4*>(x + tensor_unit_offset(p, u, p.x_ld, kVec) * kBytes))
                          : make_uint4(0, 0, 0, 0);
      }
      quantize_store<T, F>(raw, valid, ts, amax_bits, p.q,
                           [&](int k) { return tensor_unit_offset(p, base + static_cast<uint32_t>(k) * stride, p.q_ld, kVec); });
    } else {
#pragma unroll
      for (int k = 0; k < kTensorUnroll; ++k) {
        const uint32_t u = base + static_cast<uint32_t>(k) * stride;
        if (u < units) {
          const float v = load_element<T>(p.x, tensor_unit_offset(p, u, p.x_ld, 1));
          p.q[tensor_unit_offset(p, u, p.q_ld, 1)] = encode_reference<F>(ts.divide(v));
        }
      }
    }
  }
}

}  // namespace fp8kit::cuda::smxx
