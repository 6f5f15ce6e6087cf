// The edge cases of peer-semantics.md section D that concern quantize / dequantize on the CPU, run on
// both CPU backends: zero tiles (1), tiny and subnormal amax (2), values at the e4m3 edges (3), NaN
// and inf in tiles and ragged tails (4), UE8M0 scales (7), the amax upper bound (8), K and M not
// multiples of the block (9, 10), degenerate and tiny shapes (11), rectangular blocks (12), one-K-column
// scale grids (13), per-column vs per-row scales of a square matrix (14), scale layouts and 3-D
// activations (15), every input and output dtype (16). Expected values are computed here from the
// contract (amax over exactly the tile's elements, IEEE division by fmax), not from the library.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/numerics.h"
#include "fp8kit/fp8kit.h"
#include "test_support.h"

namespace fp8kit {
namespace {

using testing::HostMatrix;
using testing::HostScaleGrid;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr uint32_t kCanonicalNan = 0x7FC00000u;

class QuantizeEdgeCases : public ::testing::TestWithParam<Backend> {
 protected:
  QuantizeOptions quantize_options(float bound = 0.0f) const {
    QuantizeOptions o;
    o.backend = GetParam();
    o.amax_upper_bound = bound;
    return o;
  }
  DequantizeOptions dequantize_options() const {
    DequantizeOptions o;
    o.backend = GetParam();
    return o;
  }
};

/// Scale views in the shapes the API documents: row [R], column [C], tensor [1], else the 2-D grid.
TensorView scale_view(const HostScaleGrid& g, const ScaleSpec& spec) {
  if (spec.granularity == Granularity::row && !g.column_major && g.ld == 1) {
    return TensorView::contiguous(const_cast<uint8_t*>(g.bytes.data()), g.dtype, {g.rows});
  }
  return g.view();
}

/// Quantizes `x` under spec and checks every scale and code against the contract computed here:
/// amax over the elements of each tile (fabs, max), s = max(amax / fmax, 2^-126) (1 for a zero
/// tile, NaN for a tile with NaN or inf), q = encode(x / s).
void check_contract(const HostMatrix& x, DType fp8, const ScaleSpec& spec, bool column_major, const QuantizeOptions& o) {
  const ScaleGridShape shape = scale_grid_shape(x.rows, x.cols, spec);
  HostScaleGrid s(DType::f32, shape.rows, shape.cols, column_major,
                  std::max<int64_t>(1, (column_major ? shape.rows : shape.cols) + (column_major ? 3 : 0)));
  HostMatrix q(fp8, x.rows, x.cols, x.cols + 1);
  quantize(x.view(), q.view(), scale_view(s, spec), spec, o);
  const float fmax = traits(format_of(fp8)).max_finite;
  std::vector<float> amax(static_cast<size_t>(std::max<int64_t>(1, shape.rows * shape.cols)), 0.0f);
  std::vector<bool> poisoned(amax.size(), false);
  for (int64_t r = 0; r < x.rows; ++r) {
    for (int64_t c = 0; c < x.cols; ++c) {
      const auto [i, j] = testing::tile_of(spec, r, c);
      const auto cell = static_cast<size_t>(i * shape.cols + j);
      const float v = x.get(r, c);
      poisoned[cell] = poisoned[cell] || !std::isfinite(v);
      amax[cell] = std::max(amax[cell], std::fabs(v));
    }
  }
  for (int64_t i = 0; i < shape.rows; ++i) {
    for (int64_t j = 0; j < shape.cols; ++j) {
      const auto cell = static_cast<size_t>(i * shape.cols + j);
      float a = amax[cell];
      if (o.amax_upper_bound > 0.0f) a = std::min(a, o.amax_upper_bound);
      const float want = poisoned[cell] ? kNan : a == 0.0f ? 1.0f : std::max(a / fmax, std::ldexp(1.0f, -126));
      const float got = s.get(i, j);
      if (std::isnan(want)) {
        EXPECT_EQ(numerics::bits_of(got), kCanonicalNan) << "scale (" << i << ", " << j << ")";
      } else {
        EXPECT_EQ(got, want) << "scale (" << i << ", " << j << ") amax " << a;
      }
    }
  }
  for (int64_t r = 0; r < x.rows; ++r) {
    for (int64_t c = 0; c < x.cols; ++c) {
      const auto [i, j] = testing::tile_of(spec, r, c);
      const float scale = s.get(i, j);
      const uint8_t want = fp8 == DType::e5m2 ? numerics::encode_e5m2(x.get(r, c) / scale)
                                              : numerics::encode_e4m3fn(x.get(r, c) / scale);
      ASSERT_EQ(*q.at(r, c), want) << "element (" << r << ", " << c << ") = " << x.get(r, c) << " scale " << scale;
    }
  }
}

HostMatrix matrix_of(const std::vector<float>& v, DType dtype, int64_t rows, int64_t cols) {
  return testing::host_matrix(v, dtype, rows, cols, cols + 2);
}

TEST_P(QuantizeEdgeCases, ScalesCoverExactlyTheirTilesForEveryGranularityAndLayout) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  const ScaleSpec specs[] = {ScaleSpec::per_tensor(), ScaleSpec::per_row(),      ScaleSpec::per_column(),
                             ScaleSpec::group(128),   ScaleSpec::block(),        ScaleSpec::block(64, 128),
                             ScaleSpec::block(128, 64), ScaleSpec::group(7)};
  // ragged in both dims; K <= 128 gives one-column grids (block on [300, 100]: 3 x 1, not per row);
  // square 130 x 130 tells per-row from per-column (a transposed weight's scales)
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{300, 100}, {130, 130}, {65, 576}, {1, 1}}) {
    const std::vector<float> v = testing::hostile_matrix(rows, cols, rng);
    for (const ScaleSpec& spec : specs) {
      for (const DType in : {DType::f32, DType::bf16, DType::f16}) {
        const bool column_major = rng() % 2 == 0;
        SCOPED_TRACE(detail::concat("[", rows, ", ", cols, "] ", dtype_name(in), " ", granularity_name(spec.granularity),
                                    " ", spec.block_rows, "x", spec.block_cols, column_major ? " M-major" : ""));
        check_contract(matrix_of(v, in, rows, cols), rng() % 2 ? DType::e4m3fn : DType::e5m2, spec, column_major,
                       quantize_options());
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(QuantizeEdgeCases, ZeroTilesGetScaleOneAndKeepTheSignOfZero) {  // D.1
  for (const ScaleSpec& spec : {ScaleSpec::per_tensor(), ScaleSpec::per_row(), ScaleSpec::per_column(),
                                ScaleSpec::group(), ScaleSpec::block(), ScaleSpec::group().pow2()}) {
    std::vector<float> v(3 * 200, 0.0f);
    for (size_t i = 0; i < v.size(); i += 3) v[i] = -0.0f;
    const HostMatrix x = matrix_of(v, DType::bf16, 3, 200);
    const ScaleGridShape g = scale_grid_shape(3, 200, spec);
    const DType scale_dtype = spec.rounding == ScaleRounding::pow2 ? DType::ue8m0 : DType::f32;
    HostScaleGrid s(scale_dtype, g.rows, g.cols, false, g.cols);
    HostMatrix q(DType::e4m3fn, 3, 200);
    quantize(x.view(), q.view(), s.view(), spec, quantize_options());
    for (int64_t i = 0; i < g.rows; ++i) {
      for (int64_t j = 0; j < g.cols; ++j) EXPECT_EQ(s.get(i, j), 1.0f) << granularity_name(spec.granularity);
    }
    for (int64_t r = 0; r < 3; ++r) {
      for (int64_t c = 0; c < 200; ++c) EXPECT_EQ(*q.at(r, c), (r * 200 + c) % 3 == 0 ? 0x80 : 0x00);
    }
    HostMatrix y(DType::f32, 3, 200);
    dequantize(q.view(), s.view(), y.view(), spec, dequantize_options());
    for (int64_t r = 0; r < 3; ++r) {
      for (int64_t c = 0; c < 200; ++c) EXPECT_EQ(numerics::bits_of(y.get(r, c)), (r * 200 + c) % 3 == 0 ? 0x80000000u : 0u);
    }
  }
}

TEST_P(QuantizeEdgeCases, TinyAndSubnormalAmaxGiveNormalScalesAndNoNan) {  // D.2
  for (const float amax : {1e-40f, 1e-45f, 1e-38f, 1e-30f, 5e-36f}) {
    for (const bool pow2 : {false, true}) {
      const std::vector<float> v = {amax, -amax / 3.0f, amax / 2.0f, 0.0f};
      const HostMatrix x = matrix_of(v, DType::f32, 1, 4);
      HostMatrix q(DType::e4m3fn, 1, 4);
      HostScaleGrid s(pow2 ? DType::ue8m0 : DType::f32, 1, 1, false, 1);
      quantize(x.view(), q.view(), s.view(), pow2 ? ScaleSpec::group().pow2() : ScaleSpec::group(), quantize_options());
      SCOPED_TRACE(detail::concat("amax ", amax, pow2 ? " pow2" : " exact"));
      const float scale = s.get(0, 0);
      EXPECT_TRUE(std::isnormal(scale)) << scale;
      EXPECT_GE(scale, std::ldexp(1.0f, -126));
      if (pow2) {
        EXPECT_GE(s.bytes[0], 1) << "ue8m0 exponent clamped to >= 2^-126";
      }
      for (int c = 0; c < 4; ++c) EXPECT_NE(*q.at(0, c) & 0x7F, 0x7F) << c;
      EXPECT_EQ(*q.at(0, 0), numerics::encode_e4m3fn(amax / scale));
    }
  }
}

TEST_P(QuantizeEdgeCases, E4m3EdgeValuesSaturateAndRoundToEven) {  // D.3, D.8
  // the bound fixes amax = 448, so s = 1 and x / s = x
  const std::vector<float> v = {448.0f, 448.0001f, 464.0f, 465.0f, 480.0f, 1e30f, -0.0f, std::ldexp(1.0f, -9),
                                std::ldexp(1.0f, -10), -464.0f, std::ldexp(1.5f, -10), -1e30f};
  const std::vector<uint8_t> want = {0x7E, 0x7E, 0x7E, 0x7E, 0x7E, 0x7E, 0x80, 0x01, 0x00, 0xFE, 0x01, 0xFE};
  const auto n = static_cast<int64_t>(v.size());
  for (const DType in : {DType::f32, DType::bf16}) {
    HostMatrix x(in, 1, n);
    for (int64_t c = 0; c < n; ++c) x.set(0, c, v[static_cast<size_t>(c)]);
    HostMatrix q(DType::e4m3fn, 1, n);
    HostScaleGrid s(DType::f32, 1, 1, false, 1);
    quantize(x.view(), q.view(), s.view(), ScaleSpec::per_row(), quantize_options(448.0f));
    EXPECT_EQ(s.get(0, 0), 1.0f);
    for (int64_t c = 0; c < n; ++c) {
      if (in == DType::bf16 && c == 1) continue;  // 448.0001 is 448 in bf16
      EXPECT_EQ(*q.at(0, c), want[static_cast<size_t>(c)]) << dtype_name(in) << " x = " << v[static_cast<size_t>(c)];
    }
  }
  // without a bound, a 1e30 outlier makes a huge scale: the rest flush to +-0, nothing is NaN
  const HostMatrix x = matrix_of(v, DType::f32, 1, n);
  HostMatrix q(DType::e4m3fn, 1, n);
  HostScaleGrid s(DType::f32, 1, 1, false, 1);
  quantize(x.view(), q.view(), s.view(), ScaleSpec::per_row(), quantize_options());
  EXPECT_EQ(s.get(0, 0), 1e30f / 448.0f);
  for (int64_t c = 0; c < n; ++c) EXPECT_NE(*q.at(0, c) & 0x7F, 0x7F) << c;
}

TEST_P(QuantizeEdgeCases, NanAndInfPoisonTheirTileOnlyAlsoInRaggedTails) {  // D.4, D.8
  const int64_t rows = 3, cols = 300;  // groups: 128, 128, 44 (ragged)
  for (const float bad : {kNan, kInf, -kInf}) {
    for (const DType in : {DType::f32, DType::bf16, DType::f16}) {
      for (const float bound : {0.0f, 10.0f}) {
        SCOPED_TRACE(detail::concat(bad, " in ", dtype_name(in), " bound ", bound));
        std::vector<float> v(rows * cols, 1.5f);
        v[0 * cols + cols - 1] = bad;  // last element of row 0's ragged tail
        v[2 * cols + 130] = bad;       // middle of row 2's second group
        const HostMatrix x = matrix_of(v, in, rows, cols);
        HostMatrix q(DType::e4m3fn, rows, cols);
        HostScaleGrid s(DType::f32, rows, 3, true, 4);  // M-major, padded
        quantize(x.view(), q.view(), s.view(), ScaleSpec::group(), quantize_options(bound));
        const float finite_scale = (bound > 0.0f ? std::min(1.5f, bound) : 1.5f) / 448.0f;
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t g = 0; g < 3; ++g) {
            const bool poisoned = (r == 0 && g == 2) || (r == 2 && g == 1);
            if (poisoned) {
              EXPECT_EQ(numerics::bits_of(s.get(r, g)), kCanonicalNan) << r << "," << g;
            } else {
              EXPECT_EQ(s.get(r, g), finite_scale) << r << "," << g;
            }
            for (int64_t c = g * 128; c < std::min<int64_t>(cols, (g + 1) * 128); ++c) {
              ASSERT_EQ(*q.at(r, c), poisoned ? 0x7F : 0x7E) << r << "," << c;
            }
          }
        }
        for (const DType out : {DType::f32, DType::bf16, DType::f16}) {
          HostMatrix y(out, rows, cols);
          dequantize(q.view(), s.view(), y.view(), ScaleSpec::group(), dequantize_options());
          const std::vector<uint8_t> nan_bits = out == DType::f32    ? std::vector<uint8_t>{0x00, 0x00, 0xC0, 0x7F}
                                                : out == DType::bf16 ? std::vector<uint8_t>{0xC0, 0x7F}
                                                                     : std::vector<uint8_t>{0x00, 0x7E};
          for (const auto& [r, c] : std::vector<std::pair<int64_t, int64_t>>{{0, 256}, {0, 299}, {2, 128}, {2, 255}}) {
            EXPECT_EQ(std::vector<uint8_t>(y.at(r, c), y.at(r, c) + dtype_size(out)), nan_bits) << dtype_name(out);
          }
          EXPECT_EQ(y.get(1, 0), 448.0f * finite_scale) << dtype_name(out);
        }
      }
    }
  }
  // per-tensor: one NaN poisons the tensor; ue8m0 writes the NaN byte 255
  std::vector<float> v(64, 2.0f);
  v[63] = kNan;
  const HostMatrix x = matrix_of(v, DType::bf16, 8, 8);
  HostMatrix q(DType::e5m2, 8, 8);
  HostScaleGrid s(DType::ue8m0, 1, 1, false, 1);
  quantize(x.view(), q.view(), s.view(), ScaleSpec::per_tensor().pow2(), quantize_options());
  EXPECT_EQ(s.bytes[0], 255);
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(*q.at(i / 8, i % 8), 0x7F);
}

TEST_P(QuantizeEdgeCases, Ue8m0ScalesArePowersOfTwoRoundedUp) {  // D.7
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  const int64_t rows = 4, cols = 512;
  std::vector<float> v = testing::hostile_matrix(rows, cols, rng, /*non_finite=*/false);
  for (int64_t c = 0; c < 128; ++c) v[static_cast<size_t>(c)] = c == 5 ? 896.0f : 1.0f;  // 448 * 2: s stays 2
  const HostMatrix x = matrix_of(v, DType::f32, rows, cols);
  HostMatrix q_byte(DType::e4m3fn, rows, cols), q_f32(DType::e4m3fn, rows, cols);
  HostScaleGrid s_byte(DType::ue8m0, rows, 4, false, 4), s_f32(DType::f32, rows, 4, false, 4);
  quantize(x.view(), q_byte.view(), s_byte.view(), ScaleSpec::group().pow2(), quantize_options());
  quantize(x.view(), q_f32.view(), s_f32.view(), ScaleSpec::group().pow2(), quantize_options());
  EXPECT_EQ(q_byte.bytes, q_f32.bytes) << "ue8m0 bytes and f32 pow2 scales quantize identically";
  EXPECT_EQ(s_byte.get(0, 0), 2.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < 4; ++g) {
      const float s = s_f32.get(r, g);
      EXPECT_EQ(s_byte.get(r, g), s);
      int e = 0;
      EXPECT_EQ(std::frexp(s, &e), 0.5f) << "not a power of two: " << s;
      float amax = 0.0f;
      for (int64_t c = g * 128; c < (g + 1) * 128; ++c) amax = std::max(amax, std::fabs(x.get(r, c)));
      EXPECT_LE(amax, 448.0f * s) << "rounded up: amax / s <= 448";
      if (amax == 0.0f) {
        EXPECT_EQ(s, 1.0f) << "zero group";
      } else if (s > std::ldexp(1.0f, -126)) {
        EXPECT_GT(amax, 224.0f * s) << "the smallest such power";
      }
    }
  }
  // reading: byte 255 dequantizes to NaN, byte 0 to 2^-127
  HostMatrix q(DType::e4m3fn, 1, 2);
  q.bytes = {0x38, 0x38};  // 1.0, 1.0
  std::vector<uint8_t> s = {255, 0};
  HostMatrix y(DType::f32, 1, 2);
  dequantize(q.view(), TensorView::contiguous(s.data(), DType::ue8m0, {1, 2}), y.view(), ScaleSpec::group(1).pow2(),
             dequantize_options());
  EXPECT_EQ(numerics::bits_of(y.get(0, 0)), kCanonicalNan);
  EXPECT_EQ(y.get(0, 1), std::ldexp(1.0f, -127));
}

