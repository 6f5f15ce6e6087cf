// test_reliability_cuda.cpp: bad inputs, exhausted device memory and concurrency on the GPU (issue 7).
//
//   CudaBadInputs     host (pageable and pinned) and null pointers given to every GEMM backend are
//                     refused by name before any launch; zero-size tensors on every op match the CPU.
//   CudaOutOfMemory   with the device memory taken, the allocations inside the library (a new
//                     stream's GEMM workspace, cuBLASLt's workspace, split-K partial sums, the
//                     per-tensor amax word) fail with fp8kit::Error naming the size, the CUDA error
//                     state is clean afterwards, and once memory is back the same calls succeed with
//                     the same bits as before.
//   CudaConcurrency   many host threads on several streams (some shared) running quantize,
//                     dequantize, the fused SiLU quantize and GEMMs on every backend at once give the
//                     bits of a serial run (the cuBLASLt handle, algorithm cache, per-stream
//                     workspaces and device-fact caches are shared).
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "cuda/common/cuda_check.h"
#include "gemm_harness.h"
#include "test_support.h"

namespace fp8kit::testing {
namespace {

using gemm::GemmCase;
using gemm::HostOperands;

const Backend kGemmBackends[] = {Backend::cublaslt, Backend::cuda_fp8_mma, Backend::cuda_bf16_mma, Backend::cuda_sm90};

GemmCase small_case(int64_t m, int64_t n, int64_t k, uint32_t seed, GemmScaling scaling = GemmScaling::block) {
  GemmCase c;
  c.m = m;
  c.n = n;
  c.k = k;
  c.seed = seed;
  c.scaling = scaling;
  c.bias = true;
  c.bias_dtype = DType::bf16;
  return c;
}

/// A GEMM's operands on the device (or, per operand, in host memory for the refusal tests).
struct DeviceGemm {
  HostOperands host;
  std::unique_ptr<DeviceBuffer> a, b, as, bs, bias, d;
  GemmArgs args;

