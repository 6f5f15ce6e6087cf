// The scale rule of docs/numerics.md: exact and pow2 (UE8M0) scales, all-zero, tiny, huge and
// non-finite amax, the UE8M0 byte encoding.
#include <cmath>

#include <gtest/gtest.h>

#include "common/numerics.h"

namespace fp8kit::numerics {
namespace {

constexpr float kE4m3Max = 448.0f;

TEST(ScaleRule, ExactIsIeeeDivision) {
  for (float amax : {1.0f, 3.0f, 448.0f, 1e-3f, 12345.678f, 3.0e38f}) {
    EXPECT_EQ(scale_exact(amax, kE4m3Max), amax / kE4m3Max) << amax;
  }
}

TEST(ScaleRule, AllZeroGroupHasScaleOne) {
  EXPECT_EQ(scale_exact(0.0f, kE4m3Max), 1.0f);
  EXPECT_EQ(scale_pow2(0.0f, kE4m3Max), 1.0f);
}

TEST(ScaleRule, TinyAmaxIsFlooredAtSmallestNormal) {
  const float min_normal = std::ldexp(1.0f, -126);
  for (float amax : {1e-40f, 1e-45f, 1e-38f, std::ldexp(1.0f, -120)}) {
    EXPECT_EQ(scale_exact(amax, kE4m3Max), std::max(amax / kE4m3Max, min_normal)) << amax;
    EXPECT_GE(scale_pow2(amax, kE4m3Max), min_normal) << amax;
    EXPECT_TRUE(std::isnormal(scale_exact(amax, kE4m3Max)));
  }
}

TEST(ScaleRule, NonFiniteAmaxGivesNan) {
  EXPECT_TRUE(std::isnan(scale_exact(INFINITY, kE4m3Max)));
  EXPECT_TRUE(std::isnan(scale_exact(NAN, kE4m3Max)));
  EXPECT_TRUE(std::isnan(scale_pow2(INFINITY, kE4m3Max)));
  EXPECT_TRUE(std::isnan(scale_pow2(NAN, kE4m3Max)));
}

TEST(ScaleRule, Pow2IsSmallestPowerOfTwoCoveringAmax) {
  for (float amax : {448.0f, 449.0f, 224.0f, 256.0f, 1.0f, 0.001f, 3.0e38f, 1e-30f, 7.0f, 1e5f}) {
    const float s = scale_pow2(amax, kE4m3Max);
    int e = 0;
    EXPECT_EQ(std::frexp(s, &e), 0.5f) << "not a power of two: " << s;
    EXPECT_LE(amax, kE4m3Max * s) << amax;
    if (s > std::ldexp(1.0f, -126)) {
      EXPECT_GT(amax, kE4m3Max * (s / 2)) << amax;
    }
  }
  EXPECT_EQ(scale_pow2(448.0f, kE4m3Max), 1.0f);   // exactly 2^0
  EXPECT_EQ(scale_pow2(896.0f, kE4m3Max), 2.0f);   // a scale of exactly 2^k stays 2^k
  EXPECT_EQ(scale_pow2(449.0f, kE4m3Max), 2.0f);
}

TEST(ScaleRule, Ue8m0BytesRoundTrip) {
  for (int b = 1; b < 255; ++b) {
    const float s = ue8m0_to_float(static_cast<uint8_t>(b));
    EXPECT_EQ(s, std::ldexp(1.0f, b - 127));
    EXPECT_EQ(ue8m0_from_pow2(s), b);
  }
  EXPECT_TRUE(std::isnan(ue8m0_to_float(255)));
  EXPECT_EQ(ue8m0_to_float(0), std::ldexp(1.0f, -127));
  EXPECT_EQ(ue8m0_from_pow2(NAN), 255);
}

TEST(ScaleRule, AmaxAccumulatorTracksNonFinite) {
  AmaxAccumulator acc;
  acc.add(-3.0f);
  acc.add(2.0f);
  EXPECT_EQ(acc.effective(0.0f), 3.0f);
  EXPECT_EQ(acc.effective(2.5f), 2.5f);  // the upper bound clamps
  acc.add(NAN);
  EXPECT_TRUE(std::isnan(acc.effective(0.0f)));
  AmaxAccumulator inf;
  inf.add(-INFINITY);
  EXPECT_TRUE(std::isnan(inf.effective(100.0f)));  // a bound does not hide inf
}

TEST(PortableExp, CloseToLibmAndDeterministicRange) {
  for (float x = -87.0f; x <= 88.0f; x += 0.37f) {  // normal results: relative error
    const double want = std::exp(static_cast<double>(x));
    const double got = exp_portable(x);
    EXPECT_NEAR(got / want, 1.0, 4e-7) << x;
  }
  for (float x = -103.0f; x < -87.5f; x += 0.37f) {  // subnormal results: within one subnormal step
    EXPECT_NEAR(exp_portable(x), std::exp(static_cast<double>(x)), std::ldexp(1.0, -149)) << x;
  }
  EXPECT_TRUE(std::isinf(exp_portable(89.0f)));
  EXPECT_EQ(exp_portable(-104.0f), 0.0f);
  EXPECT_TRUE(std::isnan(exp_portable(NAN)));
  EXPECT_EQ(exp_portable(0.0f), 1.0f);
}

TEST(HalfConversions, RoundTripAndRounding) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_bits_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_EQ(float_to_f16_bits(f), 0x7E00);
    } else {
      EXPECT_EQ(float_to_f16_bits(f), h) << std::hex << h;
    }
    const float b = bf16_bits_to_float(static_cast<uint16_t>(h));
    if (std::isnan(b)) {
      EXPECT_EQ(float_to_bf16_bits(b), 0x7FC0);
    } else {
      EXPECT_EQ(float_to_bf16_bits(b), h) << std::hex << h;
    }
  }
  EXPECT_EQ(float_to_f16_bits(65520.0f), 0x7C00);  // rounds to inf
  EXPECT_EQ(float_to_f16_bits(65519.0f), 0x7BFF);
  EXPECT_EQ(float_to_bf16_bits(1.00390625f), 0x3F80);  // tie to even
  EXPECT_EQ(float_to_bf16_bits(1.01171875f), 0x3F82);
  EXPECT_EQ(float_to_f16_bits(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and 2^-24
  EXPECT_EQ(float_to_f16_bits(std::ldexp(3.0f, -25)), 0x0002);  // tie, to even
}

}  // namespace
}  // namespace fp8kit::numerics
