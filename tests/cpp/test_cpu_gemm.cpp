// The CPU GEMMs (Backend::cpu and Backend::cpu_reference) against a float64 product of the
// dequantized operands: block scaling (any block_n / block_k, As row-major or M-major padded) and row
// scaling (per-row and broadcast per-tensor scales), ragged M, N, K (M = 1, K <= 128 with a one-column
// scale grid, K = 0), bias none / f32 / bf16 / f16, outputs bf16 / f16 / f32, e4m3fn and e5m2
// operands. Every element is checked against a bound derived from the fp32 summation and the output
// rounding; outputs of 1000+ elements also against the contract's relative Frobenius tolerances.
// Also: a 100x outlier token does not change the other rows at all, and the results are
// deterministic (same bits twice, with one thread and with all, with every instruction set's micro
// kernel; the fast path equals the reference bit for bit because it sums in the reference's order).
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cpu/cpu_isa.h"
#include "cpu/parallel_for.h"
#include "fp8kit/fp8kit.h"
#include "test_support.h"

namespace fp8kit {
namespace {

using testing::HostMatrix;
using testing::HostScaleGrid;

struct GemmCase {
  int64_t m = 1, n = 1, k = 1;
  GemmScaling scaling = GemmScaling::block;
  int64_t block_n = 128, block_k = 128;
  DType out = DType::bf16;
  std::optional<DType> bias;
  DType a_format = DType::e4m3fn, b_format = DType::e4m3fn;
  bool a_scales_m_major = false;  // block scaling: As column-major with a padded leading dimension
  bool per_tensor = false;        // row scaling: one broadcast scale for A and one for B
};

std::string describe(const GemmCase& c) {
  return detail::concat("M=", c.m, " N=", c.n, " K=", c.k, c.scaling == GemmScaling::block ? " block " : " row ",
                        c.block_n, "x", c.block_k, " out ", dtype_name(c.out), " bias ",
                        c.bias ? dtype_name(*c.bias) : "none", " A ", dtype_name(c.a_format), " B ",
                        dtype_name(c.b_format), c.a_scales_m_major ? " As M-major" : "",
                        c.per_tensor ? " per-tensor" : "");
}

/// Quantized operands of a case: A, B, their scale grids and the optional bias.
struct Operands {
  HostMatrix a, b;
  HostScaleGrid as, bs;
  HostMatrix bias;

  Operands(const GemmCase& c, const std::vector<float>& a_values, const std::vector<float>& b_values, std::mt19937& rng)
      : a(c.a_format, c.m, c.k, c.k + static_cast<int64_t>(rng() % 2) * 16),
        b(c.b_format, c.n, c.k),
        as(make_a_grid(c)),
        bs(make_b_grid(c)),
        bias(c.bias.value_or(DType::f32), 1, c.bias ? c.n : 0) {
    QuantizeOptions o;
    o.backend = Backend::cpu_reference;
    const HostMatrix a_src = testing::host_matrix(a_values, DType::f32, c.m, c.k, c.k);
    const HostMatrix b_src = testing::host_matrix(b_values, DType::f32, c.n, c.k, c.k);
    quantize(a_src.view(), a.view(), as.view(), a_spec(c), o);
    quantize(b_src.view(), b.view(), bs.view(), b_spec(c), o);
    if (c.bias) {
      std::normal_distribution<float> normal(0.0f, 0.5f);
      for (int64_t j = 0; j < c.n; ++j) bias.set(0, j, normal(rng));
    }
  }

  static ScaleSpec a_spec(const GemmCase& c) {
    if (c.scaling == GemmScaling::block) return ScaleSpec::group(c.block_k);
    return c.per_tensor ? ScaleSpec::per_tensor() : ScaleSpec::per_row();
  }
  static ScaleSpec b_spec(const GemmCase& c) {
    if (c.scaling == GemmScaling::block) return ScaleSpec::block(c.block_n, c.block_k);
    return c.per_tensor ? ScaleSpec::per_tensor() : ScaleSpec::per_row();
  }
  static HostScaleGrid make_a_grid(const GemmCase& c) {
    const ScaleGridShape g = scale_grid_shape(c.m, c.k, a_spec(c));  // row scaling: [M, 1], also for K = 0
    if (c.a_scales_m_major) return HostScaleGrid(DType::f32, g.rows, g.cols, true, (g.rows + 3) / 4 * 4 + 4);
    return HostScaleGrid(DType::f32, g.rows, g.cols, false, std::max<int64_t>(g.cols, 1));
  }
  static HostScaleGrid make_b_grid(const GemmCase& c) {
    const ScaleGridShape g = scale_grid_shape(c.n, c.k, b_spec(c));
    return HostScaleGrid(DType::f32, g.rows, g.cols, false, std::max<int64_t>(g.cols, 1));
  }

