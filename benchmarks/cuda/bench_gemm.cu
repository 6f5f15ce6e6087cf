// bench_gemm.cu: the GEMM benchmark. For each DeepSeek-V3 (N, K) pair and M, every CUDA GEMM backend:
// median µs (CUDA events around each call, queued behind a spin kernel so host overhead never shows,
// inputs rotated over enough copies to defeat the L2 cache), TFLOP/s, % of the card's FP8 dense rate
// (cuBLASLt per-tensor FP8 at 8192^3, measured in the same run), ratio to cuBLASLt, GB/s and the
// weight-read floor (N*K bytes at the measured copy bandwidth); the backend the dispatcher picks and
// whether it is within 5% of the best. Then a geometric-mean line per backend, the dispatch order each
// shape class measured, and a short summary table last. --csv FILE writes every row.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/numerics.h"
#include "cuda/common/cuda_check.h"
#include "cuda/support/gpu_timing.h"
#include "fp8kit/fp8kit.h"

namespace fp8kit::bench {
namespace {

// ------------------------------------------------------------------------------------------------
// Device helpers
// ------------------------------------------------------------------------------------------------

__device__ uint32_t hash32(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

/// Random e4m3fn codes of magnitude up to 448, never the NaN codes.
__global__ void fill_fp8(uint8_t* p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    uint8_t c = static_cast<uint8_t>(hash32(seed * 0x9E3779B97F4A7C15ull + i));
    if ((c & 0x7F) == 0x7F) c ^= 0x01;
    p[i] = c;
  }
}

/// Random positive scales in [2^-10, 2^-8).
__global__ void fill_scales(float* p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    p[i] = ldexpf(1.0f + static_cast<float>(hash32(seed + i) % 1024) / 1024.0f, -10 + static_cast<int>(i % 2));
  }
}

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  FP8KIT_CUDA_CHECK(cudaMalloc(&p, bytes > 0 ? bytes : 1));
  return p;
}

struct DeviceFree {
  void operator()(void* p) const { cudaFree(p); }
};
using DevicePtr = std::unique_ptr<void, DeviceFree>;

DevicePtr alloc(size_t bytes) { return DevicePtr(device_alloc(bytes)); }

// ------------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------------