TEST_P(QuantizeEdgeCases, UpperBoundSaturatesOutliersAndIsInertAboveAmax) {  // D.8
  std::vector<float> v(256);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i)) * 5.0f;
  v[17] = 1e6f;
  v[200] = -3e4f;
  const HostMatrix x = matrix_of(v, DType::f32, 1, 256);
  HostMatrix q(DType::e4m3fn, 1, 256), q_loose(DType::e4m3fn, 1, 256), q_none(DType::e4m3fn, 1, 256);
  HostScaleGrid s(DType::f32, 1, 2, false, 2), s_loose = s, s_none = s;
  quantize(x.view(), q.view(), s.view(), ScaleSpec::group(), quantize_options(10.0f));
  EXPECT_EQ(s.get(0, 0), 10.0f / 448.0f);
  EXPECT_EQ(*q.at(0, 17), 0x7E);
  EXPECT_EQ(*q.at(0, 200), 0xFE);
  quantize(x.view(), q_loose.view(), s_loose.view(), ScaleSpec::group(), quantize_options(1e7f));
  quantize(x.view(), q_none.view(), s_none.view(), ScaleSpec::group(), quantize_options());
  EXPECT_EQ(q_loose.bytes, q_none.bytes);
  EXPECT_EQ(s_loose.bytes, s_none.bytes);
}

