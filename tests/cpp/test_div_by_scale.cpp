// div_by_scale (numerics.h): Markstein's sequence q0 = x*y, r = fma(-q0, s, x), q = fma(r, y, q0) with
// y = rcp_rn(s) equals the IEEE quotient fp32(x / s) bit for bit over ScaleDivisor's fast domain, and
// ScaleDivisor::divide equals it everywhere. The CUDA quantization kernels rely on this identity; the
// CPU reference keeps the plain division. std::fma is an exact fused multiply-add, so the host runs the
// device's sequence bit for bit.
//
// Why the tests below prove it. Scaling x and s by powers of two scales every step exactly while no
// step leaves the normal range (the fast domain's bounds), so take significands a = A 2^-23 and
// b = B 2^-23 with A, B in [2^23, 2^24), v = a / b, e = b*y - 1 (|e| < 2^-24 as y = RN(1/b)).
//  * v < 1: |q0 - v| < 1.5 ulp = 1.5 * 2^-24, and r = RN(a - b*q0) is exact or off by at most 2^-47,
//    so w = q0 + r*y (rounded once) satisfies |w - v| < 1.5 * 2^-48 + 2^-47 = 7 * 2^-49.
//    A rounding boundary (midpoint) m = (2M + 1) 2^-25 is at |v - m| = |N| / (B 2^25) > |N| 2^-49 with
//    N = A 2^25 - (2M + 1) B, a non-zero integer. RN(w) != RN(v) needs a midpoint between v and w,
//    hence |N| <= 6.
//  * v >= 1: q0 is faithful (|q0 - v| < 2^-23), r is exact, |w - v| < 2^-47, midpoints are odd
//    multiples of 2^-24 at |N| / (B 2^24) > |N| 2^-48 with N = A 2^24 - (2M + 1) B: |N| <= 1.
// HardCasesNearRoundingBoundaries checks every (A, B) with A 2^k = N (mod B), 0 < |N| <= 8 (a superset
// of both), so every significand pair is either proven by the bound or checked. The other tests run the
// whole domain machinery (bounds, zeros, signs, subnormals, fallbacks) over all bf16 and f16 values
// and 10^8 random f32 values times scales across the exponent range.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "common/numerics.h"

