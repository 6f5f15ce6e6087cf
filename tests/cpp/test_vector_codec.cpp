// The branch-free conversions of the fast CPU path (src/cpu/vector_codec.h) equal their numerics.h
// counterparts bit for bit: over every 16-bit input, every FP8 code, and a sweep of fp32 inputs that
// holds every sign/exponent/high-mantissa pattern with the low mantissa bits at the rounding
// boundaries (exact ties, one ulp either side, all ones) and at random values.
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "common/numerics.h"
#include "cpu/vector_codec.h"
#include "test_support.h"

namespace fp8kit::cpu {
namespace {

using numerics::bits_of;
using numerics::float_of;

/// fp32 inputs: all 2^16 upper halves x low halves at the rounding boundaries of every target
/// (FP8 rounds at bit 19/20, f16 at bit 12, bf16 at bit 15) plus random low halves.
std::vector<uint32_t> fp32_sweep(std::mt19937& rng) {
  std::vector<uint32_t> lows = {0x0000u, 0x0001u, 0x0FFFu, 0x1000u, 0x1001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu};
  for (int i = 0; i < 4; ++i) lows.push_back(rng() & 0xFFFFu);
  std::vector<uint32_t> out;
  out.reserve(65536 * lows.size());
  for (uint32_t hi = 0; hi < 65536; ++hi) {
    for (const uint32_t lo : lows) out.push_back(hi << 16 | lo);
  }
  return out;
}

TEST(VectorCodec, EncodeMatchesNumericsOnFp32Sweep) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  int failures = 0;
  for (const uint32_t x : fp32_sweep(rng)) {
    const float v = float_of(x);
    if (vec::encode<vec::E4m3>(v) != numerics::encode_e4m3fn(v) && failures++ < 5) {
      ADD_FAILURE() << "e4m3 encode of 0x" << std::hex << x;
    }
    if (vec::encode<vec::E5m2>(v) != numerics::encode_e5m2(v) && failures++ < 5) {
      ADD_FAILURE() << "e5m2 encode of 0x" << std::hex << x;
    }
    if (vec::to_bf16_bits(v) != numerics::float_to_bf16_bits(v) && failures++ < 5) {
      ADD_FAILURE() << "bf16 of 0x" << std::hex << x;
    }
    if (vec::to_f16_bits(v) != numerics::float_to_f16_bits(v) && failures++ < 5) {
      ADD_FAILURE() << "f16 of 0x" << std::hex << x;
    }
    if (vec::to_f32_bits(v) != bits_of(numerics::canonicalize_f32(v)) && failures++ < 5) {
      ADD_FAILURE() << "f32 of 0x" << std::hex << x;
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(VectorCodec, DecodeMatchesNumericsForEveryCode) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<uint8_t>(c);
    EXPECT_EQ(bits_of(vec::decode<vec::E4m3>(code)), bits_of(numerics::decode_e4m3fn(code))) << std::hex << c;
    EXPECT_EQ(bits_of(vec::decode<vec::E5m2>(code)), bits_of(numerics::decode_e5m2(code))) << std::hex << c;
  }
}

TEST(VectorCodec, WideningMatchesNumericsForEvery16BitValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    ASSERT_EQ(bits_of(vec::widen_f16(bits)), bits_of(numerics::f16_bits_to_float(bits))) << std::hex << h;
    ASSERT_EQ(bits_of(vec::widen_bf16(bits)), bits_of(numerics::bf16_bits_to_float(bits))) << std::hex << h;
  }
}

}  // namespace
}  // namespace fp8kit::cpu