struct Options {
  std::vector<Backend> backends = {Backend::cublaslt, Backend::cuda_sm90, Backend::cuda_fp8_mma, Backend::cuda_bf16_mma};
  std::vector<int64_t> ms = {1, 16, 64, 128, 1024, 4096};
  std::vector<std::pair<int64_t, int64_t>> shapes = {{2112, 7168}, {24576, 1536}, {32768, 512},
                                                     {7168, 16384}, {4096, 7168}, {7168, 2048}};
  GemmScaling scaling = GemmScaling::block;
  bool m_major_act_scales = false;  // block scaling: As M-major (columns padded to 4 rows) instead of row-major
  DType out = DType::bf16;
  int iters = 50;
  double max_seconds = 600.0;
  std::string csv;
  bool peak = true;
  int device = 0;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

void usage() {
  std::printf(
      "usage: fp8kit_bench_gemm [options]\n"
      "  --backends LIST     comma-separated: cublaslt,cuda_sm90,cuda_fp8_mma,cuda_bf16_mma (default all)\n"
      "  --m LIST            M values (default 1,16,64,128,1024,4096)\n"
      "  --shapes LIST       N:K pairs (default the six DeepSeek-V3 pairs)\n"
      "  --scaling S         block (default) or row\n"
      "  --act-scales L      block scaling's activation scales: row-major (default, act_quant's) or m-major\n"
      "                      (M-major, columns padded to 4 rows: the layout cuda_sm90 loads by TMA)\n"
      "  --out T             bf16 (default), f16 or f32\n"
      "  --iters N           timed calls per backend and shape (default 50)\n"
      "  --max-seconds S     stop starting new shapes after S seconds (default 600)\n"
      "  --csv FILE          also write every row as CSV\n"
      "  --no-peak           skip the 8192^3 per-tensor FP8 peak measurement\n"
      "  --device D          CUDA device ordinal (default 0)\n");
}

int parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--backends") {
      o.backends.clear();
      for (const auto& name : split(value(), ',')) {
        const auto b = parse_backend(name);
        if (!b) throw Error("unknown backend '" + name + "'");
        o.backends.push_back(*b);
      }
    } else if (a == "--m") {
      o.ms.clear();
      for (const auto& m : split(value(), ',')) o.ms.push_back(std::stoll(m));
    } else if (a == "--shapes") {
      o.shapes.clear();
      for (const auto& nk : split(value(), ',')) {
        const auto parts = split(nk, ':');
        if (parts.size() != 2) throw Error("shape '" + nk + "' is not N:K");
        o.shapes.emplace_back(std::stoll(parts[0]), std::stoll(parts[1]));
      }
    } else if (a == "--scaling") {
      const std::string s = value();
      if (s != "block" && s != "row") throw Error("--scaling must be block or row, got " + s);
      o.scaling = s == "block" ? GemmScaling::block : GemmScaling::row;
    } else if (a == "--act-scales") {
      const std::string l = value();
      if (l != "row-major" && l != "m-major") throw Error("--act-scales must be row-major or m-major, got " + l);
      o.m_major_act_scales = l == "m-major";
    } else if (a == "--out") {
      const auto t = parse_dtype(value());
      if (!t || !is_high_precision(*t)) throw Error("--out must be bf16, f16 or f32");
      o.out = *t;
    } else if (a == "--iters") {
      o.iters = std::max(1, std::stoi(value()));
    } else if (a == "--max-seconds") {
      o.max_seconds = std::stod(value());
    } else if (a == "--csv") {
      o.csv = value();
    } else if (a == "--no-peak") {
      o.peak = false;
    } else if (a == "--device") {
      o.device = std::stoi(value());
    } else {
      usage();
      return 2;
    }
  }
  return -1;
}

// ------------------------------------------------------------------------------------------------
// Problems and timing
// ------------------------------------------------------------------------------------------------

/// `sets` copies of one problem's operands and output, so consecutive calls miss the L2 cache.
class ProblemSets {
 public:
  ProblemSets(int64_t m, int64_t n, int64_t k, GemmScaling scaling, bool m_major_act_scales, DType out,
              bool per_tensor, int sets, int device)
      : m_(m), n_(n), k_(k) {
    const int64_t l = (k + 127) / 128;
    const int64_t m4 = (m + 3) / 4 * 4;  // M-major activation scales: each column padded to 16 bytes
    const int64_t as_count = per_tensor ? 1 : (scaling == GemmScaling::block ? (m_major_act_scales ? m4 : m) * l : m);
    const int64_t bs_count = per_tensor ? 1 : (scaling == GemmScaling::block ? ((n + 127) / 128) * l : n);
    for (int s = 0; s < sets; ++s) {
      Set set;
      set.a = alloc(static_cast<size_t>(m * k));
      set.b = alloc(static_cast<size_t>(n * k));
      set.as = alloc(static_cast<size_t>(as_count) * 4);
      set.bs = alloc(static_cast<size_t>(bs_count) * 4);
      set.d = alloc(static_cast<size_t>(m * n * dtype_size(out)));
      const uint64_t seed = static_cast<uint64_t>(s) * 7919 + static_cast<uint64_t>(m * 31 + n * 17 + k);
      fill_fp8<<<1024, 256>>>(static_cast<uint8_t*>(set.a.get()), static_cast<size_t>(m * k), seed);
      fill_fp8<<<1024, 256>>>(static_cast<uint8_t*>(set.b.get()), static_cast<size_t>(n * k), seed + 1);
      fill_scales<<<64, 256>>>(static_cast<float*>(set.as.get()), static_cast<size_t>(as_count), seed + 2);
      fill_scales<<<64, 256>>>(static_cast<float*>(set.bs.get()), static_cast<size_t>(bs_count), seed + 3);
      FP8KIT_CUDA_CHECK_LAUNCH("fill kernels");
      const Device dev = Device::cuda(device);
      GemmArgs& g = set.args;
      g.a = TensorView::contiguous(set.a.get(), DType::e4m3fn, {m, k}, dev);
      g.b = TensorView::contiguous(set.b.get(), DType::e4m3fn, {n, k}, dev);
      if (per_tensor) {
        g.a_scales = TensorView::contiguous(set.as.get(), DType::f32, {1}, dev);
        g.b_scales = TensorView::contiguous(set.bs.get(), DType::f32, {1}, dev);
      } else if (scaling == GemmScaling::block) {
        g.a_scales = m_major_act_scales ? TensorView::column_major(set.as.get(), DType::f32, m, l, m4, dev)
                                        : TensorView::contiguous(set.as.get(), DType::f32, {m, l}, dev);
        g.b_scales = TensorView::contiguous(set.bs.get(), DType::f32, {(n + 127) / 128, l}, dev);
      } else {
        g.a_scales = TensorView::contiguous(set.as.get(), DType::f32, {m}, dev);
        g.b_scales = TensorView::contiguous(set.bs.get(), DType::f32, {n}, dev);
      }
      g.d = TensorView::contiguous(set.d.get(), out, {m, n}, dev);
      g.scaling = per_tensor ? GemmScaling::row : scaling;
      sets_.push_back(std::move(set));
    }
    FP8KIT_CUDA_CHECK(cudaDeviceSynchronize());
  }

