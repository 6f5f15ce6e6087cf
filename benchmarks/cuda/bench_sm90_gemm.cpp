// bench_sm90_gemm: the Hopper FP8 block-scaled GEMM (cuda_sm90) against cuBLASLt's block-scaled FP8 GEMM
// (VEC128_32F activations x BLK128x128_32F weights) on the 18 DeepSeek-V3 cases of issue #8, in one run on
// one card. Kernel time: launches queued behind a spin kernel (so the host's launch overhead never shows)
// run back to back, each between two CUDA events, cycling through enough copies of the operands (A, B,
// scales, D) that every launch reads its inputs from DRAM, not from the 50 MB L2 (a memset between launches
// would instead leave L2 full of dirty lines whose write-back the timed kernel pays for); the median is
// reported. Then the same launches chained: kChainLaunches back to back between one event pair, as a
// decode step runs them (our kernel overlaps its set-up with the previous kernel's tail there, by
// programmatic dependent launch), and for M <= 128 a linear layer's decode step chained the same way: the
// activations quantized by fp8kit::quantize (1x128 groups, M-major scales), then the GEMM. Also measures
// the card's device-to-device copy bandwidth (bytes read + written) and cuBLASLt's per-tensor FP8 rate at
// 8192^3, and with --sweep times every launch plan of our kernel (for the planner's cost model).
// --profile M N K "plan" runs one plan a few times, for Nsight Compute (PLAN "cublaslt": cuBLASLt's GEMM).
// --stages M N K PLAN times one plan at every pipeline depth from 2 to the most that fits (how much the
// loads' latency costs), with M-major A scales (loaded by TMA) and with row-major ones (cp.async copies).
// --trace M N K PLAN prints where one plan's launch spends its time (per-CTA timer stamps: start, the TMA
// thread's start and barrier set-up, set-up barrier, griddepcontrol.wait, the consumers' register increase,
// first load, first data, K loop, split-K reduction, epilogue, exit; and the SM clock over the K loops, which
// the tensor cores' activity lowers), beside the same kernel launched with no tiles (the fixed cost of a
// launch); with --bias, the problem has a bf16 bias (the epilogue's bias path); with --flush-read, each traced
// launch follows a kernel that reads 4x the L2 (as a DRAM-bound kernel ahead would leave L2: none of this
// kernel's code, operands or parameters in it; outside the event pair), and the trace adds how long after that
// kernel's last block our first CTA starts; --flush-read-l1: the same kernel with 16 KB of shared memory asking
// for the smallest carveout (whether a carveout change costs our launch: it did not, BENCHMARKS.md Hopper v13);
// --flush-read-code: the read, then a kernel running 128 KB of straight-line code on every SM (instruction
// caches holding another kernel's code, as in a model).
//
// --chain M N K times every plan of one case chained, with Overlap::setup and Overlap::weights.
// --m LIST (comma-separated) runs the six (N, K) pairs at those M values instead of 64, 128 and 4096 (a sweep
// of the decode-sized cases alone, or of the M values between them, where the planner has no fitted data).
//
//   fp8kit_bench_sm90_gemm [--sweep] [--m LIST] [--iters N] [--csv FILE] [--profile M N K PLAN]
//                          [--stages M N K PLAN] [--trace M N K PLAN [--bias] [--flush-read|--flush-read-l1|
//                          --flush-read-code]] [--chain M N K]
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/numerics.h"
#include "cuda/common/cuda_check.h"
#include "cuda/sm90/sm90_fp8_gemm.h"
#include "cuda/sm90/sm90_fp8_gemm_params.h"
#include "cuda/sm90/sm90_fp8_gemm_plan.h"
#include "cuda/support/gpu_timing.h"
#include "fp8kit/quantize.h"

