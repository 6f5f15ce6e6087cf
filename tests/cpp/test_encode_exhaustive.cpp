// Every finite bf16 and f16 value, quantized at several scales by both CPU backends, against an
// independent exact oracle of the contract:
//
//   s = max(fp32(amax / fmax), 2^-126)  (or the smallest 2^e >= amax / fmax, e >= -126, for pow2)
//   q = encode_rne_satfinite(fp32(x / s))
//
// The oracle does not use numerics.h or floating-point arithmetic: x, s and fmax are exact dyadic
// rationals (integer significand, power-of-two exponent), the quotient is computed by 128-bit
// integer long division with a sticky bit, rounded to fp32 (24 bits, subnormals below 2^-126,
// overflow to inf) and then to the FP8 grid (round to nearest even, saturating at fmax), and the code
// is assembled from the resulting exponent and significand.
//
// Each value x sits in a group of two beside the format's largest input value, and the amax upper
// bound fixes the group's amax, so every group gets the scale under test: s = 1, 2^-7, 3, 7, 15,
// amax-like non-powers of two (amax / 448), tiny scales (1e-30, and the 2^-126 floor) and huge ones.
// s = 7 and 15 make a reciprocal multiply (x * (1 / s)) fail the test; amax = 1 catches
// x * (fmax / amax).
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fp8kit/fp8kit.h"
#include "test_support.h"