  const GemmArgs& args(size_t i) const { return sets_[i % sets_.size()].args; }

  /// Rows {0, M/2, M-1} of set 0's D, widened to double.
  std::vector<double> sample_rows(DType out) const {
    std::vector<double> v;
    const size_t row_bytes = static_cast<size_t>(n_ * dtype_size(out));
    std::vector<uint8_t> host(row_bytes);
    for (int64_t r : {int64_t{0}, m_ / 2, m_ - 1}) {
      FP8KIT_CUDA_CHECK(cudaMemcpy(host.data(), static_cast<const uint8_t*>(sets_[0].d.get()) + r * row_bytes, row_bytes,
                                   cudaMemcpyDeviceToHost));
      for (int64_t j = 0; j < n_; ++j) {
        if (out == DType::f32) {
          float f;
          std::memcpy(&f, &host[static_cast<size_t>(j) * 4], 4);
          v.push_back(f);
        } else {
          uint16_t h;
          std::memcpy(&h, &host[static_cast<size_t>(j) * 2], 2);
          v.push_back(out == DType::bf16 ? numerics::bf16_bits_to_float(h) : numerics::f16_bits_to_float(h));
        }
      }
    }
    return v;
  }

 private:
  struct Set {
    DevicePtr a, b, as, bs, d;
    GemmArgs args;
  };
  int64_t m_, n_, k_;
  std::vector<Set> sets_;
};

struct Timing {
  bool ran = false;
  std::string refusal;
  double us = 0.0;
};