namespace {

using namespace fp8kit;

#define BENCH_CUBLAS_CHECK(call)                                                              \
  do {                                                                                        \
    const cublasStatus_t s_ = (call);                                                         \
    FP8KIT_CHECK(s_ == CUBLAS_STATUS_SUCCESS, #call, " failed: cublasStatus_t ", static_cast<int>(s_)); \
  } while (0)

/// Launches per chain in Timer::chain_us.
constexpr int kChainLaunches = 24;
/// Our kernel is chained with each way of overlapping the previous kernel (cuda::sm90::Overlap).
/// Indexed by the enum's value (the tables print column i for Overlap(i)). Every chain's B is constant while
/// it runs, as a model's weights are, so `weights` (B loads before the previous kernel completes) is valid.
constexpr cuda::sm90::Overlap kOverlaps[] = {cuda::sm90::Overlap::none, cuda::sm90::Overlap::setup,
                                             cuda::sm90::Overlap::weights};
constexpr int kOverlapModes = static_cast<int>(std::size(kOverlaps));
const char* const kOverlapNames[kOverlapModes] = {"none", "setup", "weights"};
static_assert(kOverlaps[0] == cuda::sm90::Overlap::none && kOverlaps[1] == cuda::sm90::Overlap::setup &&
              kOverlaps[2] == cuda::sm90::Overlap::weights);
constexpr int kWeightsOverlap = static_cast<int>(cuda::sm90::Overlap::weights);

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

/// Device memory freed on destruction.
struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  explicit Buffer(size_t n) : bytes(n) { FP8KIT_CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(n, 16))); }
  ~Buffer() { cudaFree(ptr); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

/// Random e4m3 codes like quantized data (encode(normal * 16)), generated fast from a table.
std::vector<uint8_t> random_codes(size_t count, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> normal(0.0f, 16.0f);
  std::vector<uint8_t> table(4096);
  for (auto& c : table) c = numerics::encode_e4m3fn(normal(rng));
  std::vector<uint8_t> out(count);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull | 1;
  for (size_t i = 0; i < count; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = table[(x >> 20) & 4095];
  }
  return out;
}

std::vector<float> random_scales(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> e(-7.0f, -2.0f);
  std::vector<float> out(count);
  for (auto& v : out) v = std::exp2(e(rng));
  return out;
}

/// The median (the upper one of an even count) of `v`, or NaN for none.
double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Times launches (median, microseconds): `launch(i)` runs repetition i; the caller cycles its operand sets.
/// The timed launches are queued behind a spin kernel long enough for the host to queue all of them (50 us
/// each, generously), so each event pair brackets GPU work only (gpu_timing.h).
class Timer {
 public:
  explicit Timer(cudaStream_t stream) : stream_(stream) {}
  /// `before` (optional) runs before each launch's first event, outside the timed pair.
  double median_us(const std::function<void(int)>& launch, int iters, int warmup,
                   const std::function<void(int)>& before = {}) {
    for (int i = 0; i < warmup; ++i) {
      if (before) before(i);
      launch(i);
    }
    std::vector<cudaEvent_t> events(static_cast<size_t>(2 * iters));
    for (auto& e : events) FP8KIT_CUDA_CHECK(cudaEventCreate(&e));
    bench::hold_stream(stream_, 500 + 50 * static_cast<uint64_t>(iters));
    for (int i = 0; i < iters; ++i) {
      if (before) before(warmup + i);
      FP8KIT_CUDA_CHECK(cudaEventRecord(events[static_cast<size_t>(2 * i)], stream_));
      launch(warmup + i);
      FP8KIT_CUDA_CHECK(cudaEventRecord(events[static_cast<size_t>(2 * i + 1)], stream_));
    }
    FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::vector<double> times;
    for (int i = 0; i < iters; ++i) {
      float ms = 0.0f;
      FP8KIT_CUDA_CHECK(cudaEventElapsedTime(&ms, events[static_cast<size_t>(2 * i)], events[static_cast<size_t>(2 * i + 1)]));
      times.push_back(static_cast<double>(ms * 1e3f));
    }
    for (auto& e : events) cudaEventDestroy(e);
    return median(std::move(times));
  }

  /// Times chains (median over kChains, microseconds per launch): `launches` launches queued back to back
  /// between one event pair, as a decode step runs its kernels, so that what one launch's set-up and drain
  /// overlap (programmatic dependent launch) or cost between kernels shows, and the event pair's own cost
  /// (an empty kernel's 3.6-3.8 us in median_us) is shared by all of them.
  double chain_us(const std::function<void(int)>& launch, int launches, int warmup) {
    constexpr int kChains = 5;
    for (int i = 0; i < warmup; ++i) launch(i);
    cudaEvent_t start, stop;
    FP8KIT_CUDA_CHECK(cudaEventCreate(&start));
    FP8KIT_CUDA_CHECK(cudaEventCreate(&stop));
    std::vector<double> times;
    for (int c = 0; c < kChains; ++c) {
      bench::hold_stream(stream_, 500 + 50 * static_cast<uint64_t>(launches));
      FP8KIT_CUDA_CHECK(cudaEventRecord(start, stream_));
      for (int i = 0; i < launches; ++i) launch(warmup + c * launches + i);
      FP8KIT_CUDA_CHECK(cudaEventRecord(stop, stream_));
      FP8KIT_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0.0f;
      FP8KIT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      times.push_back(static_cast<double>(ms) * 1e3 / launches);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return median(std::move(times));
  }

 private:
  cudaStream_t stream_;
};

/// Times several launchers against each other: kRounds passes over all of them, alternating direction, each
/// timing every launcher briefly (`iters` launches each between its events, or with `chained` one
/// Timer::chain_us); a launcher's time is the median of its passes. (Timing each in one go made the later
/// ones run on a hotter, slower-clocked card: 5-15% above the same plan timed first.)
std::vector<double> interleaved_us(Timer& timer, const std::vector<std::function<void(int)>>& launches, int iters,
                                   int warmup, bool chained = false) {
  constexpr int kRounds = 3;
  std::vector<std::vector<double>> passes(launches.size());
  for (int round = 0; round < kRounds; ++round) {
    for (size_t visit = 0; visit < launches.size(); ++visit) {
      const size_t j = round % 2 == 0 ? visit : launches.size() - 1 - visit;
      passes[j].push_back(chained ? timer.chain_us(launches[j], kChainLaunches, warmup)
                                  : timer.median_us(launches[j], iters, warmup));
    }
  }
  std::vector<double> us;
  for (auto& p : passes) us.push_back(median(std::move(p)));
  return us;
}

/// cuBLASLt FP8 GEMM D[M,N] = A[M,K] B[N,K]^T in bf16: column-major D^T = B_w^T(op T) x A_act(op N).
class CublasLtGemm {
 public:
  CublasLtGemm(cublasLtHandle_t handle, int64_t m, int64_t n, int64_t k, const void* a, const void* b, void* d,
               const float* a_scales_vec128, const float* b_scales_blk128, void* workspace, size_t workspace_bytes)
      : handle_(handle), a_(a), b_(b), d_(d), workspace_(workspace), workspace_bytes_(workspace_bytes) {
    BENCH_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t t = CUBLAS_OP_T, nop = CUBLAS_OP_N;
    BENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof(t)));
    BENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &nop, sizeof(nop)));
    if (b_scales_blk128 != nullptr) {
      // cuBLAS A is the weight (BLK128x128), cuBLAS B the activation (VEC128).
      const cublasLtMatmulMatrixScale_t blk = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;
      const cublasLtMatmulMatrixScale_t vec = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
      BENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &blk, sizeof(blk)));
      BENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &vec, sizeof(vec)));
      BENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &b_scales_blk128,
                                                        sizeof(b_scales_blk128)));
      BENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scales_vec128,
                                                        sizeof(a_scales_vec128)));
    }
    BENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la_, CUDA_R_8F_E4M3, static_cast<uint64_t>(k), static_cast<uint64_t>(n), k));
    BENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb_, CUDA_R_8F_E4M3, static_cast<uint64_t>(k), static_cast<uint64_t>(m), k));
    BENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ld_, CUDA_R_16BF, static_cast<uint64_t>(n), static_cast<uint64_t>(m), n));
    cublasLtMatmulPreference_t pref;
    BENCH_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    BENCH_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                            &workspace_bytes_, sizeof(workspace_bytes_)));
    int found = 0;
    const cublasStatus_t s =
        cublasLtMatmulAlgoGetHeuristic(handle_, desc_, la_, lb_, ld_, ld_, pref, 1, &heuristic_, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    ok_ = s == CUBLAS_STATUS_SUCCESS && found > 0;
  }
  ~CublasLtGemm() {
    cublasLtMatrixLayoutDestroy(la_);
    cublasLtMatrixLayoutDestroy(lb_);
    cublasLtMatrixLayoutDestroy(ld_);
    cublasLtMatmulDescDestroy(desc_);
  }
  bool ok() const { return ok_; }
  void run(cudaStream_t stream) const {
    const float alpha = 1.0f, beta = 0.0f;
    BENCH_CUBLAS_CHECK(cublasLtMatmul(handle_, desc_, &alpha, b_, la_, a_, lb_, &beta, d_, ld_, d_, ld_,
                                      &heuristic_.algo, workspace_, workspace_bytes_, stream));
  }

 private:
  cublasLtHandle_t handle_;
  const void *a_, *b_;
  void* d_;
  void* workspace_;
  size_t workspace_bytes_;
  cublasLtMatmulDesc_t desc_{};
  cublasLtMatrixLayout_t la_{}, lb_{}, ld_{};
  cublasLtMatmulHeuristicResult_t heuristic_{};
  bool ok_ = false;
};

double rel_diff_bf16(const std::vector<uint16_t>& x, const std::vector<uint16_t>& y) {
  double e = 0.0, r = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = numerics::bf16_bits_to_float(x[i]), b = numerics::bf16_bits_to_float(y[i]);
    if (std::isnan(a) || std::isnan(b)) return NAN;
    e += (a - b) * (a - b);
    r += b * b;
  }
  return std::sqrt(e / std::max(r, 1e-300));
}