  explicit DeviceGemm(const GemmCase& c) : host(gemm::make_operands(c)) {
    a = std::make_unique<DeviceBuffer>(host.a);
    b = std::make_unique<DeviceBuffer>(host.b);
    as = std::make_unique<DeviceBuffer>(host.as);
    bs = std::make_unique<DeviceBuffer>(host.bs);
    if (!host.bias.empty()) bias = std::make_unique<DeviceBuffer>(host.bias);
    d = std::make_unique<DeviceBuffer>(static_cast<size_t>(std::max<int64_t>(1, c.m * c.n * dtype_size(c.out))));
    args = gemm::make_args(host, {a->get(), b->get(), as->get(), bs->get(), bias ? bias->get() : nullptr, d->get()},
                           Device::cuda(0));
  }
  /// D bytes of a run on `backend` (into `out`, a buffer of D's size, when given: concurrent runs of
  /// one problem on several backends each write their own).
  std::vector<uint8_t> run(Backend backend, cudaStream_t stream = nullptr, DeviceBuffer* out = nullptr) {
    DeviceBuffer& target = out != nullptr ? *out : *d;
    GemmArgs into = args;
    into.d.data = target.get();
    FP8KIT_CUDA_CHECK(cudaMemsetAsync(target.get(), 0xFF, target.bytes(), stream));
    GemmOptions o;
    o.backend = backend;
    o.stream = stream;
    fp8kit::gemm(into, o);
    FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
    return target.read<uint8_t>();
  }
};

bool accepts(const GemmArgs& args, Backend b) {
  GemmOptions o;
  o.backend = b;
  return can_gemm(args, o).ok;
}

// ---- bad inputs -------------------------------------------------------------------------------

TEST(CudaBadInputs, HostPointersAreRefusedByEveryGemmBackend) {
  FP8KIT_SKIP_WITHOUT_GPU();
  DeviceGemm g(small_case(64, 256, 512, 11));
  std::vector<uint8_t> pageable(1 << 20);
  void* pinned = nullptr;
  FP8KIT_CUDA_CHECK(cudaMallocHost(&pinned, 1 << 20));
  int refused = 0;
  for (void* host : {static_cast<void*>(pageable.data()), pinned}) {
    const std::string kind = host == pinned ? "pinned host memory" : "host memory";
    for (const char* name : {"A", "B", "As", "Bs", "bias", "D"}) {
      GemmArgs args = g.args;
      TensorView& v = std::string(name) == "A"    ? args.a
                      : std::string(name) == "B"  ? args.b
                      : std::string(name) == "As" ? args.a_scales
                      : std::string(name) == "Bs" ? args.b_scales
                      : std::string(name) == "D"  ? args.d
                                                  : args.bias;
      v.data = host;
      for (const Backend b : kGemmBackends) {
        GemmOptions o;
        o.backend = b;
        const Verdict verdict = can_gemm(args, o);
        ASSERT_FALSE(verdict.ok) << backend_name(b) << " accepted " << name << " in " << kind;
        // A backend that cannot run this GPU at all says so first; every other names the operand.
        if (verdict.reason.find("compute capability") != std::string::npos) continue;
        EXPECT_NE(verdict.reason.find(std::string(name) + " ("), std::string::npos) << verdict.reason;
        EXPECT_NE(verdict.reason.find(kind), std::string::npos) << verdict.reason;
        ++refused;
      }
      EXPECT_THROW(fp8kit::gemm(args), Error) << name << " in " << kind;
    }
  }
  GemmArgs null_a = g.args;
  null_a.a.data = nullptr;
  EXPECT_THROW(fp8kit::gemm(null_a), Error);
  FP8KIT_CUDA_CHECK(cudaFreeHost(pinned));
  cuda::synchronize(0);  // nothing was launched: the context is healthy
  EXPECT_GT(refused, 0);
}

TEST(CudaBadInputs, ZeroSizeTensorsMatchTheCpu) {
  FP8KIT_SKIP_WITHOUT_GPU();
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{0, 300}, {5, 0}, {0, 0}}) {
    for (const ScaleSpec& spec : {ScaleSpec::per_tensor(), ScaleSpec::per_row(), ScaleSpec::per_column(),
                                  ScaleSpec::group(), ScaleSpec::block()}) {
      SCOPED_TRACE(detail::concat("[", rows, ", ", cols, "] ", granularity_name(spec.granularity)));
      const ScaleGridShape grid = scale_grid_shape(rows, cols, spec);
      const size_t cells = static_cast<size_t>(std::max<int64_t>(1, grid.rows * grid.cols));
      DeviceBuffer x(static_cast<size_t>(std::max<int64_t>(1, rows * cols * 2)));
      DeviceBuffer q(static_cast<size_t>(std::max<int64_t>(1, rows * cols)));
      DeviceBuffer s(std::vector<float>(cells, -7.0f));
      QuantizeOptions o;
      o.backend = Backend::cuda;
      quantize(TensorView::contiguous(x.get(), DType::bf16, {rows, cols}, Device::cuda(0)),
               TensorView::contiguous(q.get(), DType::e4m3fn, {rows, cols}, Device::cuda(0)),
               TensorView::contiguous(s.get(), DType::f32, {grid.rows, grid.cols}, Device::cuda(0)), spec, o);
      const std::vector<float> got = s.read<float>();
      for (int64_t i = 0; i < grid.rows * grid.cols; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], 1.0f) << i;
      if (grid.rows * grid.cols == 0) {
        EXPECT_EQ(got[0], -7.0f) << "an empty grid is not written";
      }
    }
  }
  // GEMM: K = 0 gives the bias exactly on every backend that accepts it (and some backend does).
  DeviceGemm g(small_case(16, 64, 0, 12));
  const std::vector<double> want = gemm::reference_cpu(g.host);
  int ran = 0;
  for (const Backend b : kGemmBackends) {
    if (!accepts(g.args, b)) continue;
    EXPECT_EQ(gemm::widen_output(g.run(b), g.host.c.out, 16, 64), want) << backend_name(b);
    ++ran;
  }
  EXPECT_GT(ran, 0) << "no CUDA GEMM backend runs K = 0";
  // M = 0: nothing to do, nothing touched
  DeviceGemm empty(small_case(0, 64, 256, 13));
  fp8kit::gemm(empty.args);
  cuda::synchronize(0);
}

// ---- out of memory ----------------------------------------------------------------------------

/// Takes (almost) all free device memory while alive: the stream-ordered pool is trimmed first, then
/// cudaMalloc takes blocks of shrinking size until nothing is left.
class MemoryHog {
 public:
  MemoryHog() {
    cudaMemPool_t pool = nullptr;
    if (cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess) cudaMemPoolTrimTo(pool, 0);
    FP8KIT_CUDA_CHECK(cudaDeviceSynchronize());
    for (size_t block = size_t{1} << 34; block >= (size_t{1} << 16);) {
      void* p = nullptr;
      if (cudaMalloc(&p, block) == cudaSuccess) {
        blocks_.push_back(p);
      } else {
        cudaGetLastError();
        block /= 2;
      }
    }
  }
  ~MemoryHog() {
    for (void* p : blocks_) cudaFree(p);
  }
  MemoryHog(const MemoryHog&) = delete;
  MemoryHog& operator=(const MemoryHog&) = delete;

 private:
  std::vector<void*> blocks_;
};