/// Median time of `iters` calls of backend `b`, rotating over the problem sets.
Timing time_backend(const ProblemSets& sets, Backend b, int iters, cudaStream_t stream) {
  Timing t;
  GemmOptions o;
  o.backend = b;
  o.stream = stream;
  const Verdict v = can_gemm(sets.args(0), o);
  if (!v.ok) {
    t.refusal = v.reason;
    return t;
  }
  for (int i = 0; i < 3; ++i) fp8kit::gemm(sets.args(static_cast<size_t>(i)), o);  // warm-up (JIT, algorithms)
  FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<cudaEvent_t> events(static_cast<size_t>(2 * iters));
  for (auto& e : events) FP8KIT_CUDA_CHECK(cudaEventCreate(&e));
  bench::hold_stream(stream, 20 * 1000);
  for (int i = 0; i < iters; ++i) {
    FP8KIT_CUDA_CHECK(cudaEventRecord(events[static_cast<size_t>(2 * i)], stream));
    fp8kit::gemm(sets.args(static_cast<size_t>(i) + 1), o);
    FP8KIT_CUDA_CHECK(cudaEventRecord(events[static_cast<size_t>(2 * i + 1)], stream));
  }
  FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> us;
  for (int i = 0; i < iters; ++i) {
    float ms = 0.0f;
    FP8KIT_CUDA_CHECK(cudaEventElapsedTime(&ms, events[static_cast<size_t>(2 * i)], events[static_cast<size_t>(2 * i + 1)]));
    us.push_back(static_cast<double>(ms) * 1000.0);
  }
  for (auto& e : events) cudaEventDestroy(e);
  std::nth_element(us.begin(), us.begin() + static_cast<long>(us.size() / 2), us.end());
  t.ran = true;
  t.us = us[us.size() / 2];
  // leave set 0 holding this backend's result, for the cross-check
  fp8kit::gemm(sets.args(0), o);
  FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  return t;
}

