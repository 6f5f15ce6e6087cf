// device_numerics.cuh: device building blocks of the smxx kernels: 16-byte vectors of input elements,
// their amax as bits, the scale of a tile, FP8 encoding and decoding, scale loads and stores.
//
// Everything here computes the bits of src/common/numerics.h. Hardware conversions are used only where
// they provably agree with it:
//  * cvt.rn.satfinite.{e4m3,e5m2}x2.f32 (sm_89+) rounds to nearest even into the format's grid
//    (subnormals included), keeps the sign of zero and saturates finite overflow and +-inf to +-max,
//    exactly as numerics::encode_*; its NaN code is not specified, so callers never pass NaN (a tile
//    with NaN or inf has a NaN scale, and its codes are written as 0x7F without a conversion);
//  * cvt.rn.f16x2.{e4m3,e5m2}x2 (sm_89+) widens codes exactly (NaN codes become some NaN);
//  * f16 -> f32 and f32 -> bf16/f16 (cvt.rn) are IEEE conversions; NaN results are replaced by the
//    canonical NaN of the target.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "common/numerics.h"
#include "cuda/smxx/kernel_params.h"
#include "fp8kit/dtype.h"
#include "fp8kit/format.h"

namespace fp8kit::cuda::smxx {

inline constexpr uint32_t kNonFiniteBits = 0x7F800000u;  // amax bits at or above this: NaN or inf seen

/// Elements of an input dtype in one 16-byte vector.
template <DType T>
inline constexpr int kVecOf = T == DType::f32 ? 4 : 8;

__device__ __forceinline__ uint32_t word(const uint4& v, int k) {
  return k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w;
}

/// Element j (a compile-time index once unrolled) of a 16-byte vector of T, widened exactly to f32.
template <DType T>
__device__ __forceinline__ float vec_element(const uint4& v, int j) {
  if constexpr (T == DType::f32) {
    return __uint_as_float(word(v, j));
  } else {
    const uint32_t w = word(v, j / 2);
    if constexpr (T == DType::bf16) {
      return __uint_as_float((j & 1) ? (w & 0xFFFF0000u) : (w << 16));
    } else {
      return __half2float(__ushort_as_half(static_cast<unsigned short>((j & 1) ? (w >> 16) : (w & 0xFFFFu))));
    }
  }
}

/// One element of T at p[i], widened exactly to f32 (the scalar paths).
template <DType T>
__device__ __forceinline__ float load_element(const void* p, int64_t i) {
  if constexpr (T == DType::f32) {
    return static_cast<const float*>(p)[i];
  } else if constexpr (T == DType::bf16) {
    return numerics::bf16_bits_to_float(static_cast<const uint16_t*>(p)[i]);
  } else {
    return __half2float(__ushort_as_half(static_cast<const unsigned short*>(p)[i]));
  }
}

/// |v| as f32 bits; NaN and +-inf give bits >= kNonFiniteBits. For non-negative floats the bit
/// patterns order like the values, so an unsigned max over these is amax plus a non-finite flag.
__device__ __forceinline__ uint32_t abs_bits(float v) { return __float_as_uint(v) & 0x7FFFFFFFu; }

/// max |element| of a 16-byte vector of T, as abs_bits would give it.
template <DType T>
__device__ __forceinline__ uint32_t vec_amax_bits(const uint4& v) {
  if constexpr (T == DType::f32) {
    return max(max(v.x & 0x7FFFFFFFu, v.y & 0x7FFFFFFFu), max(v.z & 0x7FFFFFFFu, v.w & 0x7FFFFFFFu));
  } else {
    // Both 16-bit formats order like their values when the sign is cleared: a per-halfword max.
    const uint32_t m2 = __vmaxu2(__vmaxu2(v.x & 0x7FFF7FFFu, v.y & 0x7FFF7FFFu),
                                 __vmaxu2(v.z & 0x7FFF7FFFu, v.w & 0x7FFF7FFFu));
    const uint32_t h = max(m2 & 0xFFFFu, m2 >> 16);
    if constexpr (T == DType::bf16) {
      return h << 16;
    } else {
      return h >= 0x7C00u ? kNonFiniteBits : __float_as_uint(__half2float(__ushort_as_half(static_cast<unsigned short>(h))));
    }
  }
}

/// Max over the lanes of aligned segments of `width` lanes (a power of two <= 32) of a warp; every
/// lane of the warp must call it.
__device__ __forceinline__ uint32_t segment_max(uint32_t v, uint32_t width) {
  for (uint32_t offset = width / 2; offset > 0; offset /= 2) v = max(v, __shfl_xor_sync(0xFFFFFFFFu, v, offset));
  return v;
}

/// Max over the thread block (blockDim.x a multiple of 32, at most 1024); every thread must call it.
/// `scratch` holds 32 words; the result is valid in every thread. After the barrier each warp reduces
/// the per-warp maxima itself (one shared load and one warp reduction: a loop over the warps cost ~35
/// instructions per thread at 16 warps, 7% of a 128 x 128 block quantization).
__device__ __forceinline__ uint32_t block_max(uint32_t v, uint32_t* scratch) {
  v = __reduce_max_sync(0xFFFFFFFFu, v);
  const uint32_t lane = threadIdx.x % 32;
  if (lane == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  return __reduce_max_sync(0xFFFFFFFFu, lane < blockDim.x / 32 ? scratch[lane] : 0u);
}

/// min over the elements of a 16-byte vector of T of (bits(|x|) - 1) as unsigned, i.e. the smallest
/// nonzero |x| (zeros wrap to the largest value), in a packed form: min_code merges two of them, and
/// min_abs_minus_one turns one into f32 bits(min nonzero |x|) - 1 (UINT32_MAX when all are zero).
/// 16-bit types keep one (h - 1) mod 2^15 per halfword (a zero halfword gives 0x7FFF), so the packed
/// min is a native 16x2 min.
template <DType T>
inline constexpr uint32_t kMinCodeNone = T == DType::f32 ? 0xFFFFFFFFu : 0x7FFF7FFFu;

template <DType T>
__device__ __forceinline__ uint32_t min_code(uint32_t a, uint32_t b) {
  if constexpr (T == DType::f32) {
    return min(a, b);
  } else {
    return __vminu2(a, b);
  }
}

template <DType T>
__device__ __forceinline__ uint32_t vec_min_code(const uint4& v) {
  if constexpr (T == DType::f32) {
    const auto m1 = [](uint32_t w) { return (w & 0x7FFFFFFFu) - 1u; };
    return min(min(m1(v.x), m1(v.y)), min(m1(v.z), m1(v.w)));
  } else {
    // h + 0x7FFF stays below 0x10000 for h <= 0x7FFF, so halfwords never carry into each other
    const auto m1 = [](uint32_t w) { return ((w & 0x7FFF7FFFu) + 0x7FFF7FFFu) & 0x7FFF7FFFu; };
    return __vminu2(__vminu2(m1(v.x), m1(v.y)), __vminu2(m1(v.z), m1(v.w)));
  }
}

template <DType T>
__device__ __forceinline__ uint32_t min_abs_minus_one(uint32_t code) {
  if constexpr (T == DType::f32) {
    return code;
  } else {
    const uint32_t h = min(code & 0xFFFFu, code >> 16);  // (smallest nonzero halfword) - 1, or 0x7FFF
    if (h == 0x7FFFu) return 0xFFFFFFFFu;
    if constexpr (T == DType::bf16) {
      return ((h + 1u) << 16) - 1u;
    } else {
      return __float_as_uint(__half2float(__ushort_as_half(static_cast<unsigned short>(h + 1u)))) - 1u;
    }
  }
}

/// How quantize_vec divides an element by its tile's scale (every way gives fp32(x / scale)):
enum class Division {
  pow2,     // x * (1 / scale): the reciprocal of a power of two is exact, and both round the exact quotient once
  fast,     // numerics::div_by_scale, for tiles whose elements all lie in the divisor's fast domain
  checked,  // ScaleDivisor::divide: the fast domain checked per element, the IEEE division outside it
};

/// The scale of a tile and how its elements are divided by it.
struct TileScale {
  float scale = 1.0f;
  numerics::ScaleDivisor divisor;  // divisor.y = rcp_rn(scale), exact for power-of-two scales
  bool pow2 = false;
  bool nonfinite = false;  // scale is NaN: every code of the tile is the NaN code 0x7F

  /// fp32(x / scale) for any x (the scalar paths).
  __device__ __forceinline__ float divide(float x) const {
    return pow2 ? numerics::mul_rn(x, divisor.y) : divisor.divide(x);
  }
  /// fp32(x / scale) the way kDiv says; pow2 needs a power-of-two scale, fast an x in the fast domain.
  template <Division kDiv>
  __device__ __forceinline__ float divide_as(float x) const {
    if constexpr (kDiv == Division::pow2) {
      return numerics::mul_rn(x, divisor.y);
    } else if constexpr (kDiv == Division::fast) {
      return numerics::div_by_scale(x, scale, divisor.y);
    } else {
      return divisor.divide(x);
    }
  }
};

/// The contract's scale of a tile whose amax bits (max of abs_bits over its elements) are `amax_bits`.
__device__ __forceinline__ TileScale tile_scale(uint32_t amax_bits, const ScaleRule& rule) {
  numerics::AmaxAccumulator acc;
  acc.nonfinite = amax_bits >= kNonFiniteBits;
  acc.amax = acc.nonfinite ? 0.0f : __uint_as_float(amax_bits);
  const float amax = acc.effective(rule.amax_upper_bound);
  TileScale t;
  t.scale = rule.pow2 ? numerics::scale_pow2(amax, rule.fmax) : numerics::scale_exact(amax, rule.fmax_divisor);
  t.divisor = numerics::ScaleDivisor::of(t.scale);
  t.pow2 = rule.pow2;
  t.nonfinite = numerics::is_nan(t.scale);
  return t;
}

__device__ __forceinline__ void store_scale(const ScaleTarget& s, int64_t i, int64_t j, float v) {
  const int64_t off = i * s.row_stride + j * s.col_stride;
  if (s.ue8m0) {
    static_cast<uint8_t*>(s.data)[off] = numerics::ue8m0_from_pow2(v);
  } else {
    static_cast<float*>(s.data)[off] = numerics::canonicalize_f32(v);
  }
}

__device__ __forceinline__ float load_scale(const ScaleSource& s, int64_t i, int64_t j) {
  const int64_t off = i * s.row_stride + j * s.col_stride;
  if (s.ue8m0) return numerics::ue8m0_to_float(static_cast<const uint8_t*>(s.data)[off]);
  return static_cast<const float*>(s.data)[off];
}

/// The reference encoder (numerics.h), any input including NaN.
template <Fp8Format F>
__device__ __forceinline__ uint8_t encode_reference(float v) {
  return F == Fp8Format::e5m2 ? numerics::encode_e5m2(v) : numerics::encode_e4m3fn(v);
}

/// Two codes in the low 16 bits (lo in bits 0-7). Precondition: neither input is NaN.
template <Fp8Format F>
__device__ __forceinline__ uint32_t encode_pair(float lo, float hi) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  unsigned short r;
  if constexpr (F == Fp8Format::e5m2) {
    asm("cvt.rn.satfinite.e5m2x2.f32 %0, %1, %2;" : "=h"(r) : "f"(hi), "f"(lo));
  } else {
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(r) : "f"(hi), "f"(lo));
  }
  return r;
#else
  return static_cast<uint32_t>(encode_reference<F>(lo)) | (static_cast<uint32_t>(encode_reference<F>(hi)) << 8);
#endif
}

