// test_gemm_cuda.cpp: every CUDA GEMM backend against the float64 reference of the GEMM harness.
//
// Each test runs once per backend (cublaslt, cuda_fp8_mma, cuda_bf16_mma, cuda_sm90): a backend that
// refuses every case of a test is skipped with its reason, so the Hopper kernel is covered as soon as
// it accepts problems. Per case: D is poisoned (0xFF = NaN) before each run; the sampled rows (all rows
// up to 512, else 128 rows including the first, last, hostile and outlier rows) must meet the contract
// (relative Frobenius error within tolerance, every row within twice that, no NaN/inf where the
// reference is finite, NaN where it is NaN); the whole of D must be finite; a second run must give the
// same bytes. BackendsAgree compares all outputs of every pair of backends.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cuda/common/cuda_check.h"
#include "gemm_device_check.h"
#include "gemm_harness.h"
#include "late_writer.h"
#include "test_support.h"

namespace fp8kit {
/// Test names and failure messages print the backend's name.
inline void PrintTo(Backend b, std::ostream* os) { *os << backend_name(b); }
}  // namespace fp8kit

namespace fp8kit::testing::gemm {
namespace {

constexpr uint8_t kPoison = 0xFF;
constexpr int64_t kAllRowsUpTo = 512;
constexpr int64_t kSampledRows = 128;
const Backend kGpuBackends[] = {Backend::cublaslt, Backend::cuda_fp8_mma, Backend::cuda_bf16_mma, Backend::cuda_sm90};

/// One seed per process, printed with every failing case (GemmCase::name).
uint32_t run_seed() {
  static const uint32_t seed = [] {
    if (const char* env = std::getenv("FP8KIT_TEST_SEED")) return static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
    return static_cast<uint32_t>(std::random_device{}());
  }();
  return seed;
}

/// A case uploaded to the GPU with the reference of its sampled rows. Cached by case name: the four
/// backend instances of a test share it.
struct Prepared {
  HostOperands host;
  std::unique_ptr<DeviceBuffer> a, b, as, bs, bias, d, d_first, rows, ref;
  int64_t sampled = 0;  // rows with a reference (all rows when M <= 512)
  GemmArgs args;
};

std::vector<int64_t> sampled_rows(const GemmCase& c) {
  std::vector<int64_t> rows;
  if (c.m <= kAllRowsUpTo) {
    for (int64_t i = 0; i < c.m; ++i) rows.push_back(i);
    return rows;
  }
  std::set<int64_t> pick = {0, 1, 63, 64, 127, 128, c.m / 2 + 1, c.m / 2 + 2, c.m / 2 + 3, c.m - 2, c.m - 1};
  if (c.outlier_row >= 0) pick.insert(c.outlier_row);
  std::mt19937_64 rng(c.seed);
  while (static_cast<int64_t>(pick.size()) < kSampledRows) pick.insert(static_cast<int64_t>(rng() % c.m));
  return {pick.begin(), pick.end()};
}

template <typename T>
std::unique_ptr<DeviceBuffer> upload(const std::vector<T>& host) {
  return host.empty() ? nullptr : std::make_unique<DeviceBuffer>(host);
}

void* ptr(const std::unique_ptr<DeviceBuffer>& b) { return b ? b->get() : nullptr; }

size_t output_bytes(const GemmCase& c) { return static_cast<size_t>(c.m * c.n * dtype_size(c.out)); }

std::shared_ptr<Prepared> prepare(const HostOperands& host) {
  auto p = std::make_shared<Prepared>();
  p->host = host;
  const GemmCase& c = host.c;
  p->a = upload(host.a);
  p->b = upload(host.b);
  p->as = upload(host.as);
  p->bs = upload(host.bs);
  p->bias = upload(host.bias);
  p->d = std::make_unique<DeviceBuffer>(output_bytes(c));
  p->d_first = std::make_unique<DeviceBuffer>(output_bytes(c));
  const std::vector<int64_t> rows = sampled_rows(c);
  p->sampled = static_cast<int64_t>(rows.size());
  p->rows = upload(rows);
  p->ref = std::make_unique<DeviceBuffer>(static_cast<size_t>(p->sampled * c.n) * sizeof(double));
  OperandPointers ptrs{ptr(p->a), ptr(p->b), ptr(p->as), ptr(p->bs), ptr(p->bias), p->d->get()};
  reference_rows_on_device(device_view(host, ptrs), static_cast<const int64_t*>(p->rows->get()), p->sampled,
                           static_cast<double*>(p->ref->get()));
  p->args = make_args(host, ptrs, Device::cuda(0));
  return p;
}

std::shared_ptr<Prepared> prepared(const GemmCase& c) {
  static std::map<std::string, std::shared_ptr<Prepared>> cache;
  auto& slot = cache[c.name()];
  if (!slot) slot = prepare(make_operands(c));
  return slot;
}

void poison(const Prepared& p) {
  FP8KIT_CUDA_CHECK(cudaMemset(p.d->get(), kPoison, output_bytes(p.host.c)));
}

void run(const Prepared& p, Backend b, cudaStream_t stream = nullptr) {
  GemmOptions o;
  o.backend = b;
  o.stream = stream;
  fp8kit::gemm(p.args, o);
  FP8KIT_CUDA_CHECK(stream != nullptr ? cudaStreamSynchronize(stream) : cudaDeviceSynchronize());
}

/// Checks the output in p.d against the reference; `who` names the backend in failures.
void expect_matches_reference(const Prepared& p, Backend backend, const std::string& who) {
  const GemmCase& c = p.host.c;
  const RowSums s = compare_rows_on_device(p.d->get(), c.out, c.n, static_cast<const int64_t*>(p.rows->get()), p.sampled,
                                           c.n, static_cast<const double*>(p.ref->get()));
  const ErrorReport r = report_from_rows(s);
  const double tol = tolerance(c.out, backend);
  EXPECT_TRUE(r.pass_error() <= tol && r.worst_row_error <= 2 * tol && r.nonfinite == 0 && r.lost_nan == 0)
      << who << " " << c.name() << ": " << r.describe() << " (tolerance " << tol << ", per row " << 2 * tol << ")";
  if (p.sampled < c.m) {  // rows without a reference must still be written and finite (no NaN inputs there)
    EXPECT_EQ(count_nonfinite_on_device(p.d->get(), c.out, c.n, c.m, c.n), 0)
        << who << " " << c.name() << ": NaN/inf (or unwritten poison) outside the sampled rows";
  }
}

struct Outcome {
  bool ran = false;
  std::string refusal;
};

Outcome check_backend(const Prepared& p, Backend b) {
  GemmOptions o;
  o.backend = b;
  const Verdict v = can_gemm(p.args, o);
  if (!v.ok) return {false, v.reason};
  const std::string who(backend_name(b));
  try {
    poison(p);
    run(p, b);
    expect_matches_reference(p, b, who);
    FP8KIT_CUDA_CHECK(cudaMemcpy(p.d_first->get(), p.d->get(), output_bytes(p.host.c), cudaMemcpyDeviceToDevice));
    poison(p);
    run(p, b);
    EXPECT_EQ(count_differences_on_device(p.d->get(), p.d_first->get(), output_bytes(p.host.c)), 0)
        << who << " " << p.host.c.name() << ": a second run gave different bytes";
  } catch (const Error& e) {
    ADD_FAILURE() << who << " " << p.host.c.name() << " threw: " << e.what();
  }
  return {true, {}};
}

/// What a backend did with a list of cases.
struct Summary {
  int ran = 0;
  std::string refusals;  // "\n  <count>x <reason>" per distinct reason
};

Summary run_cases(Backend b, const std::vector<GemmCase>& cases) {
  Summary s;
  std::map<std::string, int> refusals;
  for (const GemmCase& c : cases) {
    const Outcome o = check_backend(*prepared(c), b);
    if (o.ran) {
      ++s.ran;
    } else {
      ++refusals[o.refusal];
    }
  }
  for (const auto& [reason, count] : refusals) s.refusals += "\n  " + std::to_string(count) + "x " + reason;
  if (s.ran > 0 && !s.refusals.empty()) {
    std::cout << "[ refused  ] " << backend_name(b) << " ran " << s.ran << " cases and refused:" << s.refusals << "\n";
  }
  return s;
}

/// Skips the calling test when the backend refused every case, saying why.
#define FP8KIT_SKIP_IF_NONE_RAN(summary, backend) \
  if ((summary).ran == 0) GTEST_SKIP() << backend_name(backend) << " refused every case:" << (summary).refusals

GemmCase make_case(int64_t m, int64_t n, int64_t k, uint32_t salt) {
  GemmCase c;
  c.m = m;
  c.n = n;
  c.k = k;
  c.seed = run_seed() + salt;
  return c;
}

const int64_t kDeepSeekShapes[][2] = {{2112, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384}, {4096, 7168}, {7168, 2048}};

std::vector<GemmCase> deepseek_cases() {
  std::vector<GemmCase> cases;
  uint32_t salt = 100;
  for (int64_t m : {64, 4096}) {
    for (const auto& nk : kDeepSeekShapes) {
      GemmCase c = make_case(m, nk[0], nk[1], salt++);
      c.act_scales = salt % 2 == 0 ? ScaleLayout::row_major : ScaleLayout::m_major;
      cases.push_back(c);
    }
  }
  return cases;
}

std::vector<GemmCase> ragged_cases() {
  std::vector<GemmCase> cases;
  const DType outs[] = {DType::bf16, DType::f16, DType::f32};
  const DType biases[] = {DType::bf16, DType::f32, DType::f16};
  uint32_t i = 0;
  for (int64_t m : {1, 3, 64, 65, 127, 4096}) {
    for (int64_t n : {64, 200, 2112}) {
      for (int64_t k : {128, 576, 7168}) {
        // M = 4096 only on the diagonal of (N, K), to keep the suite short
        if (m == 4096 && !((n == 64 && k == 128) || (n == 200 && k == 576) || (n == 2112 && k == 7168))) continue;
        GemmCase c = make_case(m, n, k, 200 + i);
        c.out = outs[i % 3];
        c.bias = i % 2 == 1;
        c.bias_dtype = c.out == DType::f32 ? biases[(i / 2) % 3] : c.out;  // cuBLASLt's bias types, mostly
        if (i % 7 == 3) c.bias_dtype = DType::f32;                          // and some it must refuse
        c.act_scales = (i / 3) % 2 == 0 ? ScaleLayout::row_major : ScaleLayout::m_major;
        cases.push_back(c);
        ++i;
      }
    }
  }
  return cases;
}

std::vector<GemmCase> row_scaled_cases() {
  std::vector<GemmCase> cases;
  const int64_t shapes[][3] = {{1, 2112, 7168}, {65, 200, 576}, {128, 7168, 2048}, {4096, 4096, 7168}, {3, 64, 128}};
  uint32_t i = 0;
  for (const auto& s : shapes) {
    for (bool per_tensor : {false, true}) {
      GemmCase c = make_case(s[0], s[1], s[2], 300 + i);
      c.scaling = GemmScaling::row;
      c.per_tensor = per_tensor;
      c.out = i % 3 == 0 ? DType::bf16 : (i % 3 == 1 ? DType::f32 : DType::f16);
      c.bias = i % 2 == 0;
      c.bias_dtype = c.out == DType::f32 ? DType::bf16 : c.out;
      cases.push_back(c);
      ++i;
    }
  }
  return cases;
}

std::vector<GemmCase> layout_cases() {
  std::vector<GemmCase> cases;
  GemmCase c = make_case(96, 256, 512, 400);
  c.a_row_pad = 16;  // padded rows, still 16-byte aligned
  cases.push_back(c);
  c = make_case(96, 256, 512, 401);
  c.a_row_pad = 3;  // rows not 16-byte aligned
  cases.push_back(c);
  c = make_case(33, 96, 100, 402);  // K not a multiple of 16
  c.out = DType::f32;
  cases.push_back(c);
  c = make_case(5, 64, 16, 403);  // K smaller than one block
  cases.push_back(c);
  c = make_case(260, 392, 1000, 404);  // everything ragged, M-major scales with padding
  c.act_scales = ScaleLayout::m_major;
  c.bias = true;
  c.bias_dtype = DType::bf16;
  cases.push_back(c);
  return cases;
}

std::vector<GemmCase> outlier_cases() {
  std::vector<GemmCase> cases;
  for (int64_t m : {65, 4096}) {
    GemmCase c = make_case(m, 2112, 7168, 500 + static_cast<uint32_t>(m));
    c.outlier_row = 7;
    c.hostile_rows = false;
    cases.push_back(c);
  }
  return cases;
}

/// One small case per kernel variant of every backend (small and large tiles, split-K, unaligned rows,
/// K not a multiple of 16, row and per-tensor scaling, every output dtype, bias, M-major scales): the
/// sweep compute-sanitizer runs (scripts/gpu_check.sh sanitize).
std::vector<GemmCase> small_cases() {
  std::vector<GemmCase> cases;
  GemmCase c = make_case(1, 200, 128, 800);
  cases.push_back(c);
  c = make_case(65, 200, 576, 801);
  c.out = DType::f32;
  c.bias = true;
  c.bias_dtype = DType::f32;
  c.act_scales = ScaleLayout::m_major;
  cases.push_back(c);
  c = make_case(8, 256, 4096, 802);  // few output tiles, long K: split-K with a workspace
  c.out = DType::f16;
  cases.push_back(c);
  c = make_case(130, 260, 384, 803);  // more than 128 rows: the large tile
  c.bias = true;
  c.bias_dtype = DType::bf16;
  cases.push_back(c);
  c = make_case(96, 256, 512, 804);
  c.a_row_pad = 3;  // rows not 16-byte aligned
  cases.push_back(c);
  c = make_case(33, 96, 100, 805);  // K not a multiple of 16
  c.out = DType::f32;
  cases.push_back(c);
  for (bool per_tensor : {false, true}) {
    c = make_case(17, 192, 256, 806 + (per_tensor ? 1 : 0));
    c.scaling = GemmScaling::row;
    c.per_tensor = per_tensor;
    c.bias = per_tensor;
    cases.push_back(c);
  }
  return cases;
}

class GemmCudaBackend : public ::testing::TestWithParam<Backend> {};

TEST_P(GemmCudaBackend, SmallShapesOfEveryKernel) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const Summary s = run_cases(GetParam(), small_cases());
  FP8KIT_SKIP_IF_NONE_RAN(s, GetParam());
}

TEST_P(GemmCudaBackend, DeepSeekShapes) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const Summary s = run_cases(GetParam(), deepseek_cases());
  FP8KIT_SKIP_IF_NONE_RAN(s, GetParam());
}