namespace fp8kit {
namespace {

using testing::HostMatrix;
__extension__ typedef unsigned __int128 u128;  // GCC/Clang extension, for exact long division

/// value = mant * 2^exp (mant >= 0).
struct Dyadic {
  u128 mant = 0;
  int exp = 0;
};

int bit_length(u128 v) {
  const auto hi = static_cast<uint64_t>(v >> 64), lo = static_cast<uint64_t>(v);
  if (hi != 0) return 128 - std::countl_zero(hi);
  return 64 - std::countl_zero(lo);
}

/// |f| of a finite float as a dyadic rational, from its bit fields.
Dyadic from_float(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f) & 0x7FFFFFFFu;
  const int e = static_cast<int>(u >> 23);
  const uint32_t m = u & 0x7FFFFFu;
  if (e == 0) return {m, -149};
  return {m | 0x800000u, e - 150};
}

/// -1, 0, 1 as a < b, a == b, a > b.
int compare(const Dyadic& a, const Dyadic& b) {
  if (a.mant == 0 || b.mant == 0) return (a.mant != 0) - (b.mant != 0);
  const int ta = bit_length(a.mant) + a.exp, tb = bit_length(b.mant) + b.exp;
  if (ta != tb) return ta < tb ? -1 : 1;
  const int shift = a.exp - b.exp;  // equal tops: the mantissas differ in length by |shift| < 128
  const u128 am = shift > 0 ? a.mant << shift : a.mant;
  const u128 bm = shift < 0 ? b.mant << -shift : b.mant;
  return am < bm ? -1 : am > bm ? 1 : 0;
}

/// Rounds (mant + sticky fraction) * 2^exp to nearest even on a binary grid with `precision`
/// significand bits and smallest normal 2^min_exp (subnormal step 2^(min_exp - precision + 1)).
Dyadic round_to_grid(u128 mant, bool sticky, int exp, int precision, int min_exp) {
  if (mant == 0) return {0, 0};
  const int top = bit_length(mant) - 1 + exp;  // value in [2^top, 2^(top+1))
  const int ulp = (top > min_exp ? top : min_exp) - (precision - 1);
  const int shift = ulp - exp;
  if (shift <= 0) return {mant, exp};  // already on the grid (sticky is only set with shift > 0)
  if (shift > 127) return {0, 0};      // below half the smallest step
  const u128 kept = mant >> shift;
  const u128 rem = mant & ((u128{1} << shift) - 1);
  const u128 half = u128{1} << (shift - 1);
  const bool up = rem > half || (rem == half && (sticky || (kept & 1) != 0));
  return {kept + (up ? 1 : 0), ulp};
}

/// fp32(a / b) for dyadics a >= 0, b > 0; `overflow` is set when it rounds past the fp32 range.
Dyadic divide_to_fp32(const Dyadic& a, const Dyadic& b, bool* overflow) {
  const u128 n = a.mant << 64;  // a.mant < 2^25: 89 bits of quotient precision are plenty
  const u128 q = n / b.mant;
  const bool sticky = n % b.mant != 0;
  const Dyadic r = round_to_grid(q, sticky, a.exp - b.exp - 64, 24, -126);
  *overflow = r.mant != 0 && bit_length(r.mant) + r.exp > 128;
  return r;
}

struct Fp8Grid {
  int precision, min_exp, bias;
  Dyadic max;
};

Fp8Grid grid_of(DType fp8) {
  if (fp8 == DType::e5m2) return {3, -14, 15, {7, 13}};  // 57344 = 7 * 2^13
  return {4, -6, 7, {7, 6}};                             // 448 = 7 * 2^6
}

/// The FP8 code the contract gives x (finite) at scale s (positive, finite, normal).
uint8_t oracle_code(float x, const Dyadic& s, DType fp8) {
  const Fp8Grid g = grid_of(fp8);
  const uint8_t sign = std::bit_cast<uint32_t>(x) >> 31 ? 0x80 : 0x00;
  bool overflow = false;
  const Dyadic v = divide_to_fp32(from_float(x), s, &overflow);
  Dyadic r = overflow ? g.max : round_to_grid(v.mant, false, v.exp, g.precision, g.min_exp);
  if (compare(r, g.max) > 0) r = g.max;  // saturate (464 rounds to 480 for e4m3: still 448)
  if (r.mant == 0) return sign;
  const int top = bit_length(r.mant) - 1 + r.exp;
  const int mantissa_bits = g.precision - 1;
  if (top < g.min_exp) {  // subnormal: a multiple of the smallest step
    return static_cast<uint8_t>(sign | static_cast<uint32_t>(r.mant << (r.exp - (g.min_exp - mantissa_bits))));
  }
  const int shift = r.exp - (top - mantissa_bits);  // significand in [2^mb, 2^(mb+1))
  const u128 significand = shift >= 0 ? r.mant << shift : r.mant >> -shift;
  const auto field = static_cast<uint32_t>(significand) - (1u << mantissa_bits);
  return static_cast<uint8_t>(sign | static_cast<uint32_t>(top + g.bias) << mantissa_bits | field);
}

/// The contract's scale for amax (finite, > 0) as a dyadic, by exact arithmetic.
Dyadic oracle_scale(float amax, DType fp8, bool pow2) {
  const Dyadic a = from_float(amax);
  const Dyadic fmax = grid_of(fp8).max;
  const Dyadic min_normal{1, -126};
  if (pow2) {
    for (int e = -126;; ++e) {
      if (compare(a, {fmax.mant, fmax.exp + e}) <= 0) return {1, e};
    }
  }
  bool overflow = false;
  const Dyadic s = divide_to_fp32(a, fmax, &overflow);
  return compare(s, min_normal) < 0 ? min_normal : s;
}

float to_float(const Dyadic& d) { return std::ldexp(static_cast<float>(static_cast<uint64_t>(d.mant)), d.exp); }

struct ScaleCase {
  float bound;  // the amax every group sees
  bool pow2;
};

/// The value of a bf16 or f16 code, from its bit fields (exact in fp32); NaN for NaN and inf codes.
float value_of(DType in, uint16_t h) {
  if (in == DType::bf16) {
    const float v = std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
    return std::isfinite(v) ? v : NAN;
  }
  const int e = (h >> 10) & 0x1F, m = h & 0x3FF;
  if (e == 0x1F) return NAN;
  const float mag = e == 0 ? std::ldexp(static_cast<float>(m), -24) : std::ldexp(static_cast<float>(m | 0x400), e - 25);
  return (h & 0x8000) != 0 ? -mag : mag;
}

void check_all_values(DType in, DType fp8, const ScaleCase& sc, Backend backend) {
  const uint16_t largest_code = in == DType::bf16 ? 0x7F7F : 0x7BFF;  // the largest finite value
  const float largest = value_of(in, largest_code);
  std::vector<uint16_t> codes;
  std::vector<float> values;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float v = value_of(in, static_cast<uint16_t>(h));
    if (std::isnan(v)) continue;  // NaN / inf make NaN groups: tested in the edge cases
    codes.insert(codes.end(), {static_cast<uint16_t>(h), largest_code});
    values.insert(values.end(), {v, largest});
  }
  const auto n = static_cast<int64_t>(values.size());
  HostMatrix x(in, 1, n);
  std::memcpy(x.bytes.data(), codes.data(), x.bytes.size());
  HostMatrix q(fp8, 1, n);
  const DType scale_dtype = sc.pow2 && fp8 == DType::e4m3fn ? DType::ue8m0 : DType::f32;
  testing::HostScaleGrid s(scale_dtype, 1, n / 2, false, n / 2);
  QuantizeOptions o;
  o.backend = backend;
  o.amax_upper_bound = sc.bound;
  const ScaleSpec spec = sc.pow2 ? ScaleSpec::group(2).pow2() : ScaleSpec::group(2);
  quantize(x.view(), q.view(), s.view(), spec, o);