struct Row {
  int64_t m = 0, n = 0, k = 0;
  double cublas_us = NAN, ours_us = NAN, best_us = NAN, predicted_us = NAN, diff = NAN;
  double chosen_sweep_us = NAN;  // the planner's plan as timed in the sweep (same method as best_us)
  double cublas_chain_us = NAN;                  // per launch in a chain (Timer::chain_us)
  double ours_chain_us[kOverlapModes] = {NAN, NAN, NAN};  // ours, chained, by cuda::sm90::Overlap
  // Decode-sized M: a linear layer's step, activation quantization (bf16 -> e4m3 + 1x128 scales) then the
  // GEMM, chained: with cuBLASLt, and with ours by each overlap.
  double linear_cublas_us = NAN;
  double linear_ours_us[kOverlapModes] = {NAN, NAN, NAN};
  std::string plan, best_plan;

  double flop() const { return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k); }
};

/// Ratios to cuBLASLt over the cases that have one (a finite ratio): their geometric mean, and how many
/// are below 1.0x.
struct SpeedupSummary {
  double log_sum = 0.0;
  int count = 0, below = 0;

  /// Counts `speedup` when it is finite; says whether it did.
  bool add(double speedup) {
    if (!std::isfinite(speedup)) return false;
    log_sum += std::log(speedup);
    ++count;
    below += speedup < 1.0 ? 1 : 0;
    return true;
  }
  void print(const char* what) const {
    std::printf("%sgeomean x cuBLASLt over %d cases: %.3f; cases below 1.0x: %d\n", what, count,
                count > 0 ? std::exp(log_sum / count) : NAN, below);
  }
};

/// One copy of a case's operands on the device: A, B, As (M-major, ld = M rounded to 4), Bs (row-major) and
/// Bs in cuBLASLt's BLK128x128 layout (K blocks padded to 4), D for us and D for cuBLASLt.
struct OperandSet {
  Buffer a, b, as, bs, bs_cublas, d, d_cublas;
  core::GemmProblem problem;
  OperandSet(int64_t m, int64_t n, int64_t k)
      : a(static_cast<size_t>(m * k)), b(static_cast<size_t>(n * k)),
        as(static_cast<size_t>(ceil_div(k, 128) * round_up(m, 4) * 4)),
        bs(static_cast<size_t>(ceil_div(n, 128) * ceil_div(k, 128) * 4)),
        bs_cublas(static_cast<size_t>(ceil_div(n, 128) * round_up(ceil_div(k, 128), 4) * 4)),
        d(static_cast<size_t>(m * n * 2)), d_cublas(static_cast<size_t>(m * n * 2)) {
    const int64_t kb = ceil_div(k, 128), nb = ceil_div(n, 128);
    problem.a = {a.ptr, DType::e4m3fn, m, k, k};
    problem.b = {b.ptr, DType::e4m3fn, n, k, k};
    problem.d = {d.ptr, DType::bf16, m, n, n};
    problem.a_scales = {as.ptr, DType::f32, m, kb, 1, round_up(m, 4)};
    problem.b_scales = {bs.ptr, DType::f32, nb, kb, kb, 1};
    problem.device = Device::cuda(0);
  }
  /// Random contents (the first set), or a copy of `first`.
  void fill(uint64_t seed, const OperandSet* first) {
    if (first != nullptr) {
      for (auto [dst, src] : {std::pair{&a, &first->a}, {&b, &first->b}, {&as, &first->as}, {&bs, &first->bs},
                              {&bs_cublas, &first->bs_cublas}}) {
        FP8KIT_CUDA_CHECK(cudaMemcpy(dst->ptr, src->ptr, dst->bytes, cudaMemcpyDeviceToDevice));
      }
      return;
    }
    const int64_t m = problem.m(), n = problem.n(), k = problem.k();
    const int64_t kb = ceil_div(k, 128), nb = ceil_div(n, 128), kb4 = round_up(kb, 4);
    const auto ha = random_codes(static_cast<size_t>(m * k), seed);
    const auto hb = random_codes(static_cast<size_t>(n * k), seed + 1);
    const auto has = random_scales(as.bytes / 4, static_cast<uint32_t>(seed + 2));
    const auto hbs = random_scales(static_cast<size_t>(nb * kb), static_cast<uint32_t>(seed + 3));
    std::vector<float> hbs4(static_cast<size_t>(nb * kb4), 0.0f);
    for (int64_t i = 0; i < nb; ++i) std::copy_n(&hbs[static_cast<size_t>(i * kb)], kb, &hbs4[static_cast<size_t>(i * kb4)]);
    FP8KIT_CUDA_CHECK(cudaMemcpy(a.ptr, ha.data(), ha.size(), cudaMemcpyHostToDevice));
    FP8KIT_CUDA_CHECK(cudaMemcpy(b.ptr, hb.data(), hb.size(), cudaMemcpyHostToDevice));
    FP8KIT_CUDA_CHECK(cudaMemcpy(as.ptr, has.data(), has.size() * 4, cudaMemcpyHostToDevice));
    FP8KIT_CUDA_CHECK(cudaMemcpy(bs.ptr, hbs.data(), hbs.size() * 4, cudaMemcpyHostToDevice));
    FP8KIT_CUDA_CHECK(cudaMemcpy(bs_cublas.ptr, hbs4.data(), hbs4.size() * 4, cudaMemcpyHostToDevice));
  }
};

/// Operand sets for one case: enough copies that the bytes a launch touches leave L2 before they come round
/// again (at least 3 L2 sizes in all, at least 2 sets).
std::vector<std::unique_ptr<OperandSet>> make_sets(int64_t m, int64_t n, int64_t k, size_t l2_bytes, uint64_t seed) {
  const double set_bytes = static_cast<double>(m * k + n * k + m * n * 2);
  const int count = std::clamp(static_cast<int>(std::ceil(3.0 * static_cast<double>(l2_bytes) / set_bytes)), 2, 32);
  std::vector<std::unique_ptr<OperandSet>> sets;
  for (int i = 0; i < count; ++i) {
    sets.push_back(std::make_unique<OperandSet>(m, n, k));
    sets.back()->fill(seed, i == 0 ? nullptr : sets.front().get());
  }
  return sets;
}