/// Stores the codes of one vector of T (8 or 4 bytes, aligned to that size).
template <DType T>
__device__ __forceinline__ void store_codes(uint8_t* dst, const uint2& codes) {
  if constexpr (kVecOf<T> == 8) {
    *reinterpret_cast<uint2*>(dst) = codes;
  } else {
    *reinterpret_cast<uint32_t*>(dst) = codes.x;
  }
}

/// The codes of one 16-byte input vector of T under a tile scale: 8 bytes (16-bit inputs) or 4 bytes
/// (f32, in .x). A non-finite tile gives the NaN code everywhere.
template <DType T, Fp8Format F, Division kDiv>
__device__ __forceinline__ uint2 quantize_vec(const uint4& raw, const TileScale& ts) {
  constexpr int kVec = kVecOf<T>;
  uint32_t words[2] = {0, 0};
#pragma unroll
  for (int j = 0; j < kVec; j += 2) {
    const float lo = vec_element<T>(raw, j), hi = vec_element<T>(raw, j + 1);
    words[j / 4] |= encode_pair<F>(ts.divide_as<kDiv>(lo), ts.divide_as<kDiv>(hi)) << (8 * (j % 4));
  }
  if (ts.nonfinite) {
    words[0] = 0x7F7F7F7Fu;
    words[1] = kVec == 8 ? 0x7F7F7F7Fu : 0u;
  }
  return make_uint2(words[0], words[1]);
}

