// The public quantize / dequantize API on the CPU reference: shapes, scale layouts, the contract's
// corner cases, and refusals that name the offending values.
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "common/numerics.h"
#include "fp8kit/fp8kit.h"

namespace fp8kit {
namespace {

QuantizeOptions reference() {
  QuantizeOptions o;
  o.backend = Backend::cpu_reference;
  return o;
}

TEST(QuantizeApi, GroupScalesFollowTheContract) {
  const int64_t rows = 2, cols = 300;  // ragged: 128 + 128 + 44
  std::vector<float> x(rows * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i)) * 10.0f;
  std::vector<uint8_t> q(x.size(), 0xAA);
  std::vector<float> s(rows * 3, -1.0f);
  quantize(TensorView::contiguous(x.data(), DType::f32, {rows, cols}),
           TensorView::contiguous(q.data(), DType::e4m3fn, {rows, cols}),
           TensorView::contiguous(s.data(), DType::f32, {rows, 3}), ScaleSpec::group(128), reference());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < 3; ++g) {
      float amax = 0.0f;
      for (int64_t c = g * 128; c < std::min<int64_t>((g + 1) * 128, cols); ++c) amax = std::max(amax, std::fabs(x[r * cols + c]));
      EXPECT_EQ(s[r * 3 + g], amax / 448.0f);
      for (int64_t c = g * 128; c < std::min<int64_t>((g + 1) * 128, cols); ++c) {
        EXPECT_EQ(q[r * cols + c], numerics::encode_e4m3fn(x[r * cols + c] / s[r * 3 + g]));
      }
    }
  }
}

TEST(QuantizeApi, ZeroGroupNanGroupAndInfGroup) {
  const int64_t cols = 384;
  std::vector<float> x(cols, 0.0f);
  for (int64_t c = 128; c < 256; ++c) x[c] = 1.0f;
  x[200] = NAN;
  for (int64_t c = 256; c < 384; ++c) x[c] = 2.0f;
  x[300] = -INFINITY;
  std::vector<uint8_t> q(cols);
  std::vector<float> s(3);
  quantize(TensorView::contiguous(x.data(), DType::f32, {1, cols}), TensorView::contiguous(q.data(), DType::e4m3fn, {1, cols}),
           TensorView::contiguous(s.data(), DType::f32, {1, 3}), ScaleSpec::group(), reference());
  EXPECT_EQ(s[0], 1.0f);
  for (int64_t c = 0; c < 128; ++c) EXPECT_EQ(q[c], 0);
  EXPECT_TRUE(std::isnan(s[1]));
  EXPECT_TRUE(std::isnan(s[2]));
  for (int64_t c = 128; c < cols; ++c) EXPECT_EQ(q[c], 0x7F) << c;
}

TEST(QuantizeApi, Ue8m0ScalesNeedPow2AndArePowersOfTwo) {
  std::vector<float> x(256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 100.5f;
  std::vector<uint8_t> q(256), s(2);
  const TensorView xv = TensorView::contiguous(x.data(), DType::f32, {1, 256});
  const TensorView qv = TensorView::contiguous(q.data(), DType::e4m3fn, {1, 256});
  const TensorView sv = TensorView::contiguous(s.data(), DType::ue8m0, {1, 2});
  const Verdict refused = can_quantize(xv, qv, sv, ScaleSpec::group(), reference());
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.reason.find("pow2"), std::string::npos) << refused.reason;
  quantize(xv, qv, sv, ScaleSpec::group().pow2(), reference());
  EXPECT_EQ(numerics::ue8m0_to_float(s[0]), 0.25f);  // amax 100.5: 100.5/448 = 0.224 -> 2^-2
  EXPECT_EQ(numerics::ue8m0_to_float(s[1]), 0.5f);   // amax 154.5: 0.345 -> 2^-1
}