  const float amax = std::min(largest, sc.bound);
  const Dyadic scale = oracle_scale(amax, fp8, sc.pow2);
  int failures = 0;
  for (int64_t g = 0; g < n / 2 && failures < 10; ++g) {
    if (s.get(0, g) != to_float(scale)) {
      ADD_FAILURE() << "group " << g << ": scale " << s.get(0, g) << ", oracle " << to_float(scale);
      ++failures;
    }
    for (int64_t i = 2 * g; i < 2 * g + 2; ++i) {
      const uint8_t want = oracle_code(values[static_cast<size_t>(i)], scale, fp8);
      if (*q.at(0, i) != want) {
        ADD_FAILURE() << "x = " << values[static_cast<size_t>(i)] << " (bits 0x" << std::hex
                      << std::bit_cast<uint32_t>(values[static_cast<size_t>(i)]) << ") code 0x" << int{*q.at(0, i)}
                      << ", oracle 0x" << int{want} << std::dec;
        ++failures;
      }
    }
  }
}

class EncodeExhaustive : public ::testing::TestWithParam<std::tuple<DType, DType, Backend>> {};

TEST_P(EncodeExhaustive, Every16BitValueAtSeveralScales) {
  const auto [in, fp8, backend] = GetParam();
  const float fmax = traits(format_of(fp8)).max_finite;
  const std::vector<ScaleCase> cases = {
      {fmax, false},                       // s = 1
      {fmax * 0.0078125f, false},          // s = 2^-7
      {fmax * 3.0f, false},                // s = 3
      {fmax * 7.0f, false},                // s = 7 and 15: x / s lands on FP8 ties, where x * (1 / s)
      {fmax * 15.0f, false},               // rounds the other way (60 and 4 bf16 values for e4m3)
      {1.0f, false},                       // s = fp32(1 / fmax): amax-like, not a power of two
      {3.7f, false},     {0.0123f, false}, {1000.5f, false}, {12345.6f, false},
      {fmax * 1e-30f, false},              // s ~ 1e-30
      {1e-40f, false},                     // s = 2^-126, the floor
      {3.0e38f, false},                    // a huge scale: most values flush to zero
      {3.7f, true},      {fmax, true},     {1e-30f, true}, {1e-40f, true}, {3.0e38f, true},
  };
  for (const ScaleCase& sc : cases) {
    SCOPED_TRACE(detail::concat("amax ", sc.bound, sc.pow2 ? " pow2" : " exact"));
    check_all_values(in, fp8, sc, backend);
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, EncodeExhaustive,
    ::testing::Combine(::testing::Values(DType::bf16, DType::f16), ::testing::Values(DType::e4m3fn, DType::e5m2),
                       ::testing::Values(Backend::cpu_reference, Backend::cpu)),
    [](const auto& param_info) {
      return std::string(dtype_name(std::get<0>(param_info.param))) + "_" + std::string(dtype_name(std::get<1>(param_info.param))) +
             "_" + std::string(backend_name(std::get<2>(param_info.param)));
    });

}  // namespace
}  // namespace fp8kit