TEST_P(GemmCudaBackend, RaggedShapes) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const Summary s = run_cases(GetParam(), ragged_cases());
  FP8KIT_SKIP_IF_NONE_RAN(s, GetParam());
}

TEST_P(GemmCudaBackend, RowScaling) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const Summary s = run_cases(GetParam(), row_scaled_cases());
  FP8KIT_SKIP_IF_NONE_RAN(s, GetParam());
}

TEST_P(GemmCudaBackend, OperandLayouts) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const Summary s = run_cases(GetParam(), layout_cases());
  FP8KIT_SKIP_IF_NONE_RAN(s, GetParam());
}

TEST_P(GemmCudaBackend, OutlierRowDoesNotDegradeOtherRows) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const Summary s = run_cases(GetParam(), outlier_cases());
  FP8KIT_SKIP_IF_NONE_RAN(s, GetParam());
}

/// A NaN group in A (as the quantizer writes it: NaN scale, NaN codes) makes its row of D NaN and
/// leaves the other rows exact.
TEST_P(GemmCudaBackend, NanGroupPoisonsItsRowOnly) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const Backend b = GetParam();
  GemmCase c = make_case(16, 256, 384, 600);
  c.hostile_rows = false;
  HostOperands h = make_operands(c);
  const int64_t l = 3, row = 5;
  h.as[static_cast<size_t>(row * l + 1)] = std::nanf("");
  for (int64_t k = 128; k < 256; ++k) h.a[static_cast<size_t>(row * h.lda + k)] = 0x7F;
  const auto p = prepare(h);
  const Outcome o = check_backend(*p, b);
  if (!o.ran) GTEST_SKIP() << backend_name(b) << " refused: " << o.refusal;
}