TEST(QuantizeApi, ColumnMajorPaddedScalesMatchRowMajor) {
  const int64_t rows = 5, cols = 256, ld = 8;  // M-major, leading dimension padded to a multiple of 4
  std::vector<float> x(rows * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i) * 0.1f) * static_cast<float>(i % 7);
  std::vector<uint8_t> q1(x.size()), q2(x.size());
  std::vector<float> s1(rows * 2), s2(ld * 2, -7.0f);
  const TensorView xv = TensorView::contiguous(x.data(), DType::f32, {rows, cols});
  quantize(xv, TensorView::contiguous(q1.data(), DType::e4m3fn, {rows, cols}),
           TensorView::contiguous(s1.data(), DType::f32, {rows, 2}), ScaleSpec::group(), reference());
  quantize(xv, TensorView::contiguous(q2.data(), DType::e4m3fn, {rows, cols}),
           TensorView::column_major(s2.data(), DType::f32, rows, 2, ld), ScaleSpec::group(), reference());
  EXPECT_EQ(q1, q2);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < 2; ++g) EXPECT_EQ(s1[r * 2 + g], s2[g * ld + r]);
  }
  EXPECT_EQ(s2[rows], -7.0f);  // padding untouched
}

TEST(QuantizeApi, DequantizeRoundTripsBlockScales) {
  const int64_t rows = 130, cols = 200;
  std::vector<uint16_t> x(rows * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = numerics::float_to_bf16_bits(std::sin(static_cast<float>(i) * 0.37f) * 3.0f);
  std::vector<uint8_t> q(x.size());
  std::vector<float> s(2 * 2);
  std::vector<uint16_t> y(x.size());
  quantize(TensorView::contiguous(x.data(), DType::bf16, {rows, cols}), TensorView::contiguous(q.data(), DType::e4m3fn, {rows, cols}),
           TensorView::contiguous(s.data(), DType::f32, {2, 2}), ScaleSpec::block(), reference());
  DequantizeOptions d;
  d.backend = Backend::cpu_reference;
  dequantize(TensorView::contiguous(q.data(), DType::e4m3fn, {rows, cols}), TensorView::contiguous(s.data(), DType::f32, {2, 2}),
             TensorView::contiguous(y.data(), DType::bf16, {rows, cols}), ScaleSpec::block(), d);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const float xv = numerics::bf16_bits_to_float(x[r * cols + c]);
      const float yv = numerics::bf16_bits_to_float(y[r * cols + c]);
      const float scale = s[(r / 128) * 2 + c / 128];
      // half an e4m3 ulp (2^-4 relative) plus the subnormal step and the bf16 rounding of y
      EXPECT_LE(std::fabs(xv - yv), std::fabs(xv) * (1.0f / 16 + 1.0f / 256) + scale * std::ldexp(1.0f, -10))
          << r << "," << c;
    }
  }
}

TEST(QuantizeApi, RefusalsNameTheValues) {
  std::vector<float> x(16);
  std::vector<uint8_t> q(16);
  std::vector<float> s(4);
  const TensorView xv = TensorView::contiguous(x.data(), DType::f32, {4, 4});
  const TensorView qv = TensorView::contiguous(q.data(), DType::e4m3fn, {4, 4});
  const Verdict bad_shape =
      can_quantize(xv, qv, TensorView::contiguous(s.data(), DType::f32, {2, 2}), ScaleSpec::group(2), reference());
  ASSERT_FALSE(bad_shape.ok);
  EXPECT_NE(bad_shape.reason.find("[4, 2]"), std::string::npos) << bad_shape.reason;
  const Verdict aliasing =
      can_quantize(xv, TensorView::contiguous(x.data(), DType::e4m3fn, {4, 4}),
                   TensorView::contiguous(s.data(), DType::f32, {4}), ScaleSpec::per_row(), reference());
  ASSERT_FALSE(aliasing.ok);
  EXPECT_NE(aliasing.reason.find("overlap"), std::string::npos) << aliasing.reason;
  EXPECT_THROW(quantize(xv, TensorView::contiguous(q.data(), DType::bf16, {4, 4}),
                        TensorView::contiguous(s.data(), DType::f32, {4}), ScaleSpec::per_row()),
               Error);
}

}  // namespace
}  // namespace fp8kit