TEST_P(QuantizeEdgeCases, RaggedShapesEqualZeroPadding) {  // D.9, D.10
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  for (const int64_t rows : {1, 3, 4, 15, 16, 17, 127, 129}) {
    for (const int64_t cols : {576, 1280, 3420}) {
      if (rows * cols > 200000) continue;
      const int64_t prows = (rows + 127) / 128 * 128, pcols = (cols + 127) / 128 * 128;
      const std::vector<float> v = testing::hostile_matrix(rows, cols, rng, /*non_finite=*/false);
      std::vector<float> padded(static_cast<size_t>(prows * pcols), 0.0f);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) padded[static_cast<size_t>(r * pcols + c)] = v[static_cast<size_t>(r * cols + c)];
      }
      for (const ScaleSpec& spec : {ScaleSpec::group(), ScaleSpec::block(), ScaleSpec::block().pow2()}) {
        SCOPED_TRACE(detail::concat("[", rows, ", ", cols, "] ", granularity_name(spec.granularity)));
        const ScaleGridShape g = scale_grid_shape(rows, cols, spec);
        const DType sd = spec.rounding == ScaleRounding::pow2 ? DType::ue8m0 : DType::f32;
        const HostMatrix x = matrix_of(v, DType::bf16, rows, cols);
        const HostMatrix xp = matrix_of(padded, DType::bf16, spec.granularity == Granularity::block ? prows : rows, pcols);
        HostMatrix q(DType::e4m3fn, x.rows, cols), qp(DType::e4m3fn, xp.rows, pcols);
        HostScaleGrid s(sd, g.rows, g.cols, false, g.cols);
        const ScaleGridShape gp = scale_grid_shape(xp.rows, pcols, spec);
        ASSERT_EQ(gp.rows, g.rows);
        ASSERT_EQ(gp.cols, g.cols);
        HostScaleGrid sp(sd, gp.rows, gp.cols, false, gp.cols);
        quantize(x.view(), q.view(), s.view(), spec, quantize_options());
        quantize(xp.view(), qp.view(), sp.view(), spec, quantize_options());
        EXPECT_EQ(s.bytes, sp.bytes);
        for (int64_t r = 0; r < rows; ++r) {
          ASSERT_EQ(0, std::memcmp(q.at(r, 0), qp.at(r, 0), static_cast<size_t>(cols))) << "row " << r;
        }
      }
    }
  }
}