namespace fp8kit::numerics {
namespace {

bool same_bits(float a, float b) { return bits_of(a) == bits_of(b) || (is_nan(a) && is_nan(b)); }

float pow2(int e) { return std::ldexp(1.0f, e); }

uint32_t fresh_seed() { return std::random_device{}(); }

/// 2^-e mod m for odd m: e halvings of 1 (an odd value is made even by adding m first).
uint64_t inverse_power_of_two(int e, uint64_t m) {
  uint64_t r = 1;
  for (int i = 0; i < e; ++i) r = (r % 2 == 0 ? r : r + m) / 2;
  return r;
}

/// The float with significand bits A (in [2^23, 2^24)) and value A 2^-23.
float significand(uint64_t A) { return float_of((127u << 23) | static_cast<uint32_t>(A & 0x7FFFFFu)); }

TEST(DivByScale, HardCasesNearRoundingBoundaries) {
  constexpr int64_t kBound = 8;
  int64_t checked = 0, failures = 0, naive_wrong = 0;
  auto check = [&](uint64_t A, float b, float y) {
    const float a = significand(A);
    const float expected = a / b;
    ++checked;
    naive_wrong += bits_of(a * y) != bits_of(expected) ? 1 : 0;
    if (bits_of(div_by_scale(a, b, y)) != bits_of(expected) && ++failures <= 5) {
      ADD_FAILURE() << "A = " << A << ", b = " << b << ": " << div_by_scale(a, b, y) << " != " << expected;
    }
  };
  for (uint64_t B = 1u << 23; B < (1u << 24); ++B) {
    const float b = significand(B);
    const float y = rcp_rn(b);
    const int t = std::countr_zero(B);
    const uint64_t odd = B >> t;  // A 2^k = n (mod B)  <=>  2^t | n and A = (n / 2^t) 2^-(k-t) (mod odd)
    // k = 25: quotients below 1 (A < B); k = 24: quotients in [1, 2) (A >= B).
    for (const int k : {25, 24}) {
      const uint64_t unit = inverse_power_of_two(k - t, odd);
      const uint64_t lo = k == 25 ? (1u << 23) : B, hi = k == 25 ? B : (1u << 24);
      uint64_t residue = 0;  // (n / 2^t) * unit mod odd, for n / 2^t = 1, 2, ...
      for (int64_t n = int64_t{1} << t; n <= kBound; n += int64_t{1} << t) {
        residue = residue + unit >= odd ? residue + unit - odd : residue + unit;
        for (const uint64_t r : {residue, residue == 0 ? 0 : odd - residue}) {  // +n and -n
          uint64_t A = r;
          if (A < lo) A += (lo - A + odd - 1) / odd * odd;
          for (; A < hi; A += odd) {
            if (checked % 1024 == 0) {  // the enumeration is what it claims: A 2^k = +-n (mod B)
              const uint64_t rem = (A << k) % B;
              EXPECT_TRUE(rem == static_cast<uint64_t>(n) || rem == B - static_cast<uint64_t>(n)) << A << " " << B << " " << n;
            }
            check(A, b, y);
          }
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GT(checked, int64_t{80'000'000});  // about 10 pairs per divisor significand
  EXPECT_GT(naive_wrong, checked / 4) << "these pairs are hard: the plain x * y must often be wrong on them";
}

/// Scales across the range: significand extremes at many exponents, e4m3/e5m2 max, powers of two, the
/// ends of the fast range, beyond it, and the random ones given.
std::vector<float> scales_to_test(std::mt19937& rng) {
  std::vector<float> s = {448.0f, 57344.0f, pow2(-126), pow2(126), std::nextafter(pow2(126), 0.0f), pow2(127), 3.0e38f,
                          std::nextafter(pow2(-126), 0.0f), 1e-40f, 1.0f};
  for (int e : {-126, -125, -100, -60, -24, -9, -1, 0, 1, 8, 24, 25, 60, 100, 124, 125}) {
    s.push_back(pow2(e));
    s.push_back(std::nextafter(pow2(e + 1), 0.0f));  // significand 1.99999988
    s.push_back(std::nextafter(pow2(e), INFINITY));
  }
  std::uniform_int_distribution<uint32_t> mantissa(0, 0x7FFFFFu);
  std::uniform_int_distribution<uint32_t> exponent(1, 253);  // 2^-126 .. 2^126 (and a bit beyond)
  std::uniform_int_distribution<uint32_t> finite(0, 0x7F7FFFFFu);
  for (int i = 0; i < 160; ++i) s.push_back(float_of((exponent(rng) << 23) | mantissa(rng)));
  for (int i = 0; i < 160; ++i) {  // the scale rule's own scales: amax / fmax for random amax
    const float amax = float_of(finite(rng));
    s.push_back(scale_exact(amax, i % 4 == 0 ? 57344.0f : 448.0f));
  }
  return s;
}

/// divide(x) == x / s for every x given; the fast sequence must cover most of them (zeros included).
void check_all(const std::vector<float>& xs, const std::vector<float>& scales, const char* what, uint32_t seed) {
  int64_t fast = 0, failures = 0;
  for (const float s : scales) {
    const ScaleDivisor d = ScaleDivisor::of(s);
    for (const float x : xs) {
      const float expected = x / s;
      const bool in_domain = d.in_fast_domain(x);
      fast += in_domain ? 1 : 0;
      const float got = d.divide(x);
      const float raw = in_domain ? div_by_scale(x, s, d.y) : expected;
      if ((!same_bits(got, expected) || !same_bits(raw, expected)) && ++failures <= 5) {
        ADD_FAILURE() << what << ": x = " << x << " (0x" << std::hex << bits_of(x) << "), s = " << s << " (0x" << bits_of(s)
                      << std::dec << "): " << got << " / " << raw << " != " << expected << " (seed " << seed << ")";
      }
    }
  }
  EXPECT_EQ(failures, 0) << what << " (seed " << seed << ")";
  EXPECT_GT(fast, static_cast<int64_t>(xs.size() * scales.size()) / 2) << what << ": the fast domain is too small";
}

TEST(DivByScale, AllBf16AndF16ValuesTimesScales) {
  const uint32_t seed = fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<float> scales = scales_to_test(rng);
  std::vector<float> bf16, f16;
  for (uint32_t h = 0; h < 65536; ++h) {
    bf16.push_back(bf16_bits_to_float(static_cast<uint16_t>(h)));
    f16.push_back(f16_bits_to_float(static_cast<uint16_t>(h)));
  }
  check_all(bf16, scales, "bf16", seed);
  check_all(f16, scales, "f16", seed);
}

TEST(DivByScale, RandomF32AcrossTheDomainAndItsEdges) {
  const uint32_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint32_t> scale_bits(1u << 23, 253u << 23);  // 2^-126 .. 2^126
  int64_t fast = 0, failures = 0;
  constexpr int kScales = 6'250'000, kPerScale = 16;  // 10^8 pairs
  for (int i = 0; i < kScales; ++i) {
    const float s = i % 5 == 0 ? (i % 2 ? 448.0f : 57344.0f) : float_of(scale_bits(rng));
    const ScaleDivisor d = ScaleDivisor::of(s);
    const int scale_exponent = static_cast<int>(bits_of(s) >> 23);
    for (int j = 0; j < kPerScale; ++j) {
      // x = +-2^(e_s + q) * significand with q in [-130, 130], a little beyond the fast range; normal.
      const uint64_t r = rng();
      const int e = std::clamp(scale_exponent + static_cast<int>(r % 261) - 130, 1, 254);
      const float x = float_of(static_cast<uint32_t>((r >> 9) & 0x807FFFFFu) | (static_cast<uint32_t>(e) << 23));
      const bool in_domain = d.in_fast_domain(x);
      fast += in_domain ? 1 : 0;
      const float expected = x / s;
      const float got = in_domain ? div_by_scale(x, s, d.y) : d.divide(x);
      if (!same_bits(got, expected) && ++failures <= 5) {
        ADD_FAILURE() << "x = " << x << ", s = " << s << ": " << got << " != " << expected << " (seed " << seed << ")";
      }
    }
  }
  EXPECT_EQ(failures, 0) << "seed " << seed;
  EXPECT_GT(fast, int64_t{kScales} * kPerScale / 2);
}

TEST(DivByScale, ScaleExactThroughTheDivisorOfFmax) {
  const uint32_t seed = fresh_seed();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> any_bits;
  for (const float fmax : {448.0f, 57344.0f}) {
    const ScaleDivisor d = ScaleDivisor::of(fmax);
    std::vector<float> amax = {0.0f, -0.0f, INFINITY, NAN, pow2(-149), pow2(-100), std::nextafter(pow2(-100), 0.0f), 3.4e38f};
    for (uint32_t h = 0; h < 65536; ++h) amax.push_back(std::fabs(bf16_bits_to_float(static_cast<uint16_t>(h))));
    for (int i = 0; i < 1'000'000; ++i) amax.push_back(std::fabs(float_of(any_bits(rng))));
    for (const float a : amax) {
      ASSERT_TRUE(same_bits(scale_exact(a, d), scale_exact(a, fmax))) << a << " / " << fmax << " (seed " << seed << ")";
    }
  }
}

TEST(DivByScale, DomainEdgesAndSpecialValues) {
  for (const float s : {pow2(-126), 1.0f, 448.0f, pow2(30), pow2(126), 1.5f * pow2(100)}) {
    const ScaleDivisor d = ScaleDivisor::of(s);
    ASSERT_TRUE(d.valid) << s;
    const float lo = float_of(d.lo_bits), hi = float_of(d.hi_bits);
    EXPECT_EQ(lo, std::max(pow2(-100), s * pow2(-124))) << s;
    EXPECT_EQ(hi, std::min(s * pow2(125), std::numeric_limits<float>::max())) << s;
    for (const float x : {lo, std::nextafter(lo, 0.0f), std::nextafter(lo, INFINITY), hi, std::nextafter(hi, 0.0f),
                          std::nextafter(hi, INFINITY), 0.0f, -0.0f, pow2(-149), -pow2(-140), INFINITY, -INFINITY, NAN,
                          std::numeric_limits<float>::max()}) {
      for (const float sx : {x, -x}) {
        EXPECT_TRUE(same_bits(d.divide(sx), sx / s)) << sx << " / " << s;
        if (d.in_fast_domain(sx)) {
          EXPECT_TRUE(same_bits(div_by_scale(sx, s, d.y), sx / s)) << sx << " / " << s;
        }
      }
    }
    EXPECT_TRUE(d.in_fast_domain(lo) && d.in_fast_domain(hi) && d.in_fast_domain(-0.0f));
    EXPECT_FALSE(d.in_fast_domain(std::nextafter(lo, 0.0f)) || d.in_fast_domain(NAN) || d.in_fast_domain(INFINITY));
    EXPECT_EQ(bits_of(div_by_scale(-0.0f, s, d.y)), 0x80000000u);  // the sign of zero survives
  }
  // Scales outside [2^-126, 2^126] (and NaN) leave the fast domain empty: divide is the plain division.
  for (const float s : {std::nextafter(pow2(-126), 0.0f), std::nextafter(pow2(126), INFINITY), NAN, INFINITY, 0.0f}) {
    const ScaleDivisor d = ScaleDivisor::of(s);
    EXPECT_FALSE(d.valid || d.in_fast_domain(1.0f) || d.in_fast_domain(0.0f)) << s;
    EXPECT_FALSE(d.covers(0xFFFFFFFFu, 0u)) << s;
    for (const float x : {1.0f, 0.0f, -0.0f, 3.0e38f}) EXPECT_TRUE(same_bits(d.divide(x), x / s)) << x << " / " << s;
  }
  // covers(): a lane of all zeros, of values inside, of one value outside, of NaN.
  const ScaleDivisor d = ScaleDivisor::of(1.0f);
  EXPECT_TRUE(d.covers(0xFFFFFFFFu, 0u));
  EXPECT_TRUE(d.covers(bits_of(0.5f) - 1u, bits_of(2.0f)));
  EXPECT_FALSE(d.covers(bits_of(pow2(-120)) - 1u, bits_of(2.0f)));
  EXPECT_FALSE(d.covers(bits_of(0.5f) - 1u, kF32CanonicalNan));
}

}  // namespace
}  // namespace fp8kit::numerics
