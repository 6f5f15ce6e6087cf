// vector_codec.h: branch-free forms of the element conversions of numerics.h, for loops the compiler
// vectorises. Each function returns the same bits as its numerics.h counterpart for every input
// (tests/cpp/test_vector_codec.cpp checks them over all 16-bit inputs and a sweep of fp32 inputs):
// every case is computed and the result chosen with bit masks, so a loop over them has no control
// flow. Subnormal results of an FP8 or f16 encode come from one fp32 addition of a power of two whose
// ulp is the format's subnormal step, which rounds to nearest even exactly as the integer shift of
// numerics::shift_right_rne does.
#pragma once

#include <cstdint>

#include "common/numerics.h"

#if defined(__GNUC__)
#define FP8KIT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FP8KIT_ALWAYS_INLINE inline
#endif

namespace fp8kit::cpu::vec {

using numerics::bits_of;
using numerics::float_of;

/// c ? a : b, without a branch.
FP8KIT_ALWAYS_INLINE uint32_t select(bool c, uint32_t a, uint32_t b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return (a & m) | (b & ~m);
}

// ---------------------------------------------------------------------------------------------
// Widening loads (exact) of the high-precision input types.
// ---------------------------------------------------------------------------------------------

FP8KIT_ALWAYS_INLINE float widen(float x) { return x; }

FP8KIT_ALWAYS_INLINE float widen_bf16(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

/// numerics::f16_bits_to_float.
FP8KIT_ALWAYS_INLINE float widen_f16(uint16_t h) {
  const uint32_t u = h;
  const uint32_t sign = (u & 0x8000u) << 16;
  const uint32_t e = (u >> 10) & 0x1Fu;
  const uint32_t m = u & 0x3FFu;
  const uint32_t normal = sign | (((u & 0x7FFFu) << 13) + (112u << 23));
  const uint32_t special = sign | 0x7F800000u | (m << 13);
  const uint32_t sub = sign | bits_of(static_cast<float>(static_cast<int32_t>(m)) * 5.9604644775390625e-08f);
  return float_of(select(e == 0x1Fu, special, select(e == 0u, sub, normal)));
}

/// fp32 bits of |x| for the amax of a group: the integer order of these bits is the order of the
/// magnitudes, NaN and inf above every finite value (>= 0x7F800000).
FP8KIT_ALWAYS_INLINE uint32_t abs_bits(float x) { return bits_of(x) & 0x7FFFFFFFu; }

// ---------------------------------------------------------------------------------------------
// FP8 encode (numerics::encode_e4m3fn / encode_e5m2) and decode (numerics::decode_*).
// ---------------------------------------------------------------------------------------------

struct E4m3 {
  static constexpr uint32_t kMaxBits = 0x43E00000u;    // 448
  static constexpr uint32_t kMinNormalExp = 121u;      // 2^-6
  static constexpr int kMantissaShift = 20;            // 23 - 3 mantissa bits
  static constexpr uint32_t kRebias = 120u << 3;       // 127 - 7, in code units
  static constexpr float kSubnormalMagic = 16384.0f;   // 2^14: its ulp is 2^-9, the subnormal step
  static constexpr uint32_t kMaxCode = 0x7Eu;
  static constexpr float kSubnormalStep = 0.001953125f;  // 2^-9
};

struct E5m2 {
  static constexpr uint32_t kMaxBits = 0x47600000u;    // 57344
  static constexpr uint32_t kMinNormalExp = 113u;      // 2^-14
  static constexpr int kMantissaShift = 21;            // 23 - 2
  static constexpr uint32_t kRebias = 112u << 2;       // 127 - 15
  static constexpr float kSubnormalMagic = 128.0f;     // 2^7: its ulp is 2^-16
  static constexpr uint32_t kMaxCode = 0x7Bu;
  static constexpr float kSubnormalStep = 1.52587890625e-05f;  // 2^-16
};

/// The FP8 code of v, in the low byte of a 32-bit lane (narrowed by the caller: a separate narrowing
/// loop vectorises better than a byte store per element).
template <typename Fmt>
FP8KIT_ALWAYS_INLINE uint32_t encode(float v) {
  constexpr int sh = Fmt::kMantissaShift;
  const uint32_t x = bits_of(v);
  const uint32_t sign = (x >> 24) & 0x80u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  const uint32_t rounded = ax + ((1u << (sh - 1)) - 1u) + ((ax >> sh) & 1u);
  const uint32_t normal = (rounded >> sh) - Fmt::kRebias;
  const uint32_t sub = bits_of(float_of(ax) + Fmt::kSubnormalMagic) - bits_of(Fmt::kSubnormalMagic);
  const auto sax = static_cast<int32_t>(ax);  // < 2^31: signed compares (AVX2 has no unsigned ones)
  uint32_t code = select(sax >= static_cast<int32_t>(Fmt::kMinNormalExp << 23), normal, sub);
  code = select(sax >= static_cast<int32_t>(Fmt::kMaxBits), Fmt::kMaxCode, code) | sign;
  return select(sax > 0x7F800000, 0x7Fu, code);
}

template <typename Fmt>
FP8KIT_ALWAYS_INLINE float decode(uint8_t c);

template <>
FP8KIT_ALWAYS_INLINE float decode<E4m3>(uint8_t c) {
  const uint32_t u = c;
  const uint32_t sign = (u & 0x80u) << 24;
  const uint32_t mag = u & 0x7Fu;
  const uint32_t normal = sign | ((mag << 20) + (120u << 23));
  const uint32_t sub = sign | bits_of(static_cast<float>(static_cast<int32_t>(u & 0x7u)) * E4m3::kSubnormalStep);
  const uint32_t value = select(mag < 0x08u, sub, normal);
  return float_of(select(mag == 0x7Fu, numerics::kF32CanonicalNan, value));
}

template <>
FP8KIT_ALWAYS_INLINE float decode<E5m2>(uint8_t c) {
  const uint32_t u = c;
  const uint32_t sign = (u & 0x80u) << 24;
  const uint32_t mag = u & 0x7Fu;
  const uint32_t normal = sign | ((mag << 21) + (112u << 23));
  const uint32_t sub = sign | bits_of(static_cast<float>(static_cast<int32_t>(u & 0x3u)) * E5m2::kSubnormalStep);
  const uint32_t value = select(mag < 0x04u, sub, select(mag == 0x7Cu, sign | 0x7F800000u, normal));
  return float_of(select(mag > 0x7Cu, numerics::kF32CanonicalNan, value));
}

// ---------------------------------------------------------------------------------------------
// Narrowing stores of the high-precision output types (numerics::canonicalize_f32,
// float_to_bf16_bits, float_to_f16_bits).
// ---------------------------------------------------------------------------------------------

FP8KIT_ALWAYS_INLINE uint32_t to_f32_bits(float f) {
  const uint32_t x = bits_of(f);
  return select((x & 0x7FFFFFFFu) > 0x7F800000u, numerics::kF32CanonicalNan, x);
}

FP8KIT_ALWAYS_INLINE uint16_t to_bf16_bits(float f) {
  const uint32_t x = bits_of(f);
  const uint32_t rounded = (x + 0x7FFFu + ((x >> 16) & 1u)) >> 16;
  return static_cast<uint16_t>(select((x & 0x7FFFFFFFu) > 0x7F800000u, 0x7FC0u, rounded));
}

FP8KIT_ALWAYS_INLINE uint16_t to_f16_bits(float f) {
  const uint32_t x = bits_of(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  const uint32_t normal = (ax + 0xFFFu + ((ax >> 13) & 1u) - 0x38000000u) >> 13;
  const uint32_t sub = bits_of(float_of(ax) + 0.5f) - bits_of(0.5f);  // ulp of 0.5 is 2^-24
  uint32_t h = select(ax >= 0x38800000u, normal, sub);
  h = select(ax >= 0x477FF000u, 0x7C00u, h) | sign;
  return static_cast<uint16_t>(select(ax > 0x7F800000u, 0x7E00u, h));
}

}  // namespace fp8kit::cpu::vec