TEST_P(QuantizeEdgeCases, DegenerateAndTinyShapes) {  // D.11
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 5}, {4, 0}, {8, 8}, {1, 1}}) {
    for (const ScaleSpec& spec : {ScaleSpec::per_tensor(), ScaleSpec::per_row(), ScaleSpec::per_column(),
                                  ScaleSpec::group(), ScaleSpec::block()}) {
      SCOPED_TRACE(detail::concat("[", rows, ", ", cols, "] ", granularity_name(spec.granularity)));
      std::vector<float> v(static_cast<size_t>(rows * cols));
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) - 20.0f;
      const HostMatrix x = matrix_of(v, DType::f16, rows, cols);
      HostMatrix q(DType::e4m3fn, rows, cols);
      // One scale per tile, also for tiles without elements: per-tensor 1, per-row R, per-column C.
      const ScaleGridShape g = scale_grid_shape(rows, cols, spec);
      HostScaleGrid s(DType::f32, g.rows, g.cols, false, std::max<int64_t>(1, g.cols));
      quantize(x.view(), q.view(), s.view(), spec, quantize_options());
      if (spec.granularity == Granularity::tensor) {
        float amax = 0.0f;
        for (const float f : v) amax = std::max(amax, std::fabs(f));
        EXPECT_EQ(s.get(0, 0), amax == 0.0f ? 1.0f : amax / 448.0f) << "an empty tensor has s = 1";
      }
      if (rows * cols == 0) {
        for (int64_t i = 0; i < g.rows; ++i) {
          for (int64_t j = 0; j < g.cols; ++j) EXPECT_EQ(s.get(i, j), 1.0f) << "the scale of an empty tile is 1";
        }
      }
      HostMatrix y(DType::bf16, rows, cols);
      dequantize(q.view(), s.view(), y.view(), spec, dequantize_options());
    }
  }
}

