// silu_mul.cuh: the MLP activation h = bf16(silu(gate) * up) (numerics::silu_mul_bf16) over gate_up
// [R, 2I] bf16 (gate = columns [0, I), up = [I, 2I)): the loaders that feed it into the group and
// generic quantization kernels (the fused path), and the plain kernel that writes h.
#pragma once

#include "cuda/smxx/device_numerics.cuh"
#include "cuda/smxx/quantize_generic.cuh"
#include "cuda/smxx/quantize_group.cuh"

namespace fp8kit::cuda::smxx {

/// Eight h values from 16-byte vectors of gate and up.
__device__ __forceinline__ uint4 silu_mul_vec(const uint4& gate, const uint4& up) {
  uint32_t w[4];
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const uint32_t lo = numerics::silu_mul_bf16(vec_element<DType::bf16>(gate, 2 * k), vec_element<DType::bf16>(up, 2 * k));
    const uint32_t hi =
        numerics::silu_mul_bf16(vec_element<DType::bf16>(gate, 2 * k + 1), vec_element<DType::bf16>(up, 2 * k + 1));
    w[k] = lo | (hi << 16);
  }
  return make_uint4(w[0], w[1], w[2], w[3]);
}

/// Group-kernel loader: x is gate_up, GroupParams::cols is I.
struct SiluMulLoader {
  static constexpr DType kIn = DType::bf16;
  struct Fetched {
    uint4 gate, up;
  };

  __device__ __forceinline__ static Fetched fetch(const GroupParams& p, uint32_t row, uint32_t col) {
    const auto* base = static_cast<const uint16_t*>(p.x) + static_cast<int64_t>(row) * p.x_ld;
    return {__ldg(reinterpret_cast<const uint4*>(base + col)), __ldg(reinterpret_cast<const uint4*>(base + p.cols + col))};
  }
  __device__ __forceinline__ static uint4 finish(const Fetched& f) { return silu_mul_vec(f.gate, f.up); }
};

/// Generic-kernel loader: x is gate_up, GenericParams::cols is I.
struct SiluMulScalarLoader {
  __device__ __forceinline__ static float value(const GenericParams& p, int64_t r, int64_t c) {
    const auto* row = static_cast<const uint16_t*>(p.x) + r * p.x_ld;
    const uint16_t h = numerics::silu_mul_bf16(numerics::bf16_bits_to_float(row[c]), numerics::bf16_bits_to_float(row[c + p.cols]));
    return numerics::bf16_bits_to_float(h);
  }
};

inline constexpr int kSiluThreads = 256;
inline constexpr int kSiluUnroll = 2;

/// h = silu_mul over units of 8 outputs (16-byte loads and stores) or, unaligned, of 1 output.
__global__ void __launch_bounds__(kSiluThreads) smxx_silu_mul_kernel(const SiluMulParams p) {
  const uint32_t units = p.rows * p.units_per_row;
  const uint32_t stride = gridDim.x * blockDim.x;
  const uint32_t width = p.vector ? 8 : 1;
  for (uint32_t base = blockIdx.x * blockDim.x + threadIdx.x; base < units; base += kSiluUnroll * stride) {
    uint4 gate[kSiluUnroll], up[kSiluUnroll];
    int64_t src[kSiluUnroll], dst[kSiluUnroll];
#pragma unroll
    for (int k = 0; k < kSiluUnroll; ++k) {
      const uint32_t u = base + static_cast<uint32_t>(k) * stride;
      const uint32_t r = u / p.units_per_row;
      const int64_t row = p.row_begin + r, col = static_cast<int64_t>(u - r * p.units_per_row) * width;
      src[k] = row * p.gate_up_ld + col;
      dst[k] = row * p.h_ld + col;
      if (p.vector && u < units) {
        gate[k] = __ldg(reinterpret_cast<const uint4*>(p.gate_up + src[k]));
        up[k] = __ldg(reinterpret_cast<const uint4*>(p.gate_up + src[k] + p.cols));
      }
    }
#pragma unroll
    for (int k = 0; k < kSiluUnroll; ++k) {
      if (base + static_cast<uint32_t>(k) * stride >= units) break;
      if (p.vector) {
        *reinterpret_cast<uint4*>(p.h + dst[k]) = silu_mul_vec(gate[k], up[k]);
      } else {
        p.h[dst[k]] = numerics::silu_mul_bf16(numerics::bf16_bits_to_float(p.gate_up[src[k]]),
                                              numerics::bf16_bits_to_float(p.gate_up[src[k] + p.cols]));
      }
    }
  }
}

}  // namespace fp8kit::cuda::smxx
