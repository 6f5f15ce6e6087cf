// test_concurrency_cpu.cpp: many host threads calling quantize, dequantize, the fused SiLU quantize and
// the GEMMs on both CPU backends at the same time get the bits of a serial run. The fast backend's
// thread pool is shared: whoever holds it runs chunks on the workers, the others run serially on
// their own thread, and results must not depend on which. scripts/test_sanitizers.sh also runs it under
// AddressSanitizer and UndefinedBehaviorSanitizer.
#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gemm_harness.h"
#include "test_support.h"

namespace fp8kit {
namespace {

using testing::HostMatrix;
using testing::HostScaleGrid;

/// A unit of work that writes only its own buffers and returns every byte it wrote.
struct Job {
  std::string name;
  std::function<std::vector<uint8_t>()> run;
  std::vector<uint8_t> serial;
};

std::vector<uint8_t> concat_bytes(std::initializer_list<const std::vector<uint8_t>*> parts) {
  std::vector<uint8_t> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

struct QuantBuffers {
  HostMatrix x, q, y;
  HostScaleGrid s;
  ScaleSpec spec;
  QuantBuffers(const std::vector<float>& v, int64_t rows, int64_t cols, const ScaleSpec& sp)
      : x(testing::host_matrix(v, DType::bf16, rows, cols, cols)), q(DType::e4m3fn, rows, cols), y(DType::f32, rows, cols),
        s(sp.rounding == ScaleRounding::pow2 ? DType::ue8m0 : DType::f32, scale_grid_shape(rows, cols, sp).rows,
          scale_grid_shape(rows, cols, sp).cols, false, std::max<int64_t>(1, scale_grid_shape(rows, cols, sp).cols)),
        spec(sp) {}
};

TEST(CpuConcurrency, ThreadsSharingThePoolGiveTheSerialBits) {
  const uint32_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_message(seed));
  std::mt19937 rng(seed);
  const int64_t rows = 97, cols = 700;
  std::vector<std::unique_ptr<QuantBuffers>> quants;
  std::vector<Job> jobs;
  for (const Backend b : {Backend::cpu, Backend::cpu_reference}) {
    for (const ScaleSpec& spec : {ScaleSpec::group(), ScaleSpec::block(), ScaleSpec::per_row(), ScaleSpec::per_column(),
                                  ScaleSpec::per_tensor(), ScaleSpec::group(64).pow2()}) {
      quants.push_back(std::make_unique<QuantBuffers>(testing::hostile_matrix(rows, cols, rng), rows, cols, spec));
      QuantBuffers* p = quants.back().get();
      jobs.push_back({detail::concat(backend_name(b), " quantize+dequantize ", granularity_name(spec.granularity)), [p, b] {
                        QuantizeOptions o;
                        o.backend = b;
                        DequantizeOptions d;
                        d.backend = b;
                        quantize(p->x.view(), p->q.view(), p->s.view(), p->spec, o);
                        dequantize(p->q.view(), p->s.view(), p->y.view(), p->spec, d);
                        return concat_bytes({&p->q.bytes, &p->s.bytes, &p->y.bytes});
                      },
                      {}});
    }
    // the fused SiLU quantize
    auto gate_up = std::make_shared<HostMatrix>(testing::host_matrix(testing::hostile_matrix(rows, 2 * 256, rng, false),
                                                                     DType::bf16, rows, 512, 512));
    auto q = std::make_shared<HostMatrix>(DType::e4m3fn, rows, 256);
    auto s = std::make_shared<HostScaleGrid>(DType::f32, rows, 2, false, 2);
    jobs.push_back({detail::concat(backend_name(b), " silu_mul_quantize"), [gate_up, q, s, b] {
                      QuantizeOptions o;
                      o.backend = b;
                      silu_mul_quantize(gate_up->view(), q->view(), s->view(), ScaleSpec::group(), o);
                      return concat_bytes({&q->bytes, &s->bytes});
                    },
                    {}});
    // GEMMs, block and row scaled
    for (const GemmScaling scaling : {GemmScaling::block, GemmScaling::row}) {
      testing::gemm::GemmCase c;
      c.m = 33;
      c.n = 200;
      c.k = 576;
      c.scaling = scaling;
      c.bias = true;
      c.seed = seed + static_cast<uint32_t>(jobs.size());
      auto h = std::make_shared<testing::gemm::HostOperands>(testing::gemm::make_operands(c));
      auto d = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(c.m * c.n * 2));
      jobs.push_back({detail::concat(backend_name(b), " gemm ", c.name()), [h, d, b] {
                        std::fill(d->begin(), d->end(), uint8_t{0xFF});
                        const GemmArgs args = testing::gemm::make_args(
                            *h, {h->a.data(), h->b.data(), h->as.data(), h->bs.data(), h->bias.data(), d->data()},
                            Device::cpu());
                        GemmOptions o;
                        o.backend = b;
                        gemm(args, o);
                        return *d;
                      },
                      {}});
    }
  }
  for (Job& j : jobs) j.serial = j.run();

  constexpr int kThreads = 8, kRounds = 3;
  std::vector<std::atomic<bool>> busy(jobs.size());
  std::atomic<size_t> next{0};
  std::atomic<int> mismatches{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  const size_t total = jobs.size() * kRounds;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = next++; i < total; i = next++) {
        const size_t j = i % jobs.size();
        bool expected = false;
        while (!busy[j].compare_exchange_weak(expected, true)) expected = false;  // a job's buffers: one user
        try {
          if (jobs[j].run() != jobs[j].serial) {
            ++mismatches;
            failures[static_cast<size_t>(t)] += "\n  " + jobs[j].name;
          }
        } catch (const std::exception& e) {
          ++mismatches;
          failures[static_cast<size_t>(t)] += "\n  " + jobs[j].name + " threw " + e.what();
        }
        busy[j] = false;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::string all;
  for (const std::string& f : failures) all += f;
  EXPECT_EQ(mismatches.load(), 0) << "results differ from the serial run:" << all;
}

}  // namespace
}  // namespace fp8kit