INSTANTIATE_TEST_SUITE_P(Backends, GemmCudaBackend, ::testing::ValuesIn(kGpuBackends),
                         [](const ::testing::TestParamInfo<Backend>& p) { return std::string(backend_name(p.param)); });

/// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

/// Automatic dispatch picks a backend that accepts the problem, and the result meets the contract.
TEST(GemmCuda, AutomaticDispatchIsCorrect) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::vector<GemmCase> cases = row_scaled_cases();
  for (const GemmCase& c : ragged_cases()) {
    if (c.m != 4096) cases.push_back(c);
  }
  for (const GemmCase& c : cases) {
    const auto p = prepared(c);
    const Backend chosen = choose_gemm_backend(p->args);
    GemmOptions o;
    o.backend = chosen;
    EXPECT_TRUE(can_gemm(p->args, o).ok) << backend_name(chosen) << " chosen for " << c.name();
    poison(*p);
    run(*p, Backend::automatic);
    expect_matches_reference(*p, chosen, "automatic (" + std::string(backend_name(chosen)) + ")");
  }
}

/// On Hopper the automatic order depends on the activation scales' layout (src/core/gemm_dispatch.cpp,
/// measured in BENCHMARKS.md "After Hopper v10"): at M = 4096 wide problems go to cuda_sm90 with M-major
/// scales and to cuBLASLt with row-major ones; at M = 256 short wide problems the other way round (cuBLASLt
/// repacks row-major scales with an extra kernel), long ones to cuBLASLt either way.
TEST(GemmCuda, HopperOrderFollowsTheActivationScaleLayout) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const GpuInfo& gpu = capabilities().gpus.front();
  if (gpu.major != 9 || gpu.minor != 0) GTEST_SKIP() << "the Hopper table applies to sm_90, this GPU is sm_" << gpu.major << gpu.minor;
  struct Expect {
    int64_t m, n, k;
    bool m_major;
    Backend backend;
  };
  const Expect expects[] = {
      {4096, 7168, 2048, true, Backend::cuda_sm90}, {4096, 7168, 2048, false, Backend::cublaslt},
      {256, 4096, 7168, false, Backend::cuda_sm90}, {256, 4096, 7168, true, Backend::cublaslt},
      {256, 7168, 16384, false, Backend::cublaslt}, {256, 2112, 7168, true, Backend::cuda_sm90},
  };
  const Device dev = Device::cuda(0);
  for (const Expect& e : expects) {
    const int64_t l = (e.k + 127) / 128, m4 = (e.m + 3) / 4 * 4;
    void *a = nullptr, *b = nullptr, *as = nullptr, *bs = nullptr, *d = nullptr;
    FP8KIT_CUDA_CHECK(cudaMalloc(&a, static_cast<size_t>(e.m * e.k)));
    FP8KIT_CUDA_CHECK(cudaMalloc(&b, static_cast<size_t>(e.n * e.k)));
    FP8KIT_CUDA_CHECK(cudaMalloc(&as, static_cast<size_t>(m4 * l * 4)));
    FP8KIT_CUDA_CHECK(cudaMalloc(&bs, static_cast<size_t>((e.n + 127) / 128 * l * 4)));
    FP8KIT_CUDA_CHECK(cudaMalloc(&d, static_cast<size_t>(e.m * e.n * 2)));
    GemmArgs args;
    args.a = TensorView::matrix(a, DType::e4m3fn, e.m, e.k, e.k, dev);
    args.b = TensorView::matrix(b, DType::e4m3fn, e.n, e.k, e.k, dev);
    args.a_scales = e.m_major ? TensorView::column_major(as, DType::f32, e.m, l, m4, dev)
                              : TensorView::matrix(as, DType::f32, e.m, l, l, dev);
    args.b_scales = TensorView::matrix(bs, DType::f32, (e.n + 127) / 128, l, l, dev);
    args.d = TensorView::matrix(d, DType::bf16, e.m, e.n, e.n, dev);
    EXPECT_EQ(choose_gemm_backend(args), e.backend)
        << "M=" << e.m << " N=" << e.n << " K=" << e.k << (e.m_major ? " M-major" : " row-major") << " scales";
    for (void* p : {a, b, as, bs, d}) cudaFree(p);
  }
}

