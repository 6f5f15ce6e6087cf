// The fast CPU backend (Backend::cpu), compiled for each instruction set (cpu_isa.h), equals the
// scalar reference (Backend::cpu_reference) bit for bit: quantize, dequantize, silu_mul, silu_mul_quantize and the GEMM, on fresh hostile data (zero
// tiles, subnormal and tiny tiles, NaN and inf, also in ragged tails) over a sweep of shapes, every
// granularity, input and output dtype, format, scale type and layout, with padded row strides. Every
// output buffer is poisoned first and compared whole, padding included.
//
// Small matrices run every scale type (f32 exact, f32 pow2, ue8m0) x layout (row-major, column-major)
// x padding; larger ones one of them at random, and the largest one random (dtype, format) per
// granularity instead of all six, to keep the suite to a few seconds. The seed is printed on failure
// (FP8KIT_TEST_SEED replays it).
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/numerics.h"
#include "cpu/cpu_isa.h"
#include "fp8kit/fp8kit.h"
#include "test_support.h"

namespace fp8kit {
namespace {

using testing::first_mismatch;
using testing::HostMatrix;
using testing::HostScaleGrid;

constexpr int64_t kRows[] = {1, 2, 3, 17, 128, 257};
constexpr int64_t kCols[] = {1, 32, 100, 128, 576, 1000, 7168};
constexpr int64_t kLargeMatrix = 100000;      // elements above which a shape samples its dtype pairs
constexpr int64_t kEveryLayoutMatrix = 4096;  // elements up to which every scale type and layout runs

const ScaleSpec kSpecs[] = {ScaleSpec::per_tensor(), ScaleSpec::per_row(),      ScaleSpec::per_column(),
                            ScaleSpec::group(128),   ScaleSpec::group(32),      ScaleSpec::group(100),
                            ScaleSpec::block(),      ScaleSpec::block(64, 128), ScaleSpec::block(128, 64),
                            ScaleSpec::block(3, 5)};
constexpr DType kPrecisions[] = {DType::f32, DType::bf16, DType::f16};
constexpr DType kFormats[] = {DType::e4m3fn, DType::e5m2};

/// A scale grid for `spec` over rows x cols with a random type (f32 exact, f32 pow2, ue8m0 pow2)
/// and layout (row-major or column-major, leading dimension padded or not).
struct ScaleChoice {
  ScaleSpec spec;
  DType dtype = DType::f32;
  bool column_major = false;
  int64_t pad = 0;
};

/// Choice `index` of the 12 (type x layout x padding) combinations.
ScaleChoice scale_choice(const ScaleSpec& base, int index, std::mt19937& rng) {
  ScaleChoice c;
  c.spec = base;
  const int kind = index % 3;
  if (kind > 0) c.spec = base.pow2();
  c.dtype = kind == 2 ? DType::ue8m0 : DType::f32;
  c.column_major = (index / 3) % 2 == 1;
  c.pad = index / 6 == 0 ? 0 : 1 + static_cast<int64_t>(rng() % 7);
  return c;
}
constexpr int kScaleChoices = 12;

ScaleChoice choose_scales(const ScaleSpec& base, std::mt19937& rng) {
  return scale_choice(base, static_cast<int>(rng() % kScaleChoices), rng);
}

HostScaleGrid make_grid(const ScaleChoice& c, int64_t rows, int64_t cols) {
  const ScaleGridShape g = scale_grid_shape(rows, cols, c.spec);
  const int64_t ld = (c.column_major ? g.rows : g.cols) + c.pad;
  return HostScaleGrid(c.dtype, g.rows, g.cols, c.column_major, std::max<int64_t>(ld, 1));
}

std::string describe_case(int64_t rows, int64_t cols, DType in, DType out, const ScaleChoice& s, float bound) {
  return detail::concat("[", rows, ", ", cols, "] ", dtype_name(in), " -> ", dtype_name(out), " ",
                        granularity_name(s.spec.granularity), " ", s.spec.block_rows, "x", s.spec.block_cols,
                        s.spec.rounding == ScaleRounding::pow2 ? " pow2 " : " exact ", dtype_name(s.dtype),
                        s.column_major ? " column-major" : " row-major", " pad ", s.pad, " bound ", bound);
}

/// Runs quantize on both backends from one input and compares codes and scales.
void check_quantize(const std::vector<float>& values, int64_t rows, int64_t cols, DType in, DType fp8,
                    const ScaleChoice& sc, float bound, std::mt19937& rng) {
  SCOPED_TRACE(describe_case(rows, cols, in, fp8, sc, bound));
  const int64_t x_ld = cols + static_cast<int64_t>(rng() % 3) * 5;
  const int64_t q_ld = cols + static_cast<int64_t>(rng() % 2) * 3;
  const HostMatrix x = testing::host_matrix(values, in, rows, cols, x_ld);
  HostMatrix q_ref(fp8, rows, cols, q_ld), q_fast(fp8, rows, cols, q_ld);
  HostScaleGrid s_ref = make_grid(sc, rows, cols), s_fast = make_grid(sc, rows, cols);
  QuantizeOptions o;
  o.amax_upper_bound = bound;
  o.backend = Backend::cpu_reference;
  quantize(x.view(), q_ref.view(), s_ref.view(), sc.spec, o);
  o.backend = Backend::cpu;
  quantize(x.view(), q_fast.view(), s_fast.view(), sc.spec, o);
  EXPECT_EQ(first_mismatch(q_ref.bytes, q_fast.bytes, 1, q_ld), "") << "codes";
  EXPECT_EQ(first_mismatch(s_ref.bytes, s_fast.bytes, static_cast<size_t>(dtype_size(sc.dtype))), "") << "scales";
}

/// Random codes (every code, NaN included) and hostile scales, dequantized by both backends.
void check_dequantize(int64_t rows, int64_t cols, DType fp8, DType out, const ScaleChoice& sc, std::mt19937& rng) {
  SCOPED_TRACE(describe_case(rows, cols, fp8, out, sc, 0.0f));
  const int64_t q_ld = cols + static_cast<int64_t>(rng() % 2) * 7;
  const int64_t y_ld = cols + static_cast<int64_t>(rng() % 2) * 2;
  auto random_bytes = [&](std::vector<uint8_t>& bytes) {
    for (size_t i = 0; i < bytes.size(); i += 4) {
      const auto r = static_cast<uint32_t>(rng());
      std::memcpy(&bytes[i], &r, std::min<size_t>(4, bytes.size() - i));
    }
  };
  HostMatrix q(fp8, rows, cols, q_ld);
  random_bytes(q.bytes);  // every code, NaN included
  HostScaleGrid s = make_grid(sc, rows, cols);
  if (sc.dtype == DType::ue8m0) {
    random_bytes(s.bytes);  // 0 and the NaN byte 255 included
  } else {
    const std::vector<float> v = testing::hostile_matrix(1, static_cast<int64_t>(s.bytes.size() / 4), rng);
    std::memcpy(s.bytes.data(), v.data(), s.bytes.size());
  }
  HostMatrix y_ref(out, rows, cols, y_ld), y_fast(out, rows, cols, y_ld);
  DequantizeOptions o;
  o.backend = Backend::cpu_reference;
  dequantize(q.view(), s.view(), y_ref.view(), sc.spec, o);
  o.backend = Backend::cpu;
  dequantize(q.view(), s.view(), y_fast.view(), sc.spec, o);
  EXPECT_EQ(first_mismatch(y_ref.bytes, y_fast.bytes, static_cast<size_t>(dtype_size(out)), y_ld), "");
}

/// Runs each test with the fast paths compiled for one instruction set (every one this machine has).
class CpuFastMatchesReference : public ::testing::TestWithParam<cpu::Isa> {
 protected:
  void SetUp() override {
    if (!cpu::isa_supported(GetParam())) {
      GTEST_SKIP() << "needs a CPU with " << cpu::isa_name(GetParam());
    }
    isa_.emplace(GetParam());
  }
  std::optional<cpu::ScopedIsa> isa_;
};

TEST_P(CpuFastMatchesReference, QuantizeAndDequantizeSweep) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  for (const int64_t rows : kRows) {
    for (const int64_t cols : kCols) {
      const std::vector<float> values = testing::hostile_matrix(rows, cols, rng);
      const bool sample = rows * cols > kLargeMatrix;
      for (const ScaleSpec& spec : kSpecs) {
        for (const DType in : kPrecisions) {
          for (const DType fp8 : kFormats) {
            if (sample && rng() % 6 != 0) continue;
            // small matrices: every scale type and layout; larger ones: one of them at random
            const bool every_layout = rows * cols <= kEveryLayoutMatrix;
            for (int choice = 0; choice < (every_layout ? kScaleChoices : 1); ++choice) {
              const ScaleChoice sc = every_layout ? scale_choice(spec, choice, rng) : choose_scales(spec, rng);
              const float bound = rng() % 4 == 0 ? std::ldexp(1.0f, static_cast<int>(rng() % 8)) * 0.37f : 0.0f;
              check_quantize(values, rows, cols, in, fp8, sc, bound, rng);
              check_dequantize(rows, cols, fp8, in, sc, rng);
              if (::testing::Test::HasFailure()) return;
            }
          }
        }
      }
    }
  }
}

TEST_P(CpuFastMatchesReference, ThreeDimensionalInputsAndEmptyShapes) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  // [B, S, K] activations with [B, S, K/128] scales; then degenerate shapes.
  for (const auto& shape : std::vector<std::array<int64_t, 3>>{{2, 5, 300}, {3, 1, 128}, {0, 4, 256}, {2, 3, 0}}) {
    const int64_t rows = shape[0] * shape[1], cols = shape[2], groups = (cols + 127) / 128;
    SCOPED_TRACE(detail::concat("shape [", shape[0], ", ", shape[1], ", ", shape[2], "]"));
    const HostMatrix x = testing::host_matrix(testing::hostile_matrix(rows, cols, rng), DType::bf16, rows, cols, cols);
    std::vector<uint8_t> q_ref(static_cast<size_t>(rows * cols) + 1, 0xA5), q_fast = q_ref;
    std::vector<float> s_ref(static_cast<size_t>(rows * groups) + 1, -3.0f), s_fast = s_ref;
    auto run = [&](Backend b, std::vector<uint8_t>& q, std::vector<float>& s) {
      QuantizeOptions o;
      o.backend = b;
      quantize(TensorView::contiguous(const_cast<uint8_t*>(x.bytes.data()), DType::bf16, {shape[0], shape[1], shape[2]}),
               TensorView::contiguous(q.data(), DType::e4m3fn, {shape[0], shape[1], shape[2]}),
               TensorView::contiguous(s.data(), DType::f32, {shape[0], shape[1], groups}), ScaleSpec::group(), o);
    };
    run(Backend::cpu_reference, q_ref, s_ref);
    run(Backend::cpu, q_fast, s_fast);
    EXPECT_EQ(first_mismatch(q_ref, q_fast, 1, cols), "");
    EXPECT_EQ(first_mismatch(testing::to_bytes(s_ref, DType::f32), testing::to_bytes(s_fast, DType::f32), 4), "");
  }
}