template <DType T, Fp8Format F, Division kDiv, int N, class Offset>
__device__ __forceinline__ void quantize_store_as(const uint4 (&raw)[N], const bool (&valid)[N], const TileScale& ts, uint8_t* q,
                                                  Offset&& offset) {
#pragma unroll
  for (int k = 0; k < N; ++k) {
    if (valid[k]) store_codes<T>(q + offset(k), quantize_vec<T, F, kDiv>(raw[k], ts));
  }
}

/// Quantizes N vectors of one thread (masked by `valid`) and stores their codes at q + offset(k). The
/// division is chosen once for all of them, so the per-element loop carries no choice: power-of-two
/// scales multiply; otherwise one fast-domain check over the vectors picks the branch-free division
/// or, when some element needs it, the per-element checked one. `amax_bits` is the tile's amax (an
/// upper bound of every |x| here).
template <DType T, Fp8Format F, int N, class Offset>
__device__ __forceinline__ void quantize_store(const uint4 (&raw)[N], const bool (&valid)[N], const TileScale& ts,
                                               uint32_t amax_bits, uint8_t* q, Offset&& offset) {
  if (ts.pow2) return quantize_store_as<T, F, Division::pow2>(raw, valid, ts, q, offset);
  uint32_t code = kMinCodeNone<T>;
#pragma unroll
  for (int k = 0; k < N; ++k) code = min_code<T>(code, vec_min_code<T>(raw[k]));  // invalid vectors are zeros
  if (ts.divisor.covers(min_abs_minus_one<T>(code), amax_bits)) {
    quantize_store_as<T, F, Division::fast>(raw, valid, ts, q, offset);
  } else {
    quantize_store_as<T, F, Division::checked>(raw, valid, ts, q, offset);
  }
}