/// Random bf16 activations [rows, cols] (normal(0, 1)) on the device, for the linear-layer chains.
std::unique_ptr<Buffer> random_activations(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> host(static_cast<size_t>(rows * cols));
  for (auto& v : host) v = numerics::float_to_bf16_bits(normal(rng));
  auto buffer = std::make_unique<Buffer>(host.size() * 2);
  FP8KIT_CUDA_CHECK(cudaMemcpy(buffer->ptr, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  return buffer;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

/// The first candidate plan for `p` whose description starts with `wanted`, or none (after saying so).
std::optional<cuda::sm90::LaunchPlan> plan_named(const core::GemmProblem& p, const std::string& wanted) {
  for (const auto& plan : cuda::sm90::candidate_plans(p)) {
    if (cuda::sm90::describe(plan).rfind(wanted, 0) == 0) return plan;
  }
  std::fprintf(stderr, "no plan '%s' for M=%lld N=%lld K=%lld\n", wanted.c_str(), static_cast<long long>(p.m()),
               static_cast<long long>(p.n()), static_cast<long long>(p.k()));
  return std::nullopt;
}

/// --profile: runs the first plan of one case whose description starts with `wanted` (or cuBLASLt's
/// block-scaled GEMM, for `wanted` = "cublaslt"), five times (for Nsight Compute's --launch-skip/--launch-count).
int profile(int64_t m, int64_t n, int64_t k, const std::string& wanted, cublasLtHandle_t lt, const Buffer& workspace,
            cudaStream_t stream) {
  OperandSet set(m, n, k);
  set.fill(7, nullptr);
  set.problem.stream = stream;
  if (wanted == "cublaslt") {
    const CublasLtGemm gemm(lt, m, n, k, set.a.ptr, set.b.ptr, set.d_cublas.ptr, static_cast<const float*>(set.as.ptr),
                            static_cast<const float*>(set.bs_cublas.ptr), workspace.ptr, workspace.bytes);
    FP8KIT_CHECK(gemm.ok(), "cuBLASLt has no block-scaled algorithm for M=", m, " N=", n, " K=", k);
    for (int i = 0; i < 5; ++i) gemm.run(stream);
    FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::printf("profiled cuBLASLt on M=%lld N=%lld K=%lld\n", static_cast<long long>(m), static_cast<long long>(n),
                static_cast<long long>(k));
    return 0;
  }
  const auto plan = plan_named(set.problem, wanted);
  if (!plan) return 1;
  for (int i = 0; i < 5; ++i) cuda::sm90::run_fp8_gemm(set.problem, *plan);
  FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::printf("profiled %s on M=%lld N=%lld K=%lld\n", cuda::sm90::describe(*plan).c_str(), static_cast<long long>(m),
              static_cast<long long>(n), static_cast<long long>(k));
  return 0;
}

/// --stages: times the first plan of one case whose description starts with `wanted` at every pipeline depth
/// from 2 to the planner's (the most that fits).
int stage_scan(int64_t m, int64_t n, int64_t k, const std::string& wanted, size_t l2, Timer& timer, int iters,
               cudaStream_t stream) {
  const auto sets = make_sets(m, n, k, l2, 11);
  const int count = static_cast<int>(sets.size());
  // The same problems with row-major A scales (their values do not matter for the time), which the kernel
  // copies with cp.async instead of loading them by TMA.
  std::vector<std::unique_ptr<Buffer>> row_major_scales;
  std::vector<core::GemmProblem> row_major(sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    sets[i]->problem.stream = stream;
    row_major_scales.push_back(std::make_unique<Buffer>(sets[i]->as.bytes));
    FP8KIT_CUDA_CHECK(cudaMemcpy(row_major_scales.back()->ptr, sets[i]->as.ptr, sets[i]->as.bytes, cudaMemcpyDeviceToDevice));
    row_major[i] = sets[i]->problem;
    const int64_t kb = ceil_div(k, 128);
    row_major[i].a_scales = {row_major_scales.back()->ptr, DType::f32, m, kb, kb, 1};
  }
  const double flop = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const auto plan = plan_named(sets.front()->problem, wanted);
  if (!plan) return 1;
  for (int stages = 2; stages <= plan->stages; ++stages) {
    cuda::sm90::LaunchPlan p = *plan;
    p.stages = stages;
    p.smem_bytes = cuda::sm90::smem_bytes_for(*p.tile, stages, p.tma_store, p.split_k);
    const double us = timer.median_us(
        [&](int i) { cuda::sm90::run_fp8_gemm(sets[static_cast<size_t>(i % count)]->problem, p); }, iters, count);
    const double us_row_major = timer.median_us(
        [&](int i) { cuda::sm90::run_fp8_gemm(row_major[static_cast<size_t>(i % count)], p); }, iters, count);
    std::printf("stages M=%lld N=%lld K=%lld %s: %.1f us, %.0f TFLOP/s (M-major As); %.1f us, %.0f TFLOP/s (row-major As)\n",
                static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k),
                cuda::sm90::describe(p).c_str(), us, flop / us / 1e6, us_row_major, flop / us_row_major / 1e6);
  }
  return 0;
}

/// --chain: every candidate plan of one case chained (Timer::chain_us), with Overlap::setup and with
/// Overlap::weights, interleaved: which plan a decode step whose weights load early should use (a plan whose
/// grid leaves SMs free lets the next launch start its loads before this one ends).
int chain_scan(int64_t m, int64_t n, int64_t k, size_t l2, Timer& timer, cudaStream_t stream) {
  const auto sets = make_sets(m, n, k, l2, 17);
  const int count = static_cast<int>(sets.size());
  for (auto& set : sets) set->problem.stream = stream;
  const cuda::sm90::LaunchPlan chosen = cuda::sm90::choose_plan(sets.front()->problem);
  std::vector<cuda::sm90::LaunchPlan> plans;
  std::vector<std::function<void(int)>> chains;
  for (const auto& candidate : cuda::sm90::candidate_plans(sets.front()->problem)) {
    for (const cuda::sm90::Overlap overlap : {cuda::sm90::Overlap::setup, cuda::sm90::Overlap::weights}) {
      cuda::sm90::LaunchPlan plan = candidate;
      plan.overlap = overlap;
      plans.push_back(plan);
      chains.push_back([&sets, count, plan](int i) {
        cuda::sm90::run_fp8_gemm(sets[static_cast<size_t>(i % count)]->problem, plan);
      });
    }
  }
  const std::vector<double> us = interleaved_us(timer, chains, 0, count, /*chained=*/true);
  for (size_t j = 0; j + 1 < plans.size(); j += 2) {
    const std::string name = cuda::sm90::describe(plans[j]);
    std::printf("chain M=%lld N=%lld K=%lld %s: setup %.1f us, weights %.1f us per launch%s\n",
                static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k), name.c_str(), us[j],
                us[j + 1], name == cuda::sm90::describe(chosen) ? "  (the planner's)" : "");
  }
  return 0;
}

/// What --trace runs before each traced launch, outside its events (see the options at the top).
enum class TraceFlush { none, read, read_prefer_l1, read_then_code };

/// --trace: runs the first plan of one case whose description starts with `wanted` recording per-CTA
/// %globaltimer stamps (KernelParams::trace), and prints where a launch's time goes: each stamp's median and
/// maximum over the CTAs, in microseconds after the first CTA started, the median over launches; beside it
/// the CUDA-event time of the same launches. Then the same for the same launch with no tiles: what a
/// launch of this kernel and grid costs before any work. `flush`: what runs before each launch (TraceFlush).
int trace(int64_t m, int64_t n, int64_t k, const std::string& wanted, bool bias, TraceFlush flush_kind, size_t l2,
          Timer& timer, cudaStream_t stream) {
  const bool flush_read = flush_kind != TraceFlush::none;
  Buffer flush(flush_read ? 4 * l2 : 0);
  if (flush_read) FP8KIT_CUDA_CHECK(cudaMemset(flush.ptr, 0, flush.bytes));
  const auto sets = make_sets(m, n, k, l2, 13);
  const int count = static_cast<int>(sets.size());
  Buffer bias_values(static_cast<size_t>(n * 2));  // bf16 zeros: the epilogue's bias path, not its values
  FP8KIT_CUDA_CHECK(cudaMemset(bias_values.ptr, 0, bias_values.bytes));
  for (auto& set : sets) {
    set->problem.stream = stream;
    if (bias) {
      set->problem.bias = bias_values.ptr;
      set->problem.bias_dtype = DType::bf16;
    }
  }
  const auto found = plan_named(sets.front()->problem, wanted);
  if (!found) return 1;
  constexpr int kLaunches = 15;
  const size_t slots = static_cast<size_t>(found->grid) * cuda::sm90::kTraceSlots;
  Buffer stamps(slots * 8 * kLaunches), flush_exits(8 * kLaunches);
  for (const int tiles : {found->num_tiles, 0}) {
    cuda::sm90::LaunchPlan plan = *found;
    plan.num_tiles = tiles;
    FP8KIT_CUDA_CHECK(cudaMemset(stamps.ptr, 0, stamps.bytes));
    FP8KIT_CUDA_CHECK(cudaMemset(flush_exits.ptr, 0, flush_exits.bytes));
    auto* exits = static_cast<unsigned long long*>(flush_exits.ptr);
    const double event_us = timer.median_us(
        [&](int i) {
          plan.trace = i >= count ? static_cast<uint64_t*>(stamps.ptr) + (i - count) % kLaunches * slots : nullptr;
          cuda::sm90::run_fp8_gemm(sets[static_cast<size_t>(i % count)]->problem, plan);
        },
        kLaunches, count,
        [&](int i) {
          if (flush_read) {
            unsigned long long* exit_slot = i >= count ? exits + (i - count) % kLaunches : nullptr;
            bench::read_through_l2(stream, flush.ptr, flush.bytes, exit_slot, flush_kind == TraceFlush::read_prefer_l1);
            if (flush_kind == TraceFlush::read_then_code) bench::sweep_instruction_caches(stream);
          }
        });
    std::vector<uint64_t> host(slots * kLaunches), flush_exit(kLaunches);
    FP8KIT_CUDA_CHECK(cudaMemcpy(host.data(), stamps.ptr, host.size() * 8, cudaMemcpyDeviceToHost));
    FP8KIT_CUDA_CHECK(cudaMemcpy(flush_exit.data(), exits, kLaunches * 8, cudaMemcpyDeviceToHost));
    std::vector<double> after_flush;  // us from the flush kernel's last exit to our first CTA's entry
    // Per launch: each time slot's median and maximum over the CTAs, relative to the earliest entry.
    constexpr int kTimes = cuda::sm90::kTraceExit + 1;
    std::vector<double> med[kTimes], max[kTimes], span;
    std::vector<double> loop_mhz;  // per launch: the median over CTAs of the SM clock from first data to K loop done
    uint64_t step = UINT64_MAX;  // the timer's smallest nonzero difference seen (its resolution, roughly)
    for (int l = 0; l < kLaunches; ++l) {
      const uint64_t* t = host.data() + static_cast<size_t>(l) * slots;
      uint64_t t0 = UINT64_MAX, t_end = 0;
      for (int c = 0; c < plan.grid; ++c) {
        // The first entry: thread 0's or, where it started first, the TMA thread's (0: a CTA without tiles).
        t0 = std::min(t0, t[c * cuda::sm90::kTraceSlots + cuda::sm90::kTraceEntry]);
        const uint64_t tma_entry = t[c * cuda::sm90::kTraceSlots + cuda::sm90::kTraceTmaEntry];
        if (tma_entry != 0) t0 = std::min(t0, tma_entry);
        t_end = std::max(t_end, t[c * cuda::sm90::kTraceSlots + cuda::sm90::kTraceExit]);
      }
      span.push_back(static_cast<double>(t_end - t0) * 1e-3);
      std::vector<double> mhz;
      for (int c = 0; c < plan.grid; ++c) {
        const uint64_t* slot = t + c * cuda::sm90::kTraceSlots;
        const uint64_t ns0 = slot[cuda::sm90::kTraceFirstData], ns1 = slot[cuda::sm90::kTraceMainLoopDone];
        const uint64_t clk0 = slot[cuda::sm90::kTraceClockFirstData], clk1 = slot[cuda::sm90::kTraceClockLoopDone];
        if (ns0 != 0 && ns1 > ns0 && clk1 > clk0) {
          mhz.push_back(static_cast<double>(clk1 - clk0) / static_cast<double>(ns1 - ns0) * 1e3);
        }
      }
      if (!mhz.empty()) loop_mhz.push_back(median(std::move(mhz)));
      if (flush_read) after_flush.push_back((static_cast<double>(t0) - static_cast<double>(flush_exit[l])) * 1e-3);
      for (int s = 0; s < kTimes; ++s) {
        std::vector<double> v;
        for (int c = 0; c < plan.grid; ++c) {
          const uint64_t x = t[c * cuda::sm90::kTraceSlots + s];
          if (x == 0) continue;  // not written: a CTA without tiles, or a slot only thread 0 of some CTAs sets
          v.push_back(static_cast<double>(x - t0) * 1e-3);
          if (x > t0) step = std::min(step, x - t0);
        }
        if (v.empty()) continue;
        max[s].push_back(*std::max_element(v.begin(), v.end()));
        med[s].push_back(median(std::move(v)));
      }
    }
    static const char* const kNames[kTimes] = {"entry",         "TMA thread entry", "barriers ready", "set up",
                                                "dependency met", "registers ready", "first load",
                                                "first data",  "K loop done", "received",   "reduced",
                                                "epilogue done", "exit"};
    std::printf("trace M=%lld N=%lld K=%lld %s%s%s%s: event %.1f us, span (first entry to last exit) %.1f us; median / "
                "max over CTAs, us after the first entry:",
                static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k),
                cuda::sm90::describe(plan).c_str(), bias ? " bias=bf16" : "", tiles == 0 ? " with no tiles" : "",
                flush_kind == TraceFlush::read             ? " after a 4x-L2 read"
                : flush_kind == TraceFlush::read_prefer_l1 ? " after a 4x-L2 read preferring L1"
                : flush_kind == TraceFlush::read_then_code ? " after a 4x-L2 read and 128 KB of code on every SM"
                                                           : "",
                event_us, median(span));
    for (int s = 0; s < kTimes; ++s) {
      if (!med[s].empty()) std::printf(" %s %.2f / %.2f;", kNames[s], median(med[s]), median(max[s]));
    }
    if (!loop_mhz.empty()) std::printf(" SM clock over the K loops %.0f MHz;", median(loop_mhz));
    if (!after_flush.empty()) {
      std::printf(" first entry %.2f us after the read's last block%s", median(after_flush),
                  flush_kind == TraceFlush::read_then_code ? " (the code kernel between)" : "");
    }
    std::printf(" timer step >= %llu ns\n", static_cast<unsigned long long>(step));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool sweep = false, bias = false;
  TraceFlush flush_kind = TraceFlush::none;
  int iters = 30;
  std::string csv_path, profile_plan, stages_plan, trace_plan;
  std::vector<int64_t> ms = {64, 128, 4096};
  int64_t profile_shape[3] = {0, 0, 0};
  bool chain_case = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--sweep") {
      sweep = true;
    } else if (arg == "--bias") {
      bias = true;
    } else if (arg == "--flush-read" || arg == "--flush-read-l1" || arg == "--flush-read-code") {
      flush_kind = arg == "--flush-read"      ? TraceFlush::read
                   : arg == "--flush-read-l1" ? TraceFlush::read_prefer_l1
                                              : TraceFlush::read_then_code;
    } else if (arg == "--m" && i + 1 < argc) {
      ms.clear();
      std::string list = argv[++i];
      for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        const int64_t m = std::atoll(list.substr(at, comma - at).c_str());
        if (m <= 0) {
          std::fprintf(stderr, "--m: a positive M expected, got '%s'\n", list.substr(at, comma - at).c_str());
          return 2;
        }
        ms.push_back(m);
        at = comma + 1;
      }
    } else if (arg == "--iters" && i + 1 < argc) {
      iters = std::atoi(argv[++i]);
    } else if (arg == "--csv" && i + 1 < argc) {
      csv_path = argv[++i];
    } else if ((arg == "--profile" || arg == "--stages" || arg == "--trace") && i + 4 < argc) {
      for (auto& v : profile_shape) v = std::atoll(argv[++i]);
      (arg == "--profile" ? profile_plan : arg == "--stages" ? stages_plan : trace_plan) = argv[++i];
    } else if (arg == "--chain" && i + 3 < argc) {
      for (auto& v : profile_shape) v = std::atoll(argv[++i]);
      chain_case = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--sweep] [--m LIST] [--iters N] [--csv FILE] [--profile M N K PLAN] [--stages M N K PLAN] "
                   "[--trace M N K PLAN [--bias] [--flush-read|--flush-read-l1|--flush-read-code]] [--chain M N K]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    cudaDeviceProp prop{};
    FP8KIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    if (prop.major != 9 || prop.minor != 0) {
      std::printf("%s is not an sm_90 GPU: nothing to measure\n", prop.name);
      return 0;
    }
    cudaStream_t stream;
    FP8KIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    const std::time_t now = std::time(nullptr);
    char date[32];
    std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
    // The clocks and bus width are the facts the planner's cost model uses (scripts/fit_sm90_cost_model.py).
    int clock_khz = 0, mem_khz = 0, bus_bits = 0;
    FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
    FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0));
    FP8KIT_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0));
    std::printf("card: %s, %d SMs, L2 %d MB, cc %d.%d, SM clock %d MHz, memory clock %d MHz, bus %d bits, CUDA runtime "
                "%d, driver %d, cuBLASLt %zu, %s\n",
                prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20, prop.major, prop.minor, clock_khz / 1000,
                mem_khz / 1000, bus_bits, runtime, driver, cublasLtGetVersion(), date);
    Timer timer(stream);
    cublasLtHandle_t lt;
    BENCH_CUBLAS_CHECK(cublasLtCreate(&lt));
    const size_t workspace_bytes = size_t{64} << 20;
    Buffer workspace(workspace_bytes);
    const size_t l2 = static_cast<size_t>(prop.l2CacheSize);
    if (!profile_plan.empty()) {
      return profile(profile_shape[0], profile_shape[1], profile_shape[2], profile_plan, lt, workspace, stream);
    }
    if (!trace_plan.empty()) {
      return trace(profile_shape[0], profile_shape[1], profile_shape[2], trace_plan, bias, flush_kind, l2, timer,
                   stream);
    }
    if (chain_case) return chain_scan(profile_shape[0], profile_shape[1], profile_shape[2], l2, timer, stream);
    if (!stages_plan.empty()) {
      return stage_scan(profile_shape[0], profile_shape[1], profile_shape[2], stages_plan, l2, timer, iters, stream);
    }

    // Ceilings: copy bandwidth and cuBLASLt per-tensor FP8 at 8192^3.
    double copy_bytes_per_s = 0.0, fp8_dense_tflops = 0.0;
    {
      const size_t bytes = size_t{1} << 30;
      Buffer src(bytes), dst(bytes);
      FP8KIT_CUDA_CHECK(cudaMemset(src.ptr, 1, bytes));
      const double us = timer.median_us(
          [&](int) { FP8KIT_CUDA_CHECK(cudaMemcpyAsync(dst.ptr, src.ptr, bytes, cudaMemcpyDeviceToDevice, stream)); },
          10, 2);
      copy_bytes_per_s = 2.0 * static_cast<double>(bytes) / (us * 1e-6);
      const int64_t s = 8192;
      Buffer a(static_cast<size_t>(s * s)), b(static_cast<size_t>(s * s)), d(static_cast<size_t>(s * s * 2));
      const auto codes = random_codes(static_cast<size_t>(s * s), 1);
      FP8KIT_CUDA_CHECK(cudaMemcpy(a.ptr, codes.data(), codes.size(), cudaMemcpyHostToDevice));
      FP8KIT_CUDA_CHECK(cudaMemcpy(b.ptr, codes.data(), codes.size(), cudaMemcpyHostToDevice));
      CublasLtGemm dense(lt, s, s, s, a.ptr, b.ptr, d.ptr, nullptr, nullptr, workspace.ptr, workspace_bytes);
      if (dense.ok()) {
        const double dense_us = timer.median_us([&](int) { dense.run(stream); }, 10, 2);
        fp8_dense_tflops = 2.0 * s * s * s / (dense_us * 1e-6) / 1e12;
      }
      const double empty_us = timer.median_us([&](int) { bench::launch_empty_kernel(stream); }, 30, 2);
      const double empty_chain_us = timer.chain_us([&](int) { bench::launch_empty_kernel(stream); }, kChainLaunches, 2);
      std::printf("copy bandwidth %.0f GB/s (read + write); cuBLASLt per-tensor FP8 8192^3: %.0f TFLOP/s; an empty "
                  "kernel: %.1f us between its events (the timing method's floor), %.1f us per launch in a chain\n",
                  copy_bytes_per_s / 1e9, fp8_dense_tflops, empty_us, empty_chain_us);
    }

    std::ofstream csv;
    if (!csv_path.empty()) {
      csv.open(csv_path);
      // The plan's features after its description: what scripts/fit_sm90_cost_model.py needs.
      csv << "m,n,k,backend,plan,us,tflops,predicted_us,block_m,block_n,math_warpgroups,multicast,"
             "split_k,tma_store,grid,num_tiles,store_chunk_cols\n";
    }
    const std::pair<int64_t, int64_t> nk[] = {{2112, 7168}, {24576, 1536}, {32768, 512},
                                              {7168, 16384}, {4096, 7168}, {7168, 2048}};
    std::vector<Row> rows;
    uint64_t seed = 42;
    for (const int64_t m : ms) {
      for (const auto& [n, k] : nk) {
        Row row;
        row.m = m;
        row.n = n;
        row.k = k;
        const auto sets = make_sets(m, n, k, l2, seed += 8);
        const int count = static_cast<int>(sets.size());
        for (auto& set : sets) set->problem.stream = stream;
        auto tflops = [&row](double us) { return row.flop() / (us * 1e-6) / 1e12; };

        std::vector<std::unique_ptr<CublasLtGemm>> refs;
        for (auto& set : sets) {
          refs.push_back(std::make_unique<CublasLtGemm>(lt, m, n, k, set->a.ptr, set->b.ptr, set->d_cublas.ptr,
                                                        static_cast<const float*>(set->as.ptr),
                                                        static_cast<const float*>(set->bs_cublas.ptr), workspace.ptr,
                                                        workspace_bytes));
        }
        if (refs.front()->ok()) {
          row.cublas_us = timer.median_us([&](int i) { refs[static_cast<size_t>(i % count)]->run(stream); }, iters, count);
          if (csv.is_open()) {
            csv << m << ',' << n << ',' << k << ",cublaslt,," << row.cublas_us << ',' << tflops(row.cublas_us)
                << ",,,,,,,,,,\n";
          }
        }
        const core::GemmProblem& p0 = sets.front()->problem;
        const Verdict v = cuda::sm90::supports_fp8_gemm(p0);
        FP8KIT_CHECK(v.ok, v.reason);
        const cuda::sm90::LaunchPlan chosen = cuda::sm90::choose_plan(p0);
        auto chosen_with = [&chosen](cuda::sm90::Overlap overlap) {
          cuda::sm90::LaunchPlan plan = chosen;
          plan.overlap = overlap;
          return plan;
        };
        row.plan = cuda::sm90::describe(chosen);
        row.predicted_us = chosen.predicted_us;
        row.ours_us = timer.median_us(
            [&](int i) { cuda::sm90::run_fp8_gemm(sets[static_cast<size_t>(i % count)]->problem, chosen); }, iters, count);
        // Our result against cuBLASLt's on the random operands just timed (the linear-layer chains below
        // overwrite A and As with quantized activations).
        if (refs.front()->ok()) {
          std::vector<uint16_t> ours(static_cast<size_t>(m * n)), theirs(static_cast<size_t>(m * n));
          FP8KIT_CUDA_CHECK(cudaMemcpy(ours.data(), p0.d.data, ours.size() * 2, cudaMemcpyDeviceToHost));
          FP8KIT_CUDA_CHECK(cudaMemcpy(theirs.data(), sets.front()->d_cublas.ptr, theirs.size() * 2, cudaMemcpyDeviceToHost));
          row.diff = rel_diff_bf16(ours, theirs);
        }
        // Chained: cuBLASLt and ours with each overlap, interleaved (the chains of large M heat the card).
        {
          std::vector<std::function<void(int)>> chains;
          if (refs.front()->ok()) chains.push_back([&](int i) { refs[static_cast<size_t>(i % count)]->run(stream); });
          for (const cuda::sm90::Overlap overlap : kOverlaps) {
            chains.push_back([&sets, count, overlapped = chosen_with(overlap)](int i) {
              cuda::sm90::run_fp8_gemm(sets[static_cast<size_t>(i % count)]->problem, overlapped);
            });
          }
          const std::vector<double> us = interleaved_us(timer, chains, 0, count, /*chained=*/true);
          const size_t first = refs.front()->ok() ? 1 : 0;
          if (first == 1) row.cublas_chain_us = us[0];
          for (int o = 0; o < kOverlapModes; ++o) row.ours_chain_us[o] = us[first + static_cast<size_t>(o)];
        }
        // A linear layer's decode step: the activations quantized into the set's A and As (M-major, the
        // layout both GEMMs read), then the GEMM; chained and interleaved like the GEMMs alone.
        if (m <= 128 && refs.front()->ok()) {
          std::vector<std::unique_ptr<Buffer>> xs;
          for (int i = 0; i < count; ++i) xs.push_back(random_activations(m, k, static_cast<uint32_t>(seed + i)));
          const Device dev = Device::cuda(0);
          QuantizeOptions qopt;
          qopt.stream = stream;
          qopt.pointers_known = true;
          auto quantize_activations = [&, dev, qopt](size_t i) {
            const OperandSet& set = *sets[i];
            quantize(TensorView::matrix(xs[i]->ptr, DType::bf16, m, k, k, dev),
                     TensorView::matrix(set.a.ptr, DType::e4m3fn, m, k, k, dev),
                     TensorView::column_major(set.as.ptr, DType::f32, m, ceil_div(k, 128), round_up(m, 4), dev),
                     ScaleSpec::group(128), qopt);
          };
          std::vector<std::function<void(int)>> steps;
          steps.push_back([&, quantize_activations](int i) {
            quantize_activations(static_cast<size_t>(i % count));
            refs[static_cast<size_t>(i % count)]->run(stream);
          });
          for (const cuda::sm90::Overlap overlap : kOverlaps) {
            steps.push_back([&sets, count, overlapped = chosen_with(overlap), quantize_activations](int i) {
              quantize_activations(static_cast<size_t>(i % count));
              cuda::sm90::run_fp8_gemm(sets[static_cast<size_t>(i % count)]->problem, overlapped);
            });
          }
          const std::vector<double> us = interleaved_us(timer, steps, 0, count, /*chained=*/true);
          row.linear_cublas_us = us[0];
          for (int o = 0; o < kOverlapModes; ++o) row.linear_ours_us[o] = us[1 + static_cast<size_t>(o)];
        }
        if (sweep) {
          const auto plans = cuda::sm90::candidate_plans(p0);
          std::vector<std::function<void(int)>> launches;
          for (const auto& q : plans) {
            launches.push_back(
                [&sets, count, q](int i) { cuda::sm90::run_fp8_gemm(sets[static_cast<size_t>(i % count)]->problem, q); });
          }
          const std::vector<double> times = interleaved_us(timer, launches, std::max(3, iters / 10), count);
          for (size_t j = 0; j < plans.size(); ++j) {
            const double us = times[j];
            const std::string name = cuda::sm90::describe(plans[j]);
            if (csv.is_open()) {
              const cuda::sm90::LaunchPlan& q = plans[j];
              csv << m << ',' << n << ',' << k << ",sm90," << name << ',' << us << ',' << tflops(us) << ','
                  << q.predicted_us << ',' << q.tile->block_m << ',' << q.tile->block_n << ','
                  << q.tile->math_warpgroups << ',' << (q.multicast ? 1 : 0) << ','
                  << q.split_k << ',' << (q.tma_store ? 1 : 0) << ',' << q.grid << ',' << q.num_tiles << ','
                  << q.tile->store_chunk_cols << '\n';
            }
            if (name == row.plan) row.chosen_sweep_us = us;
            if (!(us >= row.best_us)) {
              row.best_us = us;
              row.best_plan = name;
            }
          }
        }
        std::printf("M=%-5lld N=%-6lld K=%-6lld sets %2d cuBLASLt %8.1f us  sm90 %8.1f us (%s, predicted %.1f)  x%.2f  "
                    "chained %.1f / %.1f us  diff %.1e%s\n",
                    static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k), count,
                    row.cublas_us, row.ours_us, row.plan.c_str(), row.predicted_us, row.cublas_us / row.ours_us,
                    row.cublas_chain_us, row.ours_chain_us[static_cast<int>(chosen.overlap)], row.diff,
                    sweep ? (" sweep: chosen" + fmt(" %.1f", row.chosen_sweep_us) + ", best " + row.best_plan +
                             fmt(" %.1f", row.best_us))
                                .c_str()
                          : "");
        std::fflush(stdout);
        rows.push_back(row);
      }
    }

    // Summary tables (the last lines of the output): each launch between its own events, then chained.
    std::printf("\n| M | N | K | cuBLASLt us | sm90 us | sm90 TFLOP/s | x cuBLASLt | plan | best plan (sweep) | x floor |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    SpeedupSummary per_launch, chained;
    double log_planner = 0.0;
    auto floor_cell = [&](const Row& r, double us) {
      const double f = static_cast<double>(r.n) * static_cast<double>(r.k) / copy_bytes_per_s * 1e6;
      return fmt("%.2f", us / f) + fmt(" (floor %.1f us)", f) + (us <= std::max(1.3 * f, f + 5.0) ? "" : " over bar");
    };
    for (const Row& r : rows) {
      const double speedup = r.cublas_us / r.ours_us;
      if (per_launch.add(speedup) && sweep) log_planner += std::log(r.best_us / r.chosen_sweep_us);
      const std::string best = sweep ? r.best_plan + fmt(" %.1f", r.best_us) : "(no sweep)";
      std::printf("| %lld | %lld | %lld | %.1f | %.1f | %.0f | %.2f | %s | %s | %s |\n", static_cast<long long>(r.m),
                  static_cast<long long>(r.n), static_cast<long long>(r.k), r.cublas_us, r.ours_us,
                  r.flop() / r.ours_us / 1e6, speedup, r.plan.c_str(), best.c_str(),
                  r.m == 64 ? floor_cell(r, r.ours_us).c_str() : "");
    }
    per_launch.print("");
    if (sweep && per_launch.count > 0) {
      std::printf("sweep: the planner's plans run at %.3f of the best plans' speed (geomean, both timed in the sweep)\n",
                  std::exp(log_planner / per_launch.count));
    }
    const int chosen_overlap = static_cast<int>(cuda::sm90::LaunchPlan{}.overlap);
    std::printf("\nchained: microseconds per launch in a stream of %d back-to-back launches; ours overlapping the "
                "previous launch by each cuda::sm90::Overlap (%s: the default, in the first ratios; %s: B loaded "
                "early, the caller's promise that it is constant, in the last two)\n\n"
                "| M | N | K | cuBLASLt us | sm90 us: %s / %s / %s | sm90 TFLOP/s | x cuBLASLt | x floor | "
                "%s: x cuBLASLt | x floor |\n|---|---|---|---|---|---|---|---|---|---|\n",
                kChainLaunches, kOverlapNames[chosen_overlap], kOverlapNames[kWeightsOverlap], kOverlapNames[0],
                kOverlapNames[1], kOverlapNames[2], kOverlapNames[kWeightsOverlap]);
    SpeedupSummary chained_weights;
    for (const Row& r : rows) {
      const double ours = r.ours_chain_us[chosen_overlap], weights = r.ours_chain_us[kWeightsOverlap];
      const double speedup = r.cublas_chain_us / ours;
      chained.add(speedup);
      chained_weights.add(r.cublas_chain_us / weights);
      std::printf("| %lld | %lld | %lld | %.1f | %.1f / %.1f / %.1f | %.0f | %.2f | %s | %.2f | %s |\n",
                  static_cast<long long>(r.m), static_cast<long long>(r.n), static_cast<long long>(r.k),
                  r.cublas_chain_us, r.ours_chain_us[0], r.ours_chain_us[1], r.ours_chain_us[2],
                  r.flop() / ours / 1e6, speedup, r.m == 64 ? floor_cell(r, ours).c_str() : "",
                  r.cublas_chain_us / weights, r.m == 64 ? floor_cell(r, weights).c_str() : "");
    }
    chained.print("chained ");
    chained_weights.print((std::string("chained, ") + kOverlapNames[kWeightsOverlap] + ": ").c_str());
    std::printf("\nlinear layer, decode: activation quantization (bf16 -> e4m3, 1x128 scales) + GEMM, microseconds "
                "per step in a chain of %d\n\n| M | N | K | quantize + cuBLASLt | quantize + sm90: %s / %s / %s | x "
                "(%s) | x (%s) |\n|---|---|---|---|---|---|---|\n",
                kChainLaunches, kOverlapNames[0], kOverlapNames[1], kOverlapNames[2], kOverlapNames[chosen_overlap],
                kOverlapNames[kWeightsOverlap]);
    for (const Row& r : rows) {
      if (!std::isfinite(r.linear_cublas_us)) continue;
      std::printf("| %lld | %lld | %lld | %.1f | %.1f / %.1f / %.1f | %.2f | %.2f |\n", static_cast<long long>(r.m),
                  static_cast<long long>(r.n), static_cast<long long>(r.k), r.linear_cublas_us, r.linear_ours_us[0],
                  r.linear_ours_us[1], r.linear_ours_us[2], r.linear_cublas_us / r.linear_ours_us[chosen_overlap],
                  r.linear_cublas_us / r.linear_ours_us[kWeightsOverlap]);
    }
    cublasLtDestroy(lt);
    FP8KIT_CUDA_CHECK(cudaStreamDestroy(stream));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sm90_gemm: %s\n", e.what());
    return 1;
  }
  return 0;
}