/// FP8KIT_GEMM_BACKEND forces one backend: chosen when it accepts, a clear error when it refuses or
/// names no backend.
TEST(GemmCuda, EnvironmentVariableOverridesTheChoice) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const auto p = prepared(make_case(64, 256, 512, 700));
  for (Backend b : kGpuBackends) {
    GemmOptions o;
    o.backend = b;
    const bool accepts = can_gemm(p->args, o).ok;
    const ScopedEnv env("FP8KIT_GEMM_BACKEND", std::string(backend_name(b)));
    if (accepts) {
      EXPECT_EQ(choose_gemm_backend(p->args), b);
    } else {
      EXPECT_THROW(choose_gemm_backend(p->args), Error) << backend_name(b);
    }
  }
  const ScopedEnv env("FP8KIT_GEMM_BACKEND", "no_such_backend");
  try {
    choose_gemm_backend(p->args);
    ADD_FAILURE() << "an unknown FP8KIT_GEMM_BACKEND was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("FP8KIT_GEMM_BACKEND"), std::string::npos) << e.what();
  }
}

/// GemmOptions::constant_b lets the Hopper kernel load B before the kernel ahead completes; it must not let
/// anything read A or As early, and must change no bit on any backend. The kernel ahead lets the GEMM start
/// at once, spins, and only then writes A and As over stale values.
TEST(GemmCuda, ConstantWeightsChangeNoBits) {
  FP8KIT_SKIP_WITHOUT_GPU();
  cudaStream_t stream = nullptr;
  FP8KIT_CUDA_CHECK(cudaStreamCreate(&stream));
  int ran = 0;
  for (const GemmCase& c : deepseek_cases()) {
    if (c.m != 64) continue;
    const auto p = prepared(c);
    const DeviceBuffer a_new(p->host.a), as_new(p->host.as);
    for (Backend b : kGpuBackends) {
      GemmOptions o;
      o.backend = b;
      o.stream = stream;
      if (!can_gemm(p->args, o).ok) continue;
      const std::string who = std::string(backend_name(b)) + " " + c.name();
      poison(*p);
      fp8kit::gemm(p->args, o);
      FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
      FP8KIT_CUDA_CHECK(cudaMemcpy(p->d_first->get(), p->d->get(), output_bytes(c), cudaMemcpyDeviceToDevice));
      FP8KIT_CUDA_CHECK(cudaMemsetAsync(p->a->get(), 0x7E, p->a->bytes(), stream));
      FP8KIT_CUDA_CHECK(cudaMemsetAsync(p->as->get(), 0x7E, p->as->bytes(), stream));
      FP8KIT_CUDA_CHECK(cudaMemsetAsync(p->d->get(), kPoison, output_bytes(c), stream));
      write_late({p->a->get(), a_new.get(), a_new.bytes()}, {p->as->get(), as_new.get(), as_new.bytes()},
                 /*delay_us=*/20, stream);
      o.constant_b = true;
      fp8kit::gemm(p->args, o);
      FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
      EXPECT_EQ(count_differences_on_device(p->d->get(), p->d_first->get(), output_bytes(c)), 0)
          << who << ": constant_b changed the result";
      ++ran;
    }
  }
  FP8KIT_CUDA_CHECK(cudaStreamDestroy(stream));
  if (ran == 0) GTEST_SKIP() << "no GPU backend accepted the DeepSeek M = 64 cases";
}

