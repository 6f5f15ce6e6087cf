// numerics.h: the numerics contract of docs/numerics.md as code, for the CPU and for CUDA kernels.
//
// Every function here is built only from IEEE-754 basic operations (each rounded to nearest even) and
// integer bit manipulation, so the host and the device compute the same bits. The contract's own
// arithmetic never fuses a multiply-add; the one explicit fused multiply-add (fma_rn) serves
// div_by_scale, whose result is proven equal to the IEEE division it replaces. Host code including this
// file must be compiled with -ffp-contract=off (the build sets it); device code uses the __f*_rn
// intrinsics, which the compiler never contracts.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define FP8KIT_HD __host__ __device__ __forceinline__
#else
#define FP8KIT_HD inline
#endif

namespace fp8kit::numerics {

// ---------------------------------------------------------------------------------------------
// Bits and IEEE operations
// ---------------------------------------------------------------------------------------------

FP8KIT_HD uint32_t bits_of(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

FP8KIT_HD float float_of(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

FP8KIT_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

FP8KIT_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

FP8KIT_HD float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

/// IEEE division, correctly rounded (never a reciprocal multiply).
FP8KIT_HD float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

/// a * b + c rounded once (a fused multiply-add; std::fma on the host is exact too).
FP8KIT_HD float fma_rn(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

/// 1 / s, correctly rounded.
FP8KIT_HD float rcp_rn(float s) {
#if defined(__CUDA_ARCH__)
  return __frcp_rn(s);
#else
  return 1.0f / s;
#endif
}

inline constexpr uint32_t kF32CanonicalNan = 0x7FC00000u;
inline constexpr uint32_t kF32MinNormalBits = 0x00800000u;  // 2^-126
inline constexpr uint32_t kF32MaxFiniteBits = 0x7F7FFFFFu;

FP8KIT_HD bool is_nan(float f) { return (bits_of(f) & 0x7FFFFFFFu) > 0x7F800000u; }
/// True for NaN and +-inf.
FP8KIT_HD bool is_nonfinite(float f) { return (bits_of(f) & 0x7FFFFFFFu) >= 0x7F800000u; }
FP8KIT_HD float abs_of(float f) { return float_of(bits_of(f) & 0x7FFFFFFFu); }
FP8KIT_HD float canonical_nan() { return float_of(kF32CanonicalNan); }

/// Shifts `mant` right by `shift` (>= 1) rounding to nearest, ties to even.
FP8KIT_HD uint32_t shift_right_rne(uint32_t mant, int shift) {
  if (shift >= 32) return 0;
  const uint32_t q = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}

// ---------------------------------------------------------------------------------------------
// 16-bit float types <-> fp32. Widening is exact. Narrowing rounds to nearest even; NaN becomes the
// canonical positive quiet NaN of the target (0x7FC0 bf16, 0x7E00 f16), overflow becomes +-inf.
// ---------------------------------------------------------------------------------------------

FP8KIT_HD float bf16_bits_to_float(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

FP8KIT_HD uint16_t float_to_bf16_bits(float f) {
  const uint32_t x = bits_of(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0u;
  const uint32_t rounded = x + 0x7FFFu + ((x >> 16) & 1u);  // carries into the exponent correctly
  return static_cast<uint16_t>(rounded >> 16);
}

FP8KIT_HD float f16_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1Fu;
  const uint32_t m = h & 0x3FFu;
  if (e == 0x1F) return float_of(sign | 0x7F800000u | (m << 13));
  if (e != 0) return float_of(sign | ((e + 112u) << 23) | (m << 13));
  // subnormal: m * 2^-24, exact in fp32
  return float_of(sign | bits_of(mul_rn(static_cast<float>(m), 5.9604644775390625e-08f)));
}

FP8KIT_HD uint16_t float_to_f16_bits(float f) {
  const uint32_t x = bits_of(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return 0x7E00u;
  if (ax >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // >= 65520 rounds to inf
  if (ax >= 0x38800000u) {                                              // >= 2^-14: normal
    const uint32_t r = ax + 0xFFFu + ((ax >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((r - 0x38000000u) >> 13));
  }
  const uint32_t e = ax >> 23;
  if (e == 0) return static_cast<uint16_t>(sign);  // fp32 subnormal: far below half of 2^-24
  const uint32_t mant = (ax & 0x7FFFFFu) | 0x800000u;
  return static_cast<uint16_t>(sign | shift_right_rne(mant, static_cast<int>(126u - e)));
}

/// f32 stored with NaN canonicalised, so every backend writes the same bits.
FP8KIT_HD float canonicalize_f32(float f) { return is_nan(f) ? canonical_nan() : f; }

// ---------------------------------------------------------------------------------------------
// FP8 encode (round to nearest even, saturate to +-max, NaN -> 0x7F) and decode (exact).
// ---------------------------------------------------------------------------------------------

/// e4m3fn: 4 exponent bits (bias 7), 3 mantissa bits, max 448 (0x7E), no inf, NaN 0x7F/0xFF.
FP8KIT_HD uint8_t encode_e4m3fn(float v) {
  const uint32_t x = bits_of(v);
  const uint32_t sign = (x >> 24) & 0x80u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return 0x7Fu;
  if (ax >= 0x43E00000u) return static_cast<uint8_t>(sign | 0x7Eu);  // >= 448 (and inf): saturate
  const uint32_t e = ax >> 23;
  if (e >= 121u) {  // >= 2^-6: normal; round the mantissa at bit 20 and rebias 127 -> 7
    const uint32_t r = ax + 0x7FFFFu + ((ax >> 20) & 1u);
    return static_cast<uint8_t>(sign | ((r >> 20) - (120u << 3)));
  }
  if (e == 0) return static_cast<uint8_t>(sign);
  const uint32_t mant = (ax & 0x7FFFFFu) | 0x800000u;  // value = mant * 2^(e-150); units of 2^-9
  return static_cast<uint8_t>(sign | shift_right_rne(mant, static_cast<int>(141u - e)));
}

/// e5m2: 5 exponent bits (bias 15), 2 mantissa bits, max 57344 (0x7B), inf 0x7C, NaN 0x7D-0x7F.
FP8KIT_HD uint8_t encode_e5m2(float v) {
  const uint32_t x = bits_of(v);
  const uint32_t sign = (x >> 24) & 0x80u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return 0x7Fu;
  if (ax >= 0x47600000u) return static_cast<uint8_t>(sign | 0x7Bu);  // >= 57344 (and inf): saturate
  const uint32_t e = ax >> 23;
  if (e >= 113u) {  // >= 2^-14: normal; round at bit 21 and rebias 127 -> 15
    const uint32_t r = ax + 0xFFFFFu + ((ax >> 21) & 1u);
    return static_cast<uint8_t>(sign | ((r >> 21) - (112u << 2)));
  }
  if (e == 0) return static_cast<uint8_t>(sign);
  const uint32_t mant = (ax & 0x7FFFFFu) | 0x800000u;  // units of 2^-16
  return static_cast<uint8_t>(sign | shift_right_rne(mant, static_cast<int>(134u - e)));
}

/// Exact value of an e4m3fn code; both NaN codes decode to the canonical fp32 NaN.
FP8KIT_HD float decode_e4m3fn(uint8_t c) {
  const uint32_t sign = static_cast<uint32_t>(c & 0x80u) << 24;
  const uint32_t e = (c >> 3) & 0xFu;
  const uint32_t m = c & 0x7u;
  if (e == 0xFu && m == 0x7u) return canonical_nan();
  if (e == 0) return float_of(sign | bits_of(mul_rn(static_cast<float>(m), 0.001953125f)));
  return float_of(sign | ((e + 120u) << 23) | (m << 20));
}

/// Exact value of an e5m2 code; NaN codes decode to the canonical fp32 NaN, 0x7C/0xFC to +-inf.
FP8KIT_HD float decode_e5m2(uint8_t c) {
  const uint32_t sign = static_cast<uint32_t>(c & 0x80u) << 24;
  const uint32_t e = (c >> 2) & 0x1Fu;
  const uint32_t m = c & 0x3u;
  if (e == 0x1Fu) return m == 0 ? float_of(sign | 0x7F800000u) : canonical_nan();
  if (e == 0) return float_of(sign | bits_of(mul_rn(static_cast<float>(m), 1.52587890625e-05f)));
  return float_of(sign | ((e + 112u) << 23) | (m << 21));
}

// ---------------------------------------------------------------------------------------------
// Division by a scale, fast and exact. Quantization divides every element of a tile by the tile's
// scale s; the IEEE division (div_rn) costs a dozen instructions and a branch on a GPU. With the
// correctly rounded reciprocal y = rcp_rn(s), computed once per tile, Markstein's correction gives
// the same bits in three operations:
//   q0 = x * y,  r = x - q0 * s (fused, exact),  q = q0 + r * y (fused)  ==  fp32(x / s)
// (div_by_scale computes -r and subtracts, which keeps the sign of a zero quotient).
// The equality holds whenever no step underflows or overflows (ScaleDivisor's fast domain); it is
// proven by tests/cpp/test_div_by_scale.cpp: an analytic bound on |q0 + r*y - x/s| plus an exhaustive
// check of every significand pair whose quotient lies close enough to a rounding boundary to break
// it, and brute force over all bf16 and f16 x and 10^8 random f32 x. The CPU reference keeps the
// plain division; kernels may use either.
// ---------------------------------------------------------------------------------------------

/// fp32(x / s) for x in ScaleDivisor(s)'s fast domain, from y = rcp_rn(s). The remainder is formed
/// negated, n = q0 * s - x (= -r, exact), and q = q0 - n * y: the same values as above, and the signs
/// of zeros come out right by themselves. x = -0 gives q0 = -0, n = +0 and q = -0 + -0 = -0; the plain
/// order (r = x - q0 * s = +0, q = +0 + -0 = +0) lost the sign and needed x's sign ORed back, one more
/// instruction per element in the GPU kernels. For x != 0 in the domain q0 != 0, so a zero n (either
/// sign) leaves q = q0 as before.
FP8KIT_HD float div_by_scale(float x, float s, float y) {
  const float q0 = mul_rn(x, y);
  const float n = fma_rn(q0, s, -x);
  return fma_rn(-n, y, q0);
}

/// Division of many x by one scale s: div_by_scale where x is in the fast domain, div_rn elsewhere,
/// so divide(x) == fp32(x / s) for every x and s.
///
/// Fast domain: s in [2^-126, 2^126] (so y = rcp_rn(s) is normal and s is not NaN), and |x| == 0 or
/// lo <= |x| <= hi with lo = max(2^-100, s * 2^-124) and hi = min(s * 2^125, max finite):
///  * |x| >= 2^-100 keeps the remainder r = x - q0 * s exact (it is a multiple of 2^(e_x - 47), which
///    must not fall below the smallest subnormal 2^-149);
///  * 2^-124 <= |x / s| <= 2^125 keeps q0, r * y and q normal and finite.
/// Quantization tiles lie inside it unless they hold values below 2^-100 (or an amax upper bound
/// far below their amax): callers check a whole tile, or a lane's share of it, once (covers) and take
/// the per-element path only when that fails.
struct ScaleDivisor {
  float s = 1.0f;
  float y = 1.0f;           // rcp_rn(s)
  uint32_t lo_bits = 1;     // bits of lo; UINT32_MAX when s is outside [2^-126, 2^126]
  uint32_t hi_bits = 0;     // bits of hi; 0 when s is outside [2^-126, 2^126]
  bool valid = false;       // s in [2^-126, 2^126]

  FP8KIT_HD static ScaleDivisor of(float s) {
    ScaleDivisor d;
    d.s = s;
    d.y = rcp_rn(s);
    d.valid = s >= float_of(kF32MinNormalBits) && s <= float_of(253u << 23);  // 2^-126 .. 2^126
    if (d.valid) {
      const float lo = mul_rn(s, float_of(3u << 23));    // s * 2^-124: exact where it exceeds 2^-100
      const float hi = mul_rn(s, float_of(252u << 23));  // s * 2^125: exact or inf
      const float floor = float_of(27u << 23);           // 2^-100
      d.lo_bits = bits_of(lo > floor ? lo : floor);
      d.hi_bits = hi < float_of(kF32MaxFiniteBits) ? bits_of(hi) : kF32MaxFiniteBits;
    } else {
      d.lo_bits = 0xFFFFFFFFu;
      d.hi_bits = 0;
    }
    return d;
  }

  /// True when every x with |x| == 0 or min_abs <= |x| <= max_abs is in the fast domain, given
  /// min_abs_minus_one = bits(min nonzero |x|) - 1 (UINT32_MAX when every x is zero) and max_abs =
  /// bits(max |x|) (NaN and inf give bits above every finite value, so they fail).
  FP8KIT_HD bool covers(uint32_t min_abs_minus_one, uint32_t max_abs_bits) const {
    return valid && min_abs_minus_one >= lo_bits - 1u && max_abs_bits <= hi_bits;
  }

  FP8KIT_HD bool in_fast_domain(float x) const {
    const uint32_t a = bits_of(x) & 0x7FFFFFFFu;
    return covers(a - 1u, a);
  }

  /// fp32(x / s), for any x.
  FP8KIT_HD float divide(float x) const { return in_fast_domain(x) ? div_by_scale(x, s, y) : div_rn(x, s); }
};

// ---------------------------------------------------------------------------------------------
// Scales (docs/numerics.md, "Scales"). s is the dequantization multiplier: x ~= decode(q) * s.
// ---------------------------------------------------------------------------------------------

/// Folds |v| into a group's running amax. NaN and +-inf are tracked apart (fmax would drop NaN).
struct AmaxAccumulator {
  float amax = 0.0f;
  bool nonfinite = false;

  FP8KIT_HD void add(float v) {
    const float a = abs_of(v);
    nonfinite = nonfinite || is_nonfinite(a);
    amax = a > amax ? a : amax;
  }
  FP8KIT_HD void merge(const AmaxAccumulator& o) {
    nonfinite = nonfinite || o.nonfinite;
    amax = o.amax > amax ? o.amax : amax;
  }
  /// The amax the scale rule sees: NaN if the group holds NaN or inf; else min(amax, bound) when a
  /// bound > 0 is given.
  FP8KIT_HD float effective(float upper_bound) const {
    if (nonfinite) return canonical_nan();
    return (upper_bound > 0.0f && amax > upper_bound) ? upper_bound : amax;
  }
};

/// exact rounding: s = max(fp32(amax / fmax), 2^-126); all-zero group: s = 1; NaN/inf amax: NaN.
/// `divide(amax)` computes fp32(amax / fmax).
template <class Divide>
FP8KIT_HD float scale_exact_with(float amax, Divide&& divide) {
  if (!(amax <= float_of(kF32MaxFiniteBits))) return canonical_nan();
  if (amax == 0.0f) return 1.0f;
  const float s = divide(amax);
  return bits_of(s) < kF32MinNormalBits ? float_of(kF32MinNormalBits) : s;
}

FP8KIT_HD float scale_exact(float amax, float fmax) {
  return scale_exact_with(amax, [fmax](float a) { return div_rn(a, fmax); });
}

/// The same bits, dividing through the ScaleDivisor of fmax (kernels: no IEEE division per tile).
FP8KIT_HD float scale_exact(float amax, const ScaleDivisor& fmax) {
  return scale_exact_with(amax, [&fmax](float a) { return fmax.divide(a); });
}

/// pow2 (UE8M0) rounding: the smallest s = 2^e with amax <= fmax * s, and e >= -126; all-zero group:
/// s = 1; NaN/inf amax: NaN. Computed exactly from the exponent and significand bits.
FP8KIT_HD float scale_pow2(float amax, float fmax) {
  if (!(amax <= float_of(kF32MaxFiniteBits))) return canonical_nan();
  if (amax == 0.0f) return 1.0f;
  const uint32_t a = bits_of(amax);
  const uint32_t f = bits_of(fmax);
  const int ea = static_cast<int>(a >> 23);  // 0 for subnormal amax, whose e is far below -126
  if (ea == 0) return float_of(kF32MinNormalBits);
  const int ef = static_cast<int>(f >> 23);
  int e = ea - ef + (((a & 0x7FFFFFu) > (f & 0x7FFFFFu)) ? 1 : 0);
  if (e < -126) e = -126;
  return float_of(static_cast<uint32_t>(e + 127) << 23);
}

/// The UE8M0 byte of a power-of-two scale (its biased exponent); NaN -> 255.
FP8KIT_HD uint8_t ue8m0_from_pow2(float s) {
  return is_nan(s) ? uint8_t{255} : static_cast<uint8_t>(bits_of(s) >> 23);
}

/// 2^(b-127); 255 -> NaN; 0 -> 2^-127 (an fp32 subnormal).
FP8KIT_HD float ue8m0_to_float(uint8_t b) {
  if (b == 255) return canonical_nan();
  if (b == 0) return float_of(0x00400000u);
  return float_of(static_cast<uint32_t>(b) << 23);
}

// ---------------------------------------------------------------------------------------------
// SiLU for the fused MLP kernel: silu(g) = g / (1 + exp(-g)), with an exp built from basic
// operations so CPU and GPU agree bit for bit (libm expf and CUDA expf differ in the last ulp).
// ---------------------------------------------------------------------------------------------

/// exp(x) to about 1 ulp: Cody-Waite reduction by ln2, a degree-6 polynomial, exact 2^n scaling.
/// Written without branches (the special inputs are selected at the end, and the scaling multiplies
/// by exactly 1 when no pre-scaling is needed), so a GPU overlaps many of them.
FP8KIT_HD float exp_portable(float x) {
  const bool in_range = x >= -103.972076416015625f && x <= 88.72283935546875f;  // false for NaN
  const float xr = in_range ? x : 0.0f;  // keeps the conversion to int below defined
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer (ties to even)
  const float n = sub_rn(add_rn(mul_rn(xr, 1.44269502162933349609375f), magic), magic);
  const float ln2_hi = 0.693145751953125f;       // exact in 16 bits, so n * ln2_hi is exact
  const float ln2_lo = 1.428606765330187045e-06f;
  const float r = sub_rn(sub_rn(xr, mul_rn(n, ln2_hi)), mul_rn(n, ln2_lo));
  float p = 1.0f / 720.0f;
  p = add_rn(mul_rn(p, r), 1.0f / 120.0f);
  p = add_rn(mul_rn(p, r), 1.0f / 24.0f);
  p = add_rn(mul_rn(p, r), 1.0f / 6.0f);
  p = add_rn(mul_rn(p, r), 0.5f);
  p = add_rn(mul_rn(p, r), 1.0f);
  p = add_rn(mul_rn(p, r), 1.0f);
  // 2^ni by one or two exact power-of-two products (ni in [-150, 128])
  const int ni = static_cast<int>(n);
  const bool high = ni > 127, low = ni < -126;
  p = mul_rn(p, high ? float_of(254u << 23) : low ? float_of(1u << 23) : 1.0f);  // 2^127, 2^-126 or 1
  const int rest = high ? ni - 127 : low ? ni + 126 : ni;
  const float e = mul_rn(p, float_of(static_cast<uint32_t>(rest + 127) << 23));
  if (is_nan(x)) return canonical_nan();
  if (x > 88.72283935546875f) return float_of(0x7F800000u);
  return in_range ? e : 0.0f;
}

FP8KIT_HD float silu(float g) { return div_rn(g, add_rn(1.0f, exp_portable(-g))); }

/// One element of the fused MLP activation: bf16(silu(gate) * up).
FP8KIT_HD uint16_t silu_mul_bf16(float gate, float up) { return float_to_bf16_bits(mul_rn(silu(gate), up)); }

}  // namespace fp8kit::numerics