/// bf16 gate/up values where silu is interesting: exp overflow and underflow (|g| > 88), NaN, inf.
std::vector<float> silu_inputs(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::vector<float> v = testing::hostile_matrix(rows, cols, rng);
  std::uniform_real_distribution<float> wide(-120.0f, 120.0f);
  for (size_t i = 0; i < v.size(); i += 7) v[i] = wide(rng);
  return v;
}

TEST_P(CpuFastMatchesReference, SiluMulAndSiluMulQuantize) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  for (const int64_t rows : {1, 3, 17, 64}) {
    for (const int64_t inter : {1, 100, 128, 576, 1000}) {
      SCOPED_TRACE(detail::concat("rows ", rows, " intermediate ", inter));
      const int64_t gu_ld = 2 * inter + static_cast<int64_t>(rng() % 2) * 4;
      const HostMatrix gate_up =
          testing::host_matrix(silu_inputs(rows, 2 * inter, rng), DType::bf16, rows, 2 * inter, gu_ld);
      HostMatrix h_ref(DType::bf16, rows, inter), h_fast(DType::bf16, rows, inter);
      QuantizeOptions o;
      o.backend = Backend::cpu_reference;
      silu_mul(gate_up.view(), h_ref.view(), o);
      o.backend = Backend::cpu;
      silu_mul(gate_up.view(), h_fast.view(), o);
      EXPECT_EQ(first_mismatch(h_ref.bytes, h_fast.bytes, 2, inter), "") << "silu_mul";

      for (const ScaleSpec& base : {ScaleSpec::group(128), ScaleSpec::group(64)}) {
        const ScaleChoice sc = choose_scales(base, rng);
        const DType fp8 = kFormats[rng() % 2];
        SCOPED_TRACE(describe_case(rows, inter, DType::bf16, fp8, sc, 0.0f));
        HostMatrix q_ref(fp8, rows, inter), q_fast(fp8, rows, inter);
        HostScaleGrid s_ref = make_grid(sc, rows, inter), s_fast = make_grid(sc, rows, inter);
        o.backend = Backend::cpu_reference;
        silu_mul_quantize(gate_up.view(), q_ref.view(), s_ref.view(), sc.spec, o);
        o.backend = Backend::cpu;
        silu_mul_quantize(gate_up.view(), q_fast.view(), s_fast.view(), sc.spec, o);
        EXPECT_EQ(first_mismatch(q_ref.bytes, q_fast.bytes, 1, inter), "") << "silu_mul_quantize codes";
        EXPECT_EQ(first_mismatch(s_ref.bytes, s_fast.bytes, static_cast<size_t>(dtype_size(sc.dtype))), "")
            << "silu_mul_quantize scales";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, CpuFastMatchesReference, ::testing::Values(cpu::Isa::baseline, cpu::Isa::avx2),
                         [](const auto& param_info) { return std::string(cpu::isa_name(param_info.param)); });

}  // namespace
}  // namespace fp8kit