  GemmArgs args(const GemmCase& c, HostMatrix& d) const {
    GemmArgs g;
    g.a = a.view();
    g.b = b.view();
    g.a_scales = as.view();
    g.b_scales = bs.view();
    if (c.bias) g.bias = TensorView::contiguous(const_cast<uint8_t*>(bias.bytes.data()), *c.bias, {c.n});
    g.d = d.view();
    g.scaling = c.scaling;
    g.block_n = c.block_n;
    g.block_k = c.block_k;
    return g;
  }

  /// D in float64 from the dequantized operands: sum_k (a * As)(b * Bs) + bias; `magnitude` gets
  /// sum_k |(a * As)(b * Bs)| + |bias| per element, the scale of the fp32 summation error.
  std::vector<double> reference(const GemmCase& c, std::vector<double>* magnitude = nullptr) const {
    const bool block = c.scaling == GemmScaling::block;
    std::vector<double> a64(static_cast<size_t>(c.m * c.k)), b64(static_cast<size_t>(c.n * c.k));
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t k = 0; k < c.k; ++k) {
        const double s = block ? as.get(i, k / c.block_k) : as.get(c.per_tensor ? 0 : i, 0);
        a64[static_cast<size_t>(i * c.k + k)] = static_cast<double>(a.get(i, k)) * s;
      }
    }
    for (int64_t j = 0; j < c.n; ++j) {
      for (int64_t k = 0; k < c.k; ++k) {
        const double s = block ? bs.get(j / c.block_n, k / c.block_k) : bs.get(c.per_tensor ? 0 : j, 0);
        b64[static_cast<size_t>(j * c.k + k)] = static_cast<double>(b.get(j, k)) * s;
      }
    }
    std::vector<double> d(static_cast<size_t>(c.m * c.n));
    if (magnitude != nullptr) magnitude->assign(d.size(), 0.0);
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t j = 0; j < c.n; ++j) {
        double sum = 0.0, abs_sum = 0.0;
        for (int64_t k = 0; k < c.k; ++k) {
          const double p = a64[static_cast<size_t>(i * c.k + k)] * b64[static_cast<size_t>(j * c.k + k)];
          sum += p;
          abs_sum += std::fabs(p);
        }
        if (c.bias) {
          sum += bias.get(0, j);
          abs_sum += std::fabs(bias.get(0, j));
        }
        d[static_cast<size_t>(i * c.n + j)] = sum;
        if (magnitude != nullptr) (*magnitude)[static_cast<size_t>(i * c.n + j)] = abs_sum;
      }
    }
    return d;
  }
};

/// The contract's relative Frobenius tolerance per output dtype.
double tolerance(DType out) { return out == DType::bf16 ? 2e-3 : out == DType::f16 ? 1e-3 : 1e-4; }

/// Relative half ulp of the output dtype.
double output_rounding(DType out) {
  return std::ldexp(1.0, out == DType::bf16 ? -8 : out == DType::f16 ? -11 : -24);
}

/// Outputs this large average the output rounding enough for the Frobenius tolerance (bf16 rounding
/// alone gives about 1.6e-3 RMS relative error; a handful of elements can exceed 2e-3 by chance).
constexpr int64_t kFrobeniusMinElements = 1000;

/// Per element: |D - ref| <= u_out (|ref| + e) + e + tiny, where e = (K + 4) 2^-24 sum_k |terms|
/// bounds the fp32 summation (K adds, block scaling's two multiplies and add, the bias add) and
/// tiny covers f16 subnormal outputs.
void expect_elementwise(const HostMatrix& d, const std::vector<double>& ref, const std::vector<double>& magnitude,
                        int64_t k, const char* what) {
  const double u_out = output_rounding(d.dtype);
  const double tiny = d.dtype == DType::f16 ? std::ldexp(1.0, -25) : 0.0;
  for (int64_t i = 0; i < d.rows; ++i) {
    for (int64_t j = 0; j < d.cols; ++j) {
      const auto idx = static_cast<size_t>(i * d.cols + j);
      const double e = static_cast<double>(k + 4) * std::ldexp(1.0, -24) * magnitude[idx];
      const double bound = u_out * (std::fabs(ref[idx]) + e) + e + tiny;
      ASSERT_LE(std::fabs(d.get(i, j) - ref[idx]), bound) << what << " D(" << i << ", " << j << ")";
    }
  }
}