TEST(CudaOutOfMemory, WorkspaceAllocationsFailCleanlyAndTheLibraryRecovers) {
  FP8KIT_SKIP_WITHOUT_GPU();
  // Inputs and outputs exist before memory runs out; each op runs on a stream that has no workspace yet.
  DeviceGemm big_k(small_case(8, 256, 16384, 21));  // small M, long K: split-K partial sums
  DeviceGemm wide(small_case(256, 2048, 1024, 22));
  DeviceBuffer x(std::vector<float>(256 * 1024, 0.5f)), q(256 * 1024), s(sizeof(float));
  const auto quantize_tensor = [&](cudaStream_t stream) {
    QuantizeOptions o;
    o.backend = Backend::cuda;
    o.stream = stream;
    quantize(TensorView::contiguous(x.get(), DType::f32, {256, 1024}, Device::cuda(0)),
             TensorView::contiguous(q.get(), DType::e4m3fn, {256, 1024}, Device::cuda(0)),
             TensorView::contiguous(s.get(), DType::f32, {1}, Device::cuda(0)), ScaleSpec::per_tensor(), o);
    FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  };
  std::vector<std::pair<std::string, std::function<std::vector<uint8_t>(cudaStream_t)>>> ops;
  for (const Backend b : kGemmBackends) {
    for (DeviceGemm* g : {&big_k, &wide}) {
      if (accepts(g->args, b)) {
        ops.emplace_back(std::string(backend_name(b)) + " M=" + std::to_string(g->host.c.m),
                         [g, b](cudaStream_t st) { return g->run(b, st); });
      }
    }
  }
  ops.emplace_back("per-tensor quantize", [&](cudaStream_t st) {
    quantize_tensor(st);
    return q.read<uint8_t>();
  });
  std::vector<std::vector<uint8_t>> before;
  for (auto& [name, op] : ops) before.push_back(op(nullptr));

  std::vector<cudaStream_t> streams(ops.size());
  for (cudaStream_t& st : streams) FP8KIT_CUDA_CHECK(cudaStreamCreate(&st));
  int failed = 0;
  {
    const MemoryHog hog;
    for (size_t i = 0; i < ops.size(); ++i) {
      try {
        ops[i].second(streams[i]);
      } catch (const Error& e) {
        ++failed;
        const std::string what = e.what();
        EXPECT_TRUE(what.find("out of memory") != std::string::npos || what.find("ALLOC") != std::string::npos ||
                    what.find("MemoryAllocation") != std::string::npos)
            << ops[i].first << ": " << what;
      }
      EXPECT_EQ(cudaGetLastError(), cudaSuccess) << ops[i].first << " left a CUDA error behind";
    }
  }
  // Memory is back: the same calls, on the same streams, work and give the same bits.
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(ops[i].second(streams[i]), before[i]) << ops[i].first;
  for (cudaStream_t st : streams) FP8KIT_CUDA_CHECK(cudaStreamDestroy(st));
  if (failed == 0) GTEST_SKIP() << "no allocation failed with the memory taken (the driver kept reserves)";
  std::cout << "[ info     ] " << failed << " of " << ops.size() << " ops refused for lack of memory, all recovered\n";
}

// ---- concurrency ------------------------------------------------------------------------------

/// One unit of work with its serial result.
struct Job {
  std::string name;
  std::function<std::vector<uint8_t>(cudaStream_t)> run;
  std::vector<uint8_t> serial;
};

