// FastDivisor (src/common/fast_divisor.h, the GPU kernels' index division) equals n / d for divisors from
// 1 to 2^30 and numerators up to 2^31 - 1: every pair of small ones, the edges around multiples of d,
// and fresh random pairs.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "common/fast_divisor.h"

namespace fp8kit {
namespace {

/// Adds a failure naming n and d when FastDivisor gets n / d wrong; the tests stop at the first.
bool divides(uint32_t d, uint32_t n) {
  const FastDivisor f = FastDivisor::of(d);
  if (f.divide(n) == n / d) return true;
  ADD_FAILURE() << n << " / " << d << ": got " << f.divide(n) << ", expected " << n / d << " (multiplier " << f.multiplier
                << ", shift " << f.shift << ")";
  return false;
}

TEST(FastDivisor, EverySmallPair) {
  for (uint32_t d = 1; d <= 300; ++d) {
    for (uint32_t n = 0; n <= 5000; ++n) {
      if (!divides(d, n)) return;
    }
  }
}

TEST(FastDivisor, EdgesAroundMultiplesAndTheLargestNumerators) {
  std::vector<uint32_t> divisors = {1, 2, 3, 7, 16, 56, 112, 144, 224, 896, 1000, 65535, 65536, 65537, (1u << 30) - 1, 1u << 30};
  for (uint32_t k = 0; k <= 30; ++k) divisors.push_back(1u << k);
  constexpr uint32_t kMax = (1u << 31) - 1;
  for (const uint32_t d : divisors) {
    for (uint32_t n = kMax - 2000; n <= kMax - 1; ++n) {
      if (!divides(d, n)) return;
    }
    if (!divides(d, kMax)) return;
    for (uint64_t q = 1; q * d <= kMax && q < 5000; q = q * 3 + 1) {
      const auto m = static_cast<uint32_t>(q * d);
      if (!divides(d, m - 1) || !divides(d, m) || (m < kMax && !divides(d, m + 1))) return;
    }
  }
}

TEST(FastDivisor, RandomPairs) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<uint32_t> divisor(1, 1u << 30), numerator(0, (1u << 31) - 1);
  for (int i = 0; i < 2000000; ++i) {
    if (!divides(divisor(rng), numerator(rng))) return;
  }
}

}  // namespace
}  // namespace fp8kit