/// ||D - ref||_F / ||ref||_F (the absolute error when ref is zero).
double relative_frobenius(const HostMatrix& d, const std::vector<double>& ref) {
  double err = 0.0, norm = 0.0;
  for (int64_t i = 0; i < d.rows; ++i) {
    for (int64_t j = 0; j < d.cols; ++j) {
      const double r = ref[static_cast<size_t>(i * d.cols + j)];
      const double e = static_cast<double>(d.get(i, j)) - r;
      err += e * e;
      norm += r * r;
    }
  }
  return norm > 0.0 ? std::sqrt(err / norm) : std::sqrt(err);
}

std::vector<float> normal_values(int64_t n, float sigma, std::mt19937& rng) {
  return testing::random_floats(static_cast<size_t>(n), rng, sigma, /*hostile=*/false);
}

HostMatrix run_gemm(const GemmCase& c, const Operands& ops, Backend backend) {
  HostMatrix d(c.out, c.m, c.n, c.n + 3);
  GemmOptions o;
  o.backend = backend;
  gemm(ops.args(c, d), o);
  return d;
}

void check_against_float64(const GemmCase& c, std::mt19937& rng) {
  SCOPED_TRACE(describe(c));
  const Operands ops(c, normal_values(c.m * c.k, 1.0f, rng), normal_values(c.n * c.k, 0.05f, rng), rng);
  std::vector<double> magnitude;
  const std::vector<double> ref = ops.reference(c, &magnitude);
  const HostMatrix fast = run_gemm(c, ops, Backend::cpu);
  const HostMatrix scalar = run_gemm(c, ops, Backend::cpu_reference);
  expect_elementwise(fast, ref, magnitude, c.k, "cpu");
  expect_elementwise(scalar, ref, magnitude, c.k, "cpu_reference");
  if (c.m * c.n >= kFrobeniusMinElements) {
    EXPECT_LE(relative_frobenius(fast, ref), tolerance(c.out)) << "cpu";
    EXPECT_LE(relative_frobenius(scalar, ref), tolerance(c.out)) << "cpu_reference";
  }
  EXPECT_EQ(testing::first_mismatch(scalar.bytes, fast.bytes, static_cast<size_t>(dtype_size(c.out)), fast.ld), "")
      << "the fast GEMM sums in the reference's order, so it must give the same bits";
}

TEST(CpuGemm, BlockScaledRaggedShapesAgainstFloat64) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  const std::vector<std::array<int64_t, 3>> shapes = {{1, 1, 1},   {1, 300, 128}, {5, 129, 100}, {17, 257, 300},
                                                      {130, 70, 1000}, {97, 200, 576}, {3, 33, 0}, {2, 7, 1},
                                                      {3, 40, 16384}};  // large K (D.18)
  const DType outs[] = {DType::bf16, DType::f16, DType::f32};
  const std::optional<DType> biases[] = {std::nullopt, DType::f32, DType::bf16, DType::f16};
  int index = 0;
  for (const auto& s : shapes) {
    for (const auto& [bn, bk] : std::vector<std::pair<int64_t, int64_t>>{{128, 128}, {64, 128}, {128, 64}, {48, 40}, {96, 320}}) {
      GemmCase c;
      c.m = s[0];
      c.n = s[1];
      c.k = s[2];
      c.block_n = bn;
      c.block_k = bk;
      c.out = outs[index % 3];
      c.bias = biases[index % 4];
      c.a_scales_m_major = index % 2 == 1;
      c.b_format = index % 5 == 2 ? DType::e5m2 : DType::e4m3fn;
      ++index;
      check_against_float64(c, rng);
    }
  }
}

TEST(CpuGemm, RowScaledAgainstFloat64) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  int index = 0;
  for (const auto& s : std::vector<std::array<int64_t, 3>>{{1, 64, 7}, {33, 130, 300}, {128, 96, 257}, {4, 5, 0}}) {
    for (const DType out : {DType::bf16, DType::f16, DType::f32}) {
      GemmCase c;
      c.m = s[0];
      c.n = s[1];
      c.k = s[2];
      c.scaling = GemmScaling::row;
      c.out = out;
      c.bias = index % 2 == 0 ? std::optional<DType>(DType::bf16) : std::nullopt;
      c.per_tensor = index % 3 == 1;
      c.a_format = index % 4 == 3 ? DType::e5m2 : DType::e4m3fn;
      ++index;
      check_against_float64(c, rng);
    }
  }
}