TEST_P(QuantizeEdgeCases, ThreeDimensionalActivationsWithThreeDimensionalScales) {  // D.15
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  const int64_t b = 2, t = 3, k = 260, groups = 3;
  const std::vector<float> v = testing::hostile_matrix(b * t, k, rng);
  const HostMatrix x = testing::host_matrix(v, DType::bf16, b * t, k, k);
  std::vector<uint8_t> q3(static_cast<size_t>(b * t * k)), q2(q3.size());
  std::vector<float> s3(static_cast<size_t>(b * t * groups)), s2(s3.size());
  auto* xd = const_cast<uint8_t*>(x.bytes.data());
  quantize(TensorView::contiguous(xd, DType::bf16, {b, t, k}), TensorView::contiguous(q3.data(), DType::e4m3fn, {b, t, k}),
           TensorView::contiguous(s3.data(), DType::f32, {b, t, groups}), ScaleSpec::group(), quantize_options());
  quantize(TensorView::contiguous(xd, DType::bf16, {b * t, k}), TensorView::contiguous(q2.data(), DType::e4m3fn, {b * t, k}),
           TensorView::contiguous(s2.data(), DType::f32, {b * t, groups}), ScaleSpec::group(), quantize_options());
  EXPECT_EQ(q3, q2);
  EXPECT_EQ(testing::to_bytes(s3, DType::f32), testing::to_bytes(s2, DType::f32));
  check_contract(x, DType::e4m3fn, ScaleSpec::group(), false, quantize_options());
}

INSTANTIATE_TEST_SUITE_P(CpuBackends, QuantizeEdgeCases, ::testing::Values(Backend::cpu_reference, Backend::cpu),
                         [](const auto& param_info) { return std::string(backend_name(param_info.param)); });

}  // namespace
}  // namespace fp8kit
