// bench_quantize.cpp: CPU quantize / dequantize throughput beside a memcpy of the same bytes, and CPU
// GEMM GFLOP/s. Google Benchmark; run:
//   build/benchmarks/fp8kit_bench_cpu_quantize [--benchmark_filter=...]
//
// Throughput counts bytes read + written (input, output and scales). Each quantization benchmark
// then copies the same number of bytes (half read, half written) with memcpy spread over the same
// thread pool, in the same run, and reports that copy's GB/s and the ratio (`of_copy`): the fraction
// of this machine's copy bandwidth the kernel reaches. Real time, all threads (FP8KIT_NUM_THREADS).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/numerics.h"
#include "cpu/cpu_isa.h"
#include "cpu/parallel_for.h"
#include "fp8kit/fp8kit.h"

namespace fp8kit {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<uint16_t> random_bf16(int64_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> v(static_cast<size_t>(n));
  for (auto& h : v) h = numerics::float_to_bf16_bits(normal(rng));
  return v;
}

std::vector<uint8_t> random_codes(int64_t n) {
  std::mt19937 rng(7);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& c : v) c = static_cast<uint8_t>(rng() & 0x77);  // finite e4m3 codes of both signs
  return v;
}

/// GB/s (read + written) of copying `bytes` / 2 bytes with memcpy split over the thread pool.
double copy_gbps(int64_t bytes) {
  const int64_t half = bytes / 2, chunk = 1 << 20;
  std::vector<uint8_t> src(static_cast<size_t>(half), 1), dst(static_cast<size_t>(half));
  auto copy = [&] {
    cpu::parallel_for((half + chunk - 1) / chunk, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const int64_t off = c * chunk;
        std::memcpy(dst.data() + off, src.data() + off, static_cast<size_t>(std::min(chunk, half - off)));
      }
    });
    benchmark::ClobberMemory();
  };
  copy();  // fault the pages in
  int iterations = 0;
  const auto start = Clock::now();
  double seconds = 0.0;
  while (seconds < 0.3) {
    copy();
    ++iterations;
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return 2.0 * static_cast<double>(half) * iterations / seconds / 1e9;
}

/// Runs `op` in the benchmark loop and reports GB/s for `bytes` per call beside a copy of them.
template <typename Op>
void run_bandwidth(benchmark::State& state, int64_t bytes, Op op) {
  op();
  int64_t calls = 0;
  const auto start = Clock::now();
  for (auto _ : state) {
    op();
    benchmark::ClobberMemory();
    ++calls;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double gbps = static_cast<double>(bytes) * static_cast<double>(calls) / seconds / 1e9;
  const double copy = copy_gbps(bytes);
  state.counters["GB/s"] = gbps;
  state.counters["copy_GB/s"] = copy;
  state.counters["of_copy"] = gbps / copy;
}

enum class Kind { group128, block128, row, tensor };

void BM_Quantize(benchmark::State& state, Kind kind, Backend backend, cpu::Isa isa) {
  if (!cpu::isa_supported(isa)) {
    state.SkipWithError("this CPU lacks the instruction set");
    return;
  }
  const cpu::ScopedIsa scoped_isa(isa);
  const int64_t rows = state.range(0), cols = state.range(1);
  const std::vector<uint16_t> x = random_bf16(rows * cols);
  std::vector<uint8_t> q(static_cast<size_t>(rows * cols));
  const ScaleSpec spec = kind == Kind::group128   ? ScaleSpec::group(128)
                         : kind == Kind::block128 ? ScaleSpec::block()
                         : kind == Kind::row      ? ScaleSpec::per_row()
                                                  : ScaleSpec::per_tensor();
  const ScaleGridShape g = scale_grid_shape(rows, cols, spec);
  std::vector<float> s(static_cast<size_t>(g.rows * g.cols));
  const TensorView sv = kind == Kind::row      ? TensorView::contiguous(s.data(), DType::f32, {rows})
                        : kind == Kind::tensor ? TensorView::contiguous(s.data(), DType::f32, {1})
                                               : TensorView::contiguous(s.data(), DType::f32, {g.rows, g.cols});
  QuantizeOptions o;
  o.backend = backend;
  const TensorView xv = TensorView::contiguous(const_cast<uint16_t*>(x.data()), DType::bf16, {rows, cols});
  const TensorView qv = TensorView::contiguous(q.data(), DType::e4m3fn, {rows, cols});
  // the per-tensor path reads x twice (amax pass, encode pass)
  const int64_t reads = kind == Kind::tensor ? 2 : 1;
  const int64_t bytes = rows * cols * (2 * reads + 1) + static_cast<int64_t>(s.size()) * 4;
  run_bandwidth(state, bytes, [&] { quantize(xv, qv, sv, spec, o); });
}

void BM_Dequantize(benchmark::State& state, Kind kind) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const std::vector<uint8_t> q = random_codes(rows * cols);
  std::vector<uint16_t> y(static_cast<size_t>(rows * cols));
  const ScaleSpec spec = kind == Kind::group128 ? ScaleSpec::group(128) : ScaleSpec::block();
  const ScaleGridShape g = scale_grid_shape(rows, cols, spec);
  std::vector<float> s(static_cast<size_t>(g.rows * g.cols), 0.01f);
  DequantizeOptions o;
  o.backend = Backend::cpu;
  const TensorView qv = TensorView::contiguous(const_cast<uint8_t*>(q.data()), DType::e4m3fn, {rows, cols});
  const TensorView sv = TensorView::contiguous(s.data(), DType::f32, {g.rows, g.cols});
  const TensorView yv = TensorView::contiguous(y.data(), DType::bf16, {rows, cols});
  const int64_t bytes = rows * cols * 3 + static_cast<int64_t>(s.size()) * 4;
  run_bandwidth(state, bytes, [&] { dequantize(qv, sv, yv, spec, o); });
}

