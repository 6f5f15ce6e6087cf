// FP8 codec: every code of both formats decodes to the value its bit fields define (checked with an
// independent double-precision decoder), encode inverts decode, and the saturation/NaN rules hold.
#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

#include "common/numerics.h"
#include "fp8kit/format.h"

namespace fp8kit {
namespace {

/// Independent decoder: value = (-1)^s * 2^(e - bias) * (1 + m / 2^mb), or subnormal m * 2^(1 - bias - mb).
double decode_fields(uint8_t code, const FormatTraits& t, bool* is_nan, bool* is_inf) {
  const int mb = t.mantissa_bits;
  const int eb = t.exponent_bits;
  const int s = code >> 7;
  const int e = (code >> mb) & ((1 << eb) - 1);
  const int m = code & ((1 << mb) - 1);
  const int emax = (1 << eb) - 1;
  *is_nan = false;
  *is_inf = false;
  if (t.has_infinity && e == emax) {  // IEEE-like (e5m2)
    if (m == 0) *is_inf = true; else *is_nan = true;
    return 0.0;
  }
  if (!t.has_infinity && e == emax && m == (1 << mb) - 1) {  // e4m3fn: only S.1111.111 is NaN
    *is_nan = true;
    return 0.0;
  }
  const double mag = e == 0 ? std::ldexp(m, 1 - t.exponent_bias - mb) : std::ldexp((1 << mb) + m, e - t.exponent_bias - mb);
  return s ? -mag : mag;
}

float decode(Fp8Format f, uint8_t c) {
  return f == Fp8Format::e4m3fn ? numerics::decode_e4m3fn(c) : numerics::decode_e5m2(c);
}
uint8_t encode(Fp8Format f, float v) {
  return f == Fp8Format::e4m3fn ? numerics::encode_e4m3fn(v) : numerics::encode_e5m2(v);
}

class Fp8Codec : public ::testing::TestWithParam<Fp8Format> {};

TEST_P(Fp8Codec, DecodesAll256CodesExactly) {
  const Fp8Format f = GetParam();
  const FormatTraits& t = traits(f);
  for (int c = 0; c < 256; ++c) {
    bool nan = false, inf = false;
    const double expected = decode_fields(static_cast<uint8_t>(c), t, &nan, &inf);
    const float got = decode(f, static_cast<uint8_t>(c));
    if (nan) {
      EXPECT_EQ(numerics::bits_of(got), numerics::kF32CanonicalNan) << t.name << " code 0x" << std::hex << c;
    } else if (inf) {
      EXPECT_TRUE(std::isinf(got) && std::signbit(got) == ((c & 0x80) != 0)) << t.name << " code 0x" << std::hex << c;
    } else {
      EXPECT_EQ(static_cast<double>(got), expected) << t.name << " code 0x" << std::hex << c;
      EXPECT_EQ(std::signbit(got), (c & 0x80) != 0) << t.name << " code 0x" << std::hex << c;
    }
  }
}

TEST_P(Fp8Codec, EncodeInvertsDecodeForEveryFiniteCode) {
  const Fp8Format f = GetParam();
  for (int c = 0; c < 256; ++c) {
    const float v = decode(f, static_cast<uint8_t>(c));
    if (!std::isfinite(v)) continue;
    EXPECT_EQ(encode(f, v), c) << traits(f).name << " value " << v;
  }
}

TEST_P(Fp8Codec, TraitsMatchTheCodes) {
  const Fp8Format f = GetParam();
  const FormatTraits& t = traits(f);
  EXPECT_EQ(decode(f, t.max_finite_code), t.max_finite);
  EXPECT_EQ(decode(f, 0x01), t.min_subnormal);
  EXPECT_EQ(decode(f, static_cast<uint8_t>(1 << t.mantissa_bits)), t.min_normal);
  EXPECT_TRUE(std::isnan(decode(f, t.nan_code)));
}

TEST_P(Fp8Codec, SaturatesFiniteOverflowAndInfinity) {
  const Fp8Format f = GetParam();
  const FormatTraits& t = traits(f);
  const uint8_t pos = t.max_finite_code, neg = static_cast<uint8_t>(t.max_finite_code | 0x80);
  for (float v : {t.max_finite, std::nextafter(t.max_finite, INFINITY), t.max_finite * 1.0625f, t.max_finite * 1.125f,
                  t.max_finite * 2.0f, 1e30f, INFINITY}) {
    EXPECT_EQ(encode(f, v), pos) << t.name << " " << v;
    EXPECT_EQ(encode(f, -v), neg) << t.name << " " << -v;
  }
  EXPECT_EQ(encode(f, NAN), t.nan_code);
  EXPECT_EQ(encode(f, -NAN), t.nan_code);
}

TEST(Fp8CodecE4m3, EdgeValuesFromThePeerSurvey) {
  EXPECT_EQ(numerics::encode_e4m3fn(448.0f), 0x7E);
  EXPECT_EQ(numerics::encode_e4m3fn(448.0001f), 0x7E);
  EXPECT_EQ(numerics::encode_e4m3fn(464.0f), 0x7E);  // the tie above 448 would round to 480: saturates
  EXPECT_EQ(numerics::encode_e4m3fn(465.0f), 0x7E);
  EXPECT_EQ(numerics::encode_e4m3fn(480.0f), 0x7E);
  EXPECT_EQ(numerics::encode_e4m3fn(-0.0f), 0x80);
  EXPECT_EQ(numerics::encode_e4m3fn(std::ldexp(1.0f, -9)), 0x01);   // smallest subnormal
  EXPECT_EQ(numerics::encode_e4m3fn(std::ldexp(1.0f, -10)), 0x00);  // tie between 0 and 2^-9: even
  EXPECT_EQ(numerics::encode_e4m3fn(std::ldexp(1.5f, -10)), 0x01);
  EXPECT_EQ(numerics::encode_e4m3fn(std::ldexp(3.0f, -10)), 0x02);  // 1.5 * 2^-9: tie to even (2)
  EXPECT_EQ(numerics::encode_e4m3fn(std::ldexp(1.0f, -130)), 0x00);  // fp32 subnormal
  EXPECT_EQ(numerics::encode_e4m3fn(1.0625f), 0x38);  // tie between 1 and 1.125: even (1)
  EXPECT_EQ(numerics::encode_e4m3fn(1.1875f), 0x3A);  // tie between 1.125 and 1.25: even (1.25)
}

INSTANTIATE_TEST_SUITE_P(Formats, Fp8Codec, ::testing::Values(Fp8Format::e4m3fn, Fp8Format::e5m2),
                         [](const auto& param_info) { return std::string(traits(param_info.param).name); });

}  // namespace
}  // namespace fp8kit