/// Device-to-device copy bandwidth in GB/s (bytes read + written), median of 10 copies of 1 GiB.
double copy_bandwidth(cudaStream_t stream) {
  const size_t bytes = size_t{1} << 30;
  DevicePtr src = alloc(bytes), dst = alloc(bytes);
  FP8KIT_CUDA_CHECK(cudaMemsetAsync(src.get(), 1, bytes, stream));
  cudaEvent_t e0, e1;
  FP8KIT_CUDA_CHECK(cudaEventCreate(&e0));
  FP8KIT_CUDA_CHECK(cudaEventCreate(&e1));
  std::vector<double> gbps;
  for (int i = 0; i < 11; ++i) {
    FP8KIT_CUDA_CHECK(cudaEventRecord(e0, stream));
    FP8KIT_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, stream));
    FP8KIT_CUDA_CHECK(cudaEventRecord(e1, stream));
    FP8KIT_CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0.0f;
    FP8KIT_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    if (i > 0) gbps.push_back(2.0 * static_cast<double>(bytes) / (static_cast<double>(ms) * 1e6));
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  std::sort(gbps.begin(), gbps.end());
  return gbps[gbps.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int sets_for(int64_t bytes_per_set, int64_t l2_bytes) {
  const int64_t want = (2 * l2_bytes + bytes_per_set - 1) / bytes_per_set;
  const int64_t by_memory = std::max<int64_t>(1, (int64_t{4} << 30) / std::max<int64_t>(bytes_per_set, 1));
  return static_cast<int>(std::clamp<int64_t>(want, 1, std::min<int64_t>(32, by_memory)));
}

const char* m_class(int64_t m) { return m <= 64 ? "decode (M<=64)" : m <= 128 ? "M<=128" : "large M"; }

double geomean(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double s = 0.0;
  for (double x : v) s += std::log(x);
  return std::exp(s / static_cast<double>(v.size()));
}

struct Row {
  int64_t n = 0, k = 0, m = 0;
  Backend backend = Backend::automatic;
  Timing t;
  double tflops = 0.0, pct_peak = 0.0, x_lt = 0.0, gbps = 0.0, floor_us = 0.0, check = 0.0;
  std::string pick;
  bool pick_ok = false;
};

int run(const Options& o) {
  FP8KIT_CUDA_CHECK(cudaSetDevice(o.device));
  cudaDeviceProp prop{};
  FP8KIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, o.device));
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&now));
  std::printf("fp8kit %s GEMM benchmark, %s\n", capabilities().version.c_str(), date);
  std::printf("card: %s (sm_%d%d, %d SMs, L2 %d MiB), CUDA runtime %d, driver %d, cuBLASLt %zu\n", prop.name, prop.major,
              prop.minor, prop.multiProcessorCount, prop.l2CacheSize >> 20, runtime, driver, cublasLtGetVersion());
  std::printf("scaling: %s, output %s, %d timed calls per backend (median), inputs rotated over enough copies for 2x L2\n",
              o.scaling != GemmScaling::block ? "row"
              : o.m_major_act_scales          ? "block (1x128 activations, M-major scales; 128x128 weights)"
                                              : "block (1x128 activations, row-major scales; 128x128 weights)",
              std::string(dtype_name(o.out)).c_str(), o.iters);

  cudaStream_t stream = nullptr;
  FP8KIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const auto t0 = std::chrono::steady_clock::now();

  const double copy_gbps = copy_bandwidth(stream);
  std::printf("copy bandwidth (device to device, read + write): %.0f GB/s\n", copy_gbps);
  double peak_tflops = 0.0;
  if (o.peak) {
    const int64_t s = 8192;
    ProblemSets peak(s, s, s, GemmScaling::row, false, DType::bf16, /*per_tensor=*/true, 2, o.device);
    const Timing t = time_backend(peak, Backend::cublaslt, 20, stream);
    if (t.ran) {
      peak_tflops = 2.0 * static_cast<double>(s) * s * s / (t.us * 1e6);
      std::printf("FP8 dense rate (cuBLASLt, per-tensor scales, 8192^3, bf16 out): %.0f TFLOP/s (%.1f us)\n", peak_tflops,
                  t.us);
    } else {
      std::printf("FP8 dense rate: not measured (cuBLASLt per-tensor refused: %s)\n", t.refusal.c_str());
    }
  }

  std::ofstream csv;
  if (!o.csv.empty()) {
    csv.open(o.csv);
    if (!csv) throw Error("cannot write " + o.csv);
    csv << "card,scaling,out,n,k,m,backend,status,us,tflops,pct_peak,x_cublaslt,gbps,weight_floor_us,check_rel_diff,"
           "dispatcher_pick,pick_within_5pct,refusal\n";
  }

  std::printf("\n%6s %6s %5s  %-14s %10s %9s %7s %10s %8s %9s %9s  %s\n", "N", "K", "M", "backend", "us", "TFLOP/s",
              "%peak", "x cuBLASLt", "GB/s", "floor us", "check", "note");
  std::vector<Row> rows;
  bool stopped = false;
  for (const auto& [n, k] : o.shapes) {
    for (int64_t m : o.ms) {
      if (seconds_since(t0) > o.max_seconds) {
        stopped = true;
        break;
      }
      const int64_t out_size = dtype_size(o.out);
      const int64_t bytes = m * k + n * k + m * n * out_size;
      const int nsets = sets_for(bytes, prop.l2CacheSize);
      const ProblemSets sets(m, n, k, o.scaling, o.m_major_act_scales, o.out, false, nsets, o.device);
      const double flop = 2.0 * static_cast<double>(m) * n * k;
      const double floor_us = static_cast<double>(n * k) / (copy_gbps * 1e3);  // the weight read once
      std::vector<Row> here;
      std::vector<double> reference_sample;
      double lt_us = 0.0;
      for (Backend b : o.backends) {
        Row r;
        r.n = n;
        r.k = k;
        r.m = m;
        r.backend = b;
        r.t = time_backend(sets, b, o.iters, stream);
        if (r.t.ran) {
          r.tflops = flop / (r.t.us * 1e6);
          r.pct_peak = peak_tflops > 0.0 ? 100.0 * r.tflops / peak_tflops : 0.0;
          r.gbps = static_cast<double>(bytes) / (r.t.us * 1e3);
          r.floor_us = floor_us;
          const std::vector<double> sample = sets.sample_rows(o.out);
          if (reference_sample.empty()) {
            reference_sample = sample;
          } else {
            double e = 0.0, w = 0.0;
            for (size_t i = 0; i < sample.size(); ++i) {
              e += (sample[i] - reference_sample[i]) * (sample[i] - reference_sample[i]);
              w += reference_sample[i] * reference_sample[i];
            }
            r.check = w > 0.0 ? std::sqrt(e / w) : std::sqrt(e);
          }
          if (b == Backend::cublaslt) lt_us = r.t.us;
        }
        here.push_back(r);
      }
      double best = 0.0;
      for (const Row& r : here) {
        if (r.t.ran && (best == 0.0 || r.t.us < best)) best = r.t.us;
      }
      std::string pick;
      try {
        pick = std::string(backend_name(choose_gemm_backend(sets.args(0))));
      } catch (const Error&) {
        pick = "none";
      }
      double pick_us = 0.0;
      for (const Row& r : here) {
        if (r.t.ran && backend_name(r.backend) == pick) pick_us = r.t.us;
      }
      for (Row& r : here) {
        if (r.t.ran && lt_us > 0.0) r.x_lt = lt_us / r.t.us;
        r.pick = pick;
        r.pick_ok = pick_us > 0.0 && pick_us <= 1.05 * best;
        const std::string name(backend_name(r.backend));
        std::string note;
        if (!r.t.ran) {
          note = "refused: " + r.t.refusal;
        } else if (name == pick) {
          note = r.pick_ok ? "<- dispatcher pick (within 5% of best)" : "<- dispatcher pick, SLOWER than best by >5%";
        }
        if (r.t.ran) {
          char check[16];
          std::snprintf(check, sizeof check, "%.1e", r.check);
          std::printf("%6lld %6lld %5lld  %-14s %10.1f %9.1f %7.1f %10.2f %8.0f %9.1f %9s  %s\n", static_cast<long long>(n),
                      static_cast<long long>(k), static_cast<long long>(m), name.c_str(), r.t.us, r.tflops, r.pct_peak,
                      r.x_lt, r.gbps, r.floor_us, check, note.c_str());
        } else {
          std::printf("%6lld %6lld %5lld  %-14s %10s %9s %7s %10s %8s %9s %9s  %s\n", static_cast<long long>(n),
                      static_cast<long long>(k), static_cast<long long>(m), name.c_str(), "-", "-", "-", "-", "-", "-",
                      "-", note.c_str());
        }
        if (csv) {
          std::string refusal = r.t.refusal;
          std::replace(refusal.begin(), refusal.end(), ',', ';');
          std::replace(refusal.begin(), refusal.end(), '\n', ' ');
          csv << '"' << prop.name << "\"," << (o.scaling == GemmScaling::block ? "block" : "row") << ','
              << dtype_name(o.out) << ',' << n << ',' << k << ',' << m << ',' << name << ','
              << (r.t.ran ? "ok" : "refused") << ',' << r.t.us << ',' << r.tflops << ',' << r.pct_peak << ',' << r.x_lt
              << ',' << r.gbps << ',' << r.floor_us << ',' << r.check << ',' << r.pick << ',' << (r.pick_ok ? 1 : 0) << ','
              << '"' << refusal << "\"\n";
        }
      }
      std::fflush(stdout);
      rows.insert(rows.end(), here.begin(), here.end());
    }
    if (stopped) break;
  }
  if (stopped) std::printf("(stopped after %.0f s: --max-seconds)\n", o.max_seconds);

  // geometric means per backend
  std::printf("\ngeometric means over the cases each backend ran\n");
  std::printf("  %-14s %6s %10s %12s %14s\n", "backend", "cases", "TFLOP/s", "x cuBLASLt", "x cuBLASLt M>=1024");
  std::map<Backend, std::vector<double>> tf, xl, xl_big;
  for (const Row& r : rows) {
    if (!r.t.ran) continue;
    tf[r.backend].push_back(r.tflops);
    if (r.x_lt > 0.0) xl[r.backend].push_back(r.x_lt);
    if (r.x_lt > 0.0 && r.m >= 1024) xl_big[r.backend].push_back(r.x_lt);
  }
  for (Backend b : o.backends) {
    std::printf("  %-14s %6zu %10.1f %12.3f %14.3f\n", std::string(backend_name(b)).c_str(), tf[b].size(), geomean(tf[b]),
                geomean(xl[b]), geomean(xl_big[b]));
  }

  // measured dispatch order per shape class: backends by geometric-mean slowdown to the best
  std::printf("\nmeasured order per shape class (geometric mean of time / best time; for gemm_dispatch.cpp)\n");
  std::map<std::string, std::map<Backend, std::vector<double>>> classes;
  std::map<std::tuple<int64_t, int64_t, int64_t>, double> best_of;
  for (const Row& r : rows) {
    if (!r.t.ran) continue;
    auto& b = best_of[{r.n, r.k, r.m}];
    if (b == 0.0 || r.t.us < b) b = r.t.us;
  }
  for (const Row& r : rows) {
    if (!r.t.ran) continue;
    const bool ragged = r.n % 128 != 0 || r.k % 128 != 0;
    const std::string cls = std::string(m_class(r.m)) + (ragged ? ", ragged N/K" : ", aligned N/K");
    classes[cls][r.backend].push_back(r.t.us / best_of[{r.n, r.k, r.m}]);
  }
  for (const auto& [cls, per_backend] : classes) {
    std::vector<std::pair<double, Backend>> order;
    for (const auto& [b, ratios] : per_backend) order.emplace_back(geomean(ratios), b);
    std::sort(order.begin(), order.end());
    std::printf("  %-30s", cls.c_str());
    for (const auto& [g, b] : order) std::printf("  %s (%.2f)", std::string(backend_name(b)).c_str(), g);
    std::printf("\n");
  }

  // summary: per M, the best backend and the dispatcher's pick
  int picks = 0, picks_ok = 0;
  std::printf("\nsummary (%s, %s): per shape the fastest backend and the dispatcher's pick\n", prop.name,
              std::string(dtype_name(o.out)).c_str());
  std::printf("  %6s %6s %5s  %-14s %10s %9s  %-14s %s\n", "N", "K", "M", "fastest", "us", "TFLOP/s", "pick", "pick ok");
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    const Row* fastest = nullptr;
    for (; j < rows.size() && rows[j].n == rows[i].n && rows[j].k == rows[i].k && rows[j].m == rows[i].m; ++j) {
      if (rows[j].t.ran && (fastest == nullptr || rows[j].t.us < fastest->t.us)) fastest = &rows[j];
    }
    if (fastest != nullptr) {
      ++picks;
      picks_ok += rows[i].pick_ok ? 1 : 0;
      std::printf("  %6lld %6lld %5lld  %-14s %10.1f %9.1f  %-14s %s\n", static_cast<long long>(rows[i].n),
                  static_cast<long long>(rows[i].k), static_cast<long long>(rows[i].m),
                  std::string(backend_name(fastest->backend)).c_str(), fastest->t.us, fastest->tflops,
                  rows[i].pick.c_str(), rows[i].pick_ok ? "yes" : "NO");
    }
    i = j;
  }
  std::printf("dispatcher within 5%% of the best: %d of %d shapes; copy %.0f GB/s, FP8 peak %.0f TFLOP/s; %.0f s\n",
              picks_ok, picks, copy_gbps, peak_tflops, seconds_since(t0));
  FP8KIT_CUDA_CHECK(cudaStreamDestroy(stream));
  return 0;
}

}  // namespace
}  // namespace fp8kit::bench

int main(int argc, char** argv) {
  try {
    fp8kit::bench::Options o;
    const int status = fp8kit::bench::parse(argc, argv, o);
    if (status >= 0) return status;
    if (fp8kit::capabilities().gpus.empty()) {
      std::printf("fp8kit_bench_gemm: no CUDA GPU (%s)\n", fp8kit::capabilities().cuda_status.c_str());
      return 0;
    }
    return fp8kit::bench::run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fp8kit_bench_gemm: %s\n", e.what());
    return 1;
  }
}