/// Every pair of backends that accept a case agrees on all of D within the output's tolerance.
TEST(GemmCuda, BackendsAgree) {
  FP8KIT_SKIP_WITHOUT_GPU();
  std::vector<GemmCase> cases;
  for (const auto& group : {ragged_cases(), row_scaled_cases(), layout_cases()}) {
    for (const GemmCase& c : group) {
      if (c.m <= 128) cases.push_back(c);
    }
  }
  for (const GemmCase& c : deepseek_cases()) {
    if (c.m == 64) cases.push_back(c);
  }
  cudaStream_t stream = nullptr;
  FP8KIT_CUDA_CHECK(cudaStreamCreate(&stream));
  int compared = 0;
  for (const GemmCase& c : cases) {
    const auto p = prepared(c);
    std::vector<std::pair<Backend, std::unique_ptr<DeviceBuffer>>> outputs;  // D of each backend
    for (Backend b : kGpuBackends) {
      GemmOptions o;
      o.backend = b;
      if (!can_gemm(p->args, o).ok) continue;
      poison(*p);
      run(*p, b, stream);  // on a stream of its own: exercises the per-stream workspaces
      auto copy = std::make_unique<DeviceBuffer>(output_bytes(c));
      FP8KIT_CUDA_CHECK(cudaMemcpy(copy->get(), p->d->get(), output_bytes(c), cudaMemcpyDeviceToDevice));
      outputs.emplace_back(b, std::move(copy));
    }
    DeviceBuffer wide(static_cast<size_t>(c.m * c.n) * sizeof(double));
    for (size_t i = 0; i < outputs.size(); ++i) {
      widen_on_device(outputs[i].second->get(), c.out, c.n, c.m, c.n, static_cast<double*>(wide.get()));
      for (size_t j = i + 1; j < outputs.size(); ++j) {
        const RowSums s = compare_rows_on_device(outputs[j].second->get(), c.out, c.n, nullptr, c.m, c.n,
                                                 static_cast<const double*>(wide.get()));
        const ErrorReport r = report_from_rows(s);
        // Each is within its tolerance of the reference, so the two are within the sum of them.
        const double tol = tolerance(c.out, outputs[i].first) + tolerance(c.out, outputs[j].first);
        EXPECT_TRUE(r.pass_error() <= tol && r.nonfinite == 0 && r.lost_nan == 0)
            << backend_name(outputs[j].first) << " vs " << backend_name(outputs[i].first) << " " << c.name() << ": "
            << r.describe();
        ++compared;
      }
    }
  }
  FP8KIT_CUDA_CHECK(cudaStreamDestroy(stream));
  if (compared == 0) GTEST_SKIP() << "fewer than two GEMM backends run on this GPU";
}

}  // namespace
}  // namespace fp8kit::testing::gemm
