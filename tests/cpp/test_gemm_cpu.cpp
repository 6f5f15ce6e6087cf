// test_gemm_cpu.cpp: the CPU GEMM backends against the harness's float64 reference, and the harness
// itself (it must notice wrong results). Small and ragged shapes: the CPU reference is scalar.
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "gemm_harness.h"

namespace fp8kit::testing::gemm {
namespace {

constexpr uint8_t kPoison = 0xFF;  // NaN in f32, bf16 and f16: unwritten outputs show as non-finite

uint32_t fresh_seed() { return std::random_device{}(); }

std::vector<uint8_t> run_cpu(const HostOperands& h, Backend backend) {
  std::vector<uint8_t> d(static_cast<size_t>(h.c.m * h.c.n * dtype_size(h.c.out)), kPoison);
  OperandPointers ptrs;
  ptrs.a = const_cast<uint8_t*>(h.a.data());
  ptrs.b = const_cast<uint8_t*>(h.b.data());
  ptrs.as = const_cast<float*>(h.as.data());
  ptrs.bs = const_cast<float*>(h.bs.data());
  ptrs.bias = h.bias.empty() ? nullptr : const_cast<uint8_t*>(h.bias.data());
  ptrs.d = d.data();
  GemmOptions o;
  o.backend = backend;
  fp8kit::gemm(make_args(h, ptrs, Device::cpu()), o);
  return d;
}

void expect_within_contract(const HostOperands& h, const std::vector<uint8_t>& d, const char* backend) {
  const auto want = reference_cpu(h);
  const ErrorReport r = compare(widen_output(d, h.c.out, h.c.m, h.c.n), want, h.c.out, h.c.m, h.c.n);
  const double tol = tolerance(h.c.out);
  EXPECT_TRUE(r.pass_error() <= tol && r.worst_row_error <= 2 * tol && r.nonfinite == 0 && r.lost_nan == 0)
      << backend << " " << h.c.name() << ": " << r.describe() << " (tolerance " << tol << ", rows " << 2 * tol << ")";
}

std::vector<GemmCase> cpu_cases(uint32_t seed) {
  std::vector<GemmCase> cases;
  const DType outs[] = {DType::bf16, DType::f16, DType::f32};
  const DType biases[] = {DType::f32, DType::bf16, DType::f16};
  const int64_t shapes[][3] = {{1, 64, 128}, {3, 200, 576}, {65, 200, 576}, {64, 64, 128}, {17, 136, 300}, {9, 129, 129}};
  int i = 0;
  for (const auto& s : shapes) {
    for (GemmScaling scaling : {GemmScaling::block, GemmScaling::row}) {
      GemmCase c;
      c.m = s[0];
      c.n = s[1];
      c.k = s[2];
      c.scaling = scaling;
      c.out = outs[i % 3];
      c.bias = i % 2 == 0;
      c.bias_dtype = biases[(i / 2) % 3];
      c.act_scales = i % 4 < 2 ? ScaleLayout::row_major : ScaleLayout::m_major;
      c.a_row_pad = i % 5 == 0 ? 16 : (i % 5 == 3 ? 3 : 0);
      c.per_tensor = scaling == GemmScaling::row && i % 3 == 1;
      c.seed = seed + static_cast<uint32_t>(i);
      cases.push_back(c);
      ++i;
    }
  }
  return cases;
}

TEST(GemmCpu, BackendsMeetTheContract) {
  const uint32_t seed = fresh_seed();
  for (const GemmCase& c : cpu_cases(seed)) {
    const HostOperands h = make_operands(c);
    for (Backend b : {Backend::cpu_reference, Backend::cpu}) {
      const auto d = run_cpu(h, b);
      expect_within_contract(h, d, std::string(backend_name(b)).c_str());
      EXPECT_EQ(d, run_cpu(h, b)) << backend_name(b) << " is not deterministic for " << c.name();
    }
  }
}

TEST(GemmCpu, OutlierRowDoesNotDegradeOtherRows) {
  GemmCase c;
  c.m = 40;
  c.n = 136;
  c.k = 384;
  c.outlier_row = 7;
  c.hostile_rows = false;
  c.seed = fresh_seed();
  const HostOperands h = make_operands(c);
  const auto d = run_cpu(h, Backend::cpu);
  const ErrorReport r = compare(widen_output(d, c.out, c.m, c.n), reference_cpu(h), c.out, c.m, c.n, c.outlier_row);
  EXPECT_LE(r.worst_row_error, 2 * tolerance(c.out)) << c.name() << ": " << r.describe();
}

TEST(GemmHarness, NoticesWrongResults) {
  GemmCase c;
  c.m = 12;
  c.n = 64;
  c.k = 256;
  c.seed = fresh_seed();
  const HostOperands h = make_operands(c);
  const auto want = reference_cpu(h);
  auto got = widen_output(run_cpu(h, Backend::cpu), c.out, c.m, c.n);
  ASSERT_LE(compare(got, want, c.out, c.m, c.n).pass_error(), tolerance(c.out)) << c.name();

  auto one_row_off = got;
  for (int64_t j = 0; j < c.n; ++j) one_row_off[static_cast<size_t>(3 * c.n + j)] *= 1.01;
  const ErrorReport r = compare(one_row_off, want, c.out, c.m, c.n);
  EXPECT_EQ(r.worst_row, 3) << r.describe();
  EXPECT_GT(r.worst_row_error, 2 * tolerance(c.out)) << r.describe();

  auto unwritten = got;
  unwritten[5] = std::nan("");
  EXPECT_EQ(compare(unwritten, want, c.out, c.m, c.n).nonfinite, 1);
}

TEST(GemmHarness, OperandsFollowTheirSeedAndLayout) {
  GemmCase c;
  c.m = 9;
  c.n = 130;
  c.k = 200;
  c.a_row_pad = 8;
  c.act_scales = ScaleLayout::m_major;
  c.seed = 1234;
  const HostOperands h1 = make_operands(c), h2 = make_operands(c);
  EXPECT_EQ(h1.a, h2.a);
  EXPECT_EQ(h1.b, h2.b);
  EXPECT_EQ(h1.lda, c.k + 8);
  EXPECT_EQ(h1.as_ld, 12);  // M padded to a multiple of 4
  for (int64_t r = 0; r < c.m; ++r) {
    for (int64_t j = c.k; j < h1.lda; ++j) EXPECT_EQ(h1.a[static_cast<size_t>(r * h1.lda + j)], 0x7F) << "row padding";
  }
  c.seed = 1235;
  EXPECT_NE(make_operands(c).a, h1.a);
}

}  // namespace
}  // namespace fp8kit::testing::gemm