void BM_SiluMulQuantize(benchmark::State& state) {
  const int64_t rows = state.range(0), inter = state.range(1);
  const std::vector<uint16_t> gate_up = random_bf16(rows * 2 * inter);
  std::vector<uint8_t> q(static_cast<size_t>(rows * inter));
  std::vector<float> s(static_cast<size_t>(rows * ((inter + 127) / 128)));
  QuantizeOptions o;
  o.backend = Backend::cpu;
  const int64_t bytes = rows * inter * (4 + 1) + static_cast<int64_t>(s.size()) * 4;
  run_bandwidth(state, bytes, [&] {
    silu_mul_quantize(TensorView::contiguous(const_cast<uint16_t*>(gate_up.data()), DType::bf16, {rows, 2 * inter}),
                      TensorView::contiguous(q.data(), DType::e4m3fn, {rows, inter}),
                      TensorView::contiguous(s.data(), DType::f32, {rows, (inter + 127) / 128}), ScaleSpec::group(), o);
  });
}

void BM_Gemm(benchmark::State& state, GemmScaling scaling) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const std::vector<uint8_t> a = random_codes(m * k), b = random_codes(n * k);
  std::vector<uint16_t> d(static_cast<size_t>(m * n));
  const int64_t kb = (k + 127) / 128;
  std::vector<float> as(static_cast<size_t>(scaling == GemmScaling::block ? m * kb : m), 0.01f);
  std::vector<float> bs(static_cast<size_t>(scaling == GemmScaling::block ? (n + 127) / 128 * kb : n), 0.02f);
  GemmArgs args;
  args.a = TensorView::contiguous(const_cast<uint8_t*>(a.data()), DType::e4m3fn, {m, k});
  args.b = TensorView::contiguous(const_cast<uint8_t*>(b.data()), DType::e4m3fn, {n, k});
  if (scaling == GemmScaling::block) {
    args.a_scales = TensorView::contiguous(as.data(), DType::f32, {m, kb});
    args.b_scales = TensorView::contiguous(bs.data(), DType::f32, {(n + 127) / 128, kb});
  } else {
    args.a_scales = TensorView::contiguous(as.data(), DType::f32, {m});
    args.b_scales = TensorView::contiguous(bs.data(), DType::f32, {n});
  }
  args.d = TensorView::contiguous(d.data(), DType::bf16, {m, n});
  args.scaling = scaling;
  GemmOptions o;
  o.backend = Backend::cpu;
  gemm(args, o);
  int64_t calls = 0;
  const auto start = Clock::now();
  for (auto _ : state) {
    gemm(args, o);
    benchmark::ClobberMemory();
    ++calls;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  state.counters["GFLOP/s"] = 2.0 * static_cast<double>(m * n * k) * static_cast<double>(calls) / seconds / 1e9;
}

void register_benchmarks() {
  constexpr int64_t kRows = 4096, kCols = 7168;  // DeepSeek-V3 hidden size
  const cpu::Isa best = cpu::active_isa();
  auto quant = [&](const char* name, Kind kind, Backend backend, cpu::Isa isa) {
    benchmark::RegisterBenchmark(name, [=](benchmark::State& s) { BM_Quantize(s, kind, backend, isa); })
        ->Args({kRows, kCols})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  };
  quant("quantize_bf16_group128/cpu", Kind::group128, Backend::cpu, best);
  quant("quantize_bf16_block128x128/cpu", Kind::block128, Backend::cpu, best);
  quant("quantize_bf16_row/cpu", Kind::row, Backend::cpu, best);
  quant("quantize_bf16_tensor/cpu", Kind::tensor, Backend::cpu, best);
  // what the vector code buys: the same fast path with SSE2 code only, and the scalar reference
  quant("quantize_bf16_group128/cpu_baseline_isa", Kind::group128, Backend::cpu, cpu::Isa::baseline);
  quant("quantize_bf16_group128/cpu_reference", Kind::group128, Backend::cpu_reference, best);
  for (const auto& [name, kind] : {std::pair{"dequantize_bf16_group128/cpu", Kind::group128},
                                   std::pair{"dequantize_bf16_block128x128/cpu", Kind::block128}}) {
    benchmark::RegisterBenchmark(name, [kind = kind](benchmark::State& s) { BM_Dequantize(s, kind); })
        ->Args({kRows, kCols})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("silu_mul_quantize_group128/cpu", BM_SiluMulQuantize)
      ->Args({4 * kRows, 2048})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  for (const auto& [name, scaling] : {std::pair{"gemm_block/cpu", GemmScaling::block},
                                      std::pair{"gemm_row/cpu", GemmScaling::row}}) {
    auto* b = benchmark::RegisterBenchmark(name, [scaling = scaling](benchmark::State& s) { BM_Gemm(s, scaling); });
    b->Args({1, 7168, 2048})->Args({128, 2048, 7168})->Args({512, 1024, 1024})->UseRealTime()->Unit(
        benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace fp8kit

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fp8kit::register_benchmarks();
  benchmark::AddCustomContext("cpu_threads", std::to_string(fp8kit::capabilities().cpu_threads));
  benchmark::AddCustomContext("cpu_isa", std::string(fp8kit::cpu::isa_name(fp8kit::cpu::active_isa())));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