/// The exact value of an FP8 code (NaN codes give a NaN, whose bits the output stores canonicalise).
template <Fp8Format F>
__device__ __forceinline__ float decode_reference(uint8_t c) {
  return F == Fp8Format::e5m2 ? numerics::decode_e5m2(c) : numerics::decode_e4m3fn(c);
}

/// Four codes (byte k of `w` is code k) widened exactly to f32.
template <Fp8Format F>
__device__ __forceinline__ void decode4(uint32_t w, float out[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  uint32_t lo, hi;
  const unsigned short w_lo = static_cast<unsigned short>(w & 0xFFFFu), w_hi = static_cast<unsigned short>(w >> 16);
  if constexpr (F == Fp8Format::e5m2) {
    asm("cvt.rn.f16x2.e5m2x2 %0, %1;" : "=r"(lo) : "h"(w_lo));
    asm("cvt.rn.f16x2.e5m2x2 %0, %1;" : "=r"(hi) : "h"(w_hi));
  } else {
    asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(lo) : "h"(w_lo));
    asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(hi) : "h"(w_hi));
  }
  out[0] = __half2float(__ushort_as_half(static_cast<unsigned short>(lo & 0xFFFFu)));
  out[1] = __half2float(__ushort_as_half(static_cast<unsigned short>(lo >> 16)));
  out[2] = __half2float(__ushort_as_half(static_cast<unsigned short>(hi & 0xFFFFu)));
  out[3] = __half2float(__ushort_as_half(static_cast<unsigned short>(hi >> 16)));