TEST(CudaConcurrency, ThreadsAndStreamsGiveTheSerialBits) {
  FP8KIT_SKIP_WITHOUT_GPU();
  const uint32_t seed = fresh_seed();
  SCOPED_TRACE(seed_message(seed));
  std::mt19937 rng(seed);
  std::vector<std::unique_ptr<DeviceGemm>> gemms;
  std::vector<Job> jobs;
  uint32_t salt = 40;
  for (const auto& [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 256, 512}, {16, 512, 1024}, {65, 200, 576},
                                {128, 1024, 2048}, {8, 256, 8192}}) {
    for (const GemmScaling scaling : {GemmScaling::block, GemmScaling::row}) {
      gemms.push_back(std::make_unique<DeviceGemm>(small_case(m, n, k, salt++, scaling)));
      DeviceGemm* g = gemms.back().get();
      for (const Backend b : kGemmBackends) {
        if (!accepts(g->args, b)) continue;
        auto out = std::make_shared<DeviceBuffer>(g->d->bytes());
        jobs.push_back({detail::concat(backend_name(b), " ", g->host.c.name()),
                        [g, b, out](cudaStream_t st) { return g->run(b, st, out.get()); }, {}});
      }
    }
  }
  // Quantize (every kernel family), dequantize and the fused SiLU quantize: each job owns its buffers.
  struct QuantJob {
    std::unique_ptr<DeviceBuffer> x, q, s, y;
    int64_t rows, cols;
    ScaleSpec spec;
  };
  std::vector<std::unique_ptr<QuantJob>> quants;
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (const ScaleSpec& spec : {ScaleSpec::group(), ScaleSpec::group(64), ScaleSpec::block(), ScaleSpec::per_row(),
                                ScaleSpec::per_column(), ScaleSpec::per_tensor(), ScaleSpec::group().pow2()}) {
    auto j = std::make_unique<QuantJob>();
    j->rows = 300;
    j->cols = 1000;
    j->spec = spec;
    std::vector<float> v(static_cast<size_t>(j->rows * j->cols));
    for (float& f : v) f = normal(rng);
    const ScaleGridShape grid = scale_grid_shape(j->rows, j->cols, spec);
    j->x = std::make_unique<DeviceBuffer>(to_bytes(v, DType::bf16));
    j->q = std::make_unique<DeviceBuffer>(static_cast<size_t>(j->rows * j->cols));
    j->s = std::make_unique<DeviceBuffer>(static_cast<size_t>(grid.rows * grid.cols * 4));
    j->y = std::make_unique<DeviceBuffer>(static_cast<size_t>(j->rows * j->cols * 2));
    QuantJob* p = j.get();
    quants.push_back(std::move(j));
    const DType sd = spec.rounding == ScaleRounding::pow2 ? DType::ue8m0 : DType::f32;
    jobs.push_back({"quantize+dequantize " + std::string(granularity_name(spec.granularity)), [p, sd](cudaStream_t st) {
                      const Device dev = Device::cuda(0);
                      const ScaleGridShape g = scale_grid_shape(p->rows, p->cols, p->spec);
                      QuantizeOptions o;
                      o.backend = Backend::cuda;
                      o.stream = st;
                      const TensorView q = TensorView::contiguous(p->q->get(), DType::e4m3fn, {p->rows, p->cols}, dev);
                      const TensorView s = TensorView::contiguous(p->s->get(), sd, {g.rows, g.cols}, dev);
                      quantize(TensorView::contiguous(p->x->get(), DType::bf16, {p->rows, p->cols}, dev), q, s, p->spec, o);
                      DequantizeOptions d;
                      d.backend = Backend::cuda;
                      d.stream = st;
                      dequantize(q, s, TensorView::contiguous(p->y->get(), DType::bf16, {p->rows, p->cols}, dev), p->spec, d);
                      FP8KIT_CUDA_CHECK(cudaStreamSynchronize(st));
                      std::vector<uint8_t> out = p->q->read<uint8_t>();
                      const std::vector<uint8_t> scales = p->s->read<uint8_t>(), y = p->y->read<uint8_t>();
                      out.insert(out.end(), scales.begin(), scales.end());
                      out.insert(out.end(), y.begin(), y.end());
                      return out;
                    },
                    {}});
  }
  for (Job& j : jobs) j.serial = j.run(nullptr);

  constexpr int kThreads = 12, kRounds = 3;
  std::vector<cudaStream_t> streams(4);
  for (cudaStream_t& st : streams) FP8KIT_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  std::atomic<int> mismatches{0}, errors{0};
  std::atomic<size_t> next{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  // Each thread takes jobs in turn; jobs are not shared between threads at the same time (each owns
  // its output buffer), but streams are: thread t uses stream t % 4, or the legacy default stream.
  const size_t total = jobs.size() * kRounds;
  std::vector<std::atomic<bool>> busy(jobs.size());
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      cudaStream_t st = t % 5 == 4 ? nullptr : streams[static_cast<size_t>(t % 4)];
      for (size_t i = next++; i < total; i = next++) {
        const size_t j = i % jobs.size();
        bool expected = false;
        while (!busy[j].compare_exchange_weak(expected, true)) expected = false;
        try {
          if (jobs[j].run(st) != jobs[j].serial) {
            ++mismatches;
            failures[static_cast<size_t>(t)] += "\n  " + jobs[j].name;
          }
        } catch (const std::exception& e) {
          ++errors;
          failures[static_cast<size_t>(t)] += "\n  " + jobs[j].name + " threw " + e.what();
        }
        busy[j] = false;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (cudaStream_t st : streams) FP8KIT_CUDA_CHECK(cudaStreamDestroy(st));
  std::string all;
  for (const std::string& f : failures) all += f;
  EXPECT_EQ(mismatches.load(), 0) << "results differ from the serial run:" << all;
  EXPECT_EQ(errors.load(), 0) << all;
  std::cout << "[ info     ] " << jobs.size() << " jobs x " << kRounds << " rounds on " << kThreads
            << " threads and 5 streams matched the serial bits\n";
}

}  // namespace
}  // namespace fp8kit::testing