TEST(CpuGemm, EmptyKGivesTheBiasExactly) {
  GemmCase c;
  c.m = 3;
  c.n = 40;
  c.k = 0;
  c.out = DType::f32;
  c.bias = DType::bf16;
  std::mt19937 rng(1);
  const Operands ops(c, {}, {}, rng);
  for (const Backend b : {Backend::cpu, Backend::cpu_reference}) {
    const HostMatrix d = run_gemm(c, ops, b);
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t j = 0; j < c.n; ++j) EXPECT_EQ(d.get(i, j), ops.bias.get(0, j)) << backend_name(b);
    }
  }
}

TEST(CpuGemm, OutlierTokenDoesNotChangeOtherRows) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  GemmCase c;
  c.m = 9;
  c.n = 150;
  c.k = 640;
  c.out = DType::f32;
  const std::vector<float> a = normal_values(c.m * c.k, 1.0f, rng);
  const std::vector<float> b = normal_values(c.n * c.k, 0.05f, rng);
  std::vector<float> a_outlier = a;
  const int64_t token = 4;
  for (int64_t k = 0; k < c.k; ++k) a_outlier[static_cast<size_t>(token * c.k + k)] *= 100.0f;
  a_outlier[static_cast<size_t>(token * c.k + 3)] = 1e4f;
  std::mt19937 bias_rng(seed);
  const Operands plain(c, a, b, bias_rng);
  const Operands outlier(c, a_outlier, b, bias_rng);
  for (const Backend backend : {Backend::cpu, Backend::cpu_reference}) {
    const HostMatrix d_plain = run_gemm(c, plain, backend);
    const HostMatrix d_outlier = run_gemm(c, outlier, backend);
    for (int64_t i = 0; i < c.m; ++i) {
      // error against the unquantized product: fp8 quantization of both operands, ~2^-4 per element
      double err = 0.0, norm = 0.0;
      for (int64_t j = 0; j < c.n; ++j) {
        double exact = 0.0;
        for (int64_t k = 0; k < c.k; ++k) {
          exact += static_cast<double>(a_outlier[static_cast<size_t>(i * c.k + k)]) * b[static_cast<size_t>(j * c.k + k)];
        }
        const double e = d_outlier.get(i, j) - exact;
        err += e * e;
        norm += exact * exact;
        if (i != token) {
          EXPECT_EQ(numerics::bits_of(d_outlier.get(i, j)), numerics::bits_of(d_plain.get(i, j)))
              << backend_name(backend) << " row " << i << " changed by the outlier in row " << token;
        }
      }
      EXPECT_LE(std::sqrt(err / norm), 0.05) << backend_name(backend) << " row " << i;
    }
  }
}

TEST(CpuGemm, DeterministicAcrossRunsAndThreadCounts) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  GemmCase c;
  c.m = 200;
  c.n = 300;
  c.k = 900;
  c.out = DType::f32;
  c.bias = DType::f32;
  const Operands ops(c, normal_values(c.m * c.k, 1.0f, rng), normal_values(c.n * c.k, 0.05f, rng), rng);
  const HostMatrix first = run_gemm(c, ops, Backend::cpu);
  const HostMatrix second = run_gemm(c, ops, Backend::cpu);
  EXPECT_EQ(testing::first_mismatch(first.bytes, second.bytes, 4, c.n), "") << "two runs";
  {
    const cpu::ScopedThreadLimit one(1);
    const HostMatrix single = run_gemm(c, ops, Backend::cpu);
    EXPECT_EQ(testing::first_mismatch(first.bytes, single.bytes, 4, c.n), "")
        << "one thread vs " << capabilities().cpu_threads;
  }
  for (const cpu::Isa isa : {cpu::Isa::baseline, cpu::Isa::avx2}) {
    if (!cpu::isa_supported(isa)) continue;
    const cpu::ScopedIsa scoped(isa);
    const HostMatrix other = run_gemm(c, ops, Backend::cpu);
    EXPECT_EQ(testing::first_mismatch(first.bytes, other.bytes, 4, c.n), "") << "micro kernel for " << cpu::isa_name(isa);
  }
}

}  // namespace
}  // namespace fp8kit