#else
#pragma unroll
  for (int k = 0; k < 4; ++k) out[k] = decode_reference<F>(static_cast<uint8_t>(w >> (8 * k)));
#endif
}

/// Output element types of dequantization: rounding to nearest even, NaN stored canonically.
template <DType T>
__device__ __forceinline__ uint32_t round_pair(float lo, float hi);  // two 16-bit results, lo in bits 0-15

template <>
__device__ __forceinline__ uint32_t round_pair<DType::bf16>(float lo, float hi) {
  const __nv_bfloat162 r = __floats2bfloat162_rn(lo, hi);
  uint32_t bits = __bfloat16_as_ushort(r.x) | (static_cast<uint32_t>(__bfloat16_as_ushort(r.y)) << 16);
  if (numerics::is_nan(lo)) bits = (bits & 0xFFFF0000u) | 0x7FC0u;
  if (numerics::is_nan(hi)) bits = (bits & 0x0000FFFFu) | 0x7FC00000u;
  return bits;
}

template <>
__device__ __forceinline__ uint32_t round_pair<DType::f16>(float lo, float hi) {
  const __half2 r = __floats2half2_rn(lo, hi);
  uint32_t bits = __half_as_ushort(r.x) | (static_cast<uint32_t>(__half_as_ushort(r.y)) << 16);
  if (numerics::is_nan(lo)) bits = (bits & 0xFFFF0000u) | 0x7E00u;
  if (numerics::is_nan(hi)) bits = (bits & 0x0000FFFFu) | 0x7E000000u;
  return bits;
}

/// round_pair for inputs known not to be NaN: the plain conversion (overflow to inf, as the contract
/// rounds).
template <DType T>
__device__ __forceinline__ uint32_t round_pair_finite(float lo, float hi) {
  if constexpr (T == DType::bf16) {
    const __nv_bfloat162 r = __floats2bfloat162_rn(lo, hi);
    return __bfloat16_as_ushort(r.x) | (static_cast<uint32_t>(__bfloat16_as_ushort(r.y)) << 16);
  } else {
    const __half2 r = __floats2half2_rn(lo, hi);
    return __half_as_ushort(r.x) | (static_cast<uint32_t>(__half_as_ushort(r.y)) << 16);
  }
}

/// One output element of dtype T at p[i] (the scalar paths), with the reference's conversions.
template <DType T>
__device__ __forceinline__ void store_output(void* p, int64_t i, float v) {
  if constexpr (T == DType::f32) {
    static_cast<float*>(p)[i] = numerics::canonicalize_f32(v);
  } else if constexpr (T == DType::bf16) {
    static_cast<uint16_t*>(p)[i] = numerics::float_to_bf16_bits(v);
  } else {
    static_cast<uint16_t*>(p)[i] = numerics::float_to_f16_bits(v);
  }
}

}  // namespace fp8kit::cuda::smxx
