// bench_quantize.cu: speed of the CUDA quantization kernels (issue 3), measured against the card's own
// ceilings in the same run.
//
// Prints the device-to-device copy bandwidth (bytes read + written) and the time of an empty kernel,
// then per kernel and shape: median µs (CUDA events; a 2 x L2 read-only sweep before every launch keeps
// inputs out of L2 and the GPU busy while the host prepares the launch), effective GB/s (bytes the op
// must read and write, scales included), % of the copy bandwidth, and the speedup over a naive
// version of the same op written here (one thread per scale tile / per element), whose output must
// equal the library's bit for bit. A short table comes last; --csv FILE writes every row.
//
//   fp8kit_bench_quantize [--reps N] [--csv FILE] [--quick]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "common/numerics.h"
#include "fp8kit/fp8kit.h"

namespace {

using namespace fp8kit;

#define BENCH_CHECK(call)                                                                                 \
  do {                                                                                                    \
    const cudaError_t bench_err_ = (call);                                                                \
    if (bench_err_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(bench_err_)); \
      std::exit(1);                                                                                       \
    }                                                                                                     \
  } while (0)

/// Device memory freed on scope exit.
class Buffer {
 public:
  explicit Buffer(size_t bytes) : bytes_(bytes) { BENCH_CHECK(cudaMalloc(&ptr_, std::max<size_t>(bytes, 1))); }
  ~Buffer() { cudaFree(ptr_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  template <typename T = void>
  T* get() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }
  std::vector<uint8_t> read() const {
    std::vector<uint8_t> h(bytes_);
    BENCH_CHECK(cudaMemcpy(h.data(), ptr_, bytes_, cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  size_t bytes_;
  void* ptr_ = nullptr;
};

// ---- inputs and the L2 sweep ------------------------------------------------------------------

__device__ uint32_t hash32(uint64_t i) {
  uint64_t z = i * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

/// bf16 values uniform in (-1, 1) times 2^(row % 16 - 8): never zeros, a different amax per row.
__global__ void fill_bf16(uint16_t* x, int64_t n, int64_t cols, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const uint32_t h = hash32(static_cast<uint64_t>(i) + (uint64_t{seed} << 40));
    const float u = static_cast<float>(static_cast<int32_t>(h)) * 4.656612873077393e-10f;  // (-1, 1)
    const float v = u * __uint_as_float(static_cast<uint32_t>(119 + (i / cols) % 16) << 23);
    x[i] = fp8kit::numerics::float_to_bf16_bits(v);
  }
}

__global__ void sweep_kernel(const uint4* p, size_t n, uint32_t* sink) {
  uint32_t acc = 0;
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x) acc ^= p[i].x;
  if (acc == 0x12345678u) *sink = acc;  // keeps the loads
}

__global__ void empty_kernel() {}

// ---- naive baselines: one thread per scale tile (quantize), per element (dequantize) -------------

struct NaiveTiles {
  const uint16_t* x;  // bf16, or gate_up when silu
  int64_t x_ld;
  uint8_t* q;
  int64_t q_ld;
  void* s;
  int64_t s_row_stride, s_col_stride;
  bool ue8m0, pow2, silu;
  int64_t rows, cols, tile_rows, tile_cols, grid_rows, grid_cols;
};

__device__ float naive_value(const NaiveTiles& p, int64_t r, int64_t c) {
  using namespace fp8kit::numerics;
  const uint16_t* row = p.x + r * p.x_ld;
  if (!p.silu) return bf16_bits_to_float(row[c]);
  return bf16_bits_to_float(silu_mul_bf16(bf16_bits_to_float(row[c]), bf16_bits_to_float(row[c + p.cols])));
}

__global__ void naive_quantize_tiles(NaiveTiles p) {
  using namespace fp8kit::numerics;
  const int64_t tile = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (tile >= p.grid_rows * p.grid_cols) return;
  const int64_t ti = tile / p.grid_cols, tj = tile % p.grid_cols;
  const int64_t r0 = ti * p.tile_rows, r1 = min(r0 + p.tile_rows, p.rows);
  const int64_t c0 = tj * p.tile_cols, c1 = min(c0 + p.tile_cols, p.cols);
  AmaxAccumulator acc;
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t c = c0; c < c1; ++c) acc.add(naive_value(p, r, c));
  }
  const float amax = acc.effective(0.0f);
  const float s = p.pow2 ? scale_pow2(amax, 448.0f) : scale_exact(amax, 448.0f);
  const int64_t off = ti * p.s_row_stride + tj * p.s_col_stride;
  if (p.ue8m0) {
    static_cast<uint8_t*>(p.s)[off] = ue8m0_from_pow2(s);
  } else {
    static_cast<float*>(p.s)[off] = canonicalize_f32(s);
  }
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t c = c0; c < c1; ++c) p.q[r * p.q_ld + c] = encode_e4m3fn(div_rn(naive_value(p, r, c), s));
  }
}

/// Per tensor, naively: one thread per row folds its amax into a word, then one thread per row quantizes.
__global__ void naive_tensor_amax(const uint16_t* x, int64_t rows, int64_t cols, uint32_t* word) {
  const int64_t r = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (r >= rows) return;
  uint32_t m = 0;
  for (int64_t c = 0; c < cols; ++c) m = max(m, static_cast<uint32_t>(x[r * cols + c] & 0x7FFFu) << 16);
  atomicMax(word, m);
}

__global__ void naive_tensor_quantize(const uint16_t* x, int64_t rows, int64_t cols, const uint32_t* word, uint8_t* q, float* s) {
  using namespace fp8kit::numerics;
  const int64_t r = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  AmaxAccumulator acc;
  acc.nonfinite = *word >= 0x7F800000u;
  acc.amax = acc.nonfinite ? 0.0f : __uint_as_float(*word);
  const float scale = scale_exact(acc.effective(0.0f), 448.0f);
  if (r == 0) *s = canonicalize_f32(scale);
  if (r >= rows) return;
  for (int64_t c = 0; c < cols; ++c) q[r * cols + c] = encode_e4m3fn(div_rn(bf16_bits_to_float(x[r * cols + c]), scale));
}

__global__ void naive_dequantize(const uint8_t* q, const float* s, int64_t s_ld, uint16_t* y, int64_t rows, int64_t cols) {
  using namespace fp8kit::numerics;
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i >= rows * cols) return;
  const int64_t r = i / cols, c = i % cols;
  y[i] = float_to_bf16_bits(mul_rn(decode_e4m3fn(q[i]), s[(r / 128) * s_ld + c / 128]));
}

__global__ void naive_silu_mul(const uint16_t* gate_up, uint16_t* h, int64_t rows, int64_t inter) {
  using namespace fp8kit::numerics;
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i >= rows * inter) return;
  const int64_t r = i / inter, c = i % inter;
  h[i] = silu_mul_bf16(bf16_bits_to_float(gate_up[r * 2 * inter + c]), bf16_bits_to_float(gate_up[r * 2 * inter + inter + c]));
}

uint32_t blocks_for(int64_t n, int threads) { return static_cast<uint32_t>(std::max<int64_t>(1, (n + threads - 1) / threads)); }

// ---- timing -----------------------------------------------------------------------------------

class Timer {
 public:
  Timer(cudaStream_t stream, size_t sweep_bytes) : stream_(stream), sweep_(sweep_bytes), sink_(4) {
    BENCH_CHECK(cudaEventCreate(&start_));
    BENCH_CHECK(cudaEventCreate(&stop_));
    BENCH_CHECK(cudaMemset(sweep_.get(), 1, sweep_.bytes()));
  }
  ~Timer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }

  /// Median µs of `launch` over `reps` runs, each after an L2 sweep (3 untimed warm-up runs first).
  double median_us(const std::function<void()>& launch, int reps) {
    for (int i = 0; i < 3; ++i) launch();
    BENCH_CHECK(cudaStreamSynchronize(stream_));
    std::vector<float> ms;
    for (int i = 0; i < reps; ++i) {
      sweep_kernel<<<1024, 256, 0, stream_>>>(sweep_.get<const uint4>(), sweep_.bytes() / 16, sink_.get<uint32_t>());
      BENCH_CHECK(cudaEventRecord(start_, stream_));
      launch();
      BENCH_CHECK(cudaEventRecord(stop_, stream_));
      BENCH_CHECK(cudaEventSynchronize(stop_));
      float t = 0;
      BENCH_CHECK(cudaEventElapsedTime(&t, start_, stop_));
      ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    return 1000.0 * ms[ms.size() / 2];
  }

 private:
  cudaStream_t stream_;
  Buffer sweep_, sink_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

struct Row {
  std::string kernel, shape, variant;
  double us = 0, bytes = 0, naive_us = 0;
  std::string check;
};

struct Bench {
  cudaStream_t stream = nullptr;
  Timer* timer = nullptr;
  int reps = 50, naive_reps = 3;
  double copy_gbs = 0, empty_us = 0;
  std::vector<Row> rows;

  void record(Row r) {
    const double gbs = r.bytes / r.us * 1e-3;
    std::printf("%-22s %-16s %-22s %9.2f us %8.1f GB/s %6.1f%% of copy  naive %10.2f us  x%-7.1f %s\n", r.kernel.c_str(),
                r.shape.c_str(), r.variant.c_str(), r.us, gbs, 100.0 * gbs / copy_gbs, r.naive_us, r.naive_us / r.us,
                r.check.c_str());
    std::fflush(stdout);
    rows.push_back(std::move(r));
  }
};

std::string shape_text(int64_t r, int64_t c) { return std::to_string(r) + "x" + std::to_string(c); }

Row make_row(std::string kernel, std::string shape, std::string variant) {
  Row r;
  r.kernel = std::move(kernel);
  r.shape = std::move(shape);
  r.variant = std::move(variant);
  return r;
}

Device gpu() { return Device::cuda(0); }

QuantizeOptions on_stream(cudaStream_t s) {
  QuantizeOptions o;
  o.backend = Backend::cuda;
  o.stream = s;
  return o;
}

// ---- the cases --------------------------------------------------------------------------------

/// 1 x 128 activation quantization (and per-row when `per_row`), bf16 -> e4m3.
void bench_group(Bench& b, int64_t rows, int64_t cols, bool column_major, bool ue8m0, bool per_row = false) {
  Buffer x(static_cast<size_t>(rows * cols * 2)), q(static_cast<size_t>(rows * cols)), q_naive(q.bytes());
  fill_bf16<<<1024, 256, 0, b.stream>>>(x.get<uint16_t>(), rows * cols, cols, 1);
  const ScaleSpec spec = per_row ? ScaleSpec::per_row() : (ue8m0 ? ScaleSpec::group(128).pow2() : ScaleSpec::group(128));
  const ScaleGridShape grid = scale_grid_shape(rows, cols, spec);
  const int64_t ld = column_major ? (grid.rows + 3) / 4 * 4 : grid.cols;
  const int64_t cells = column_major ? ld * grid.cols : grid.rows * grid.cols;
  const int scale_size = ue8m0 ? 1 : 4;
  Buffer s(static_cast<size_t>(cells * scale_size)), s_naive(s.bytes());
  BENCH_CHECK(cudaMemset(s.get(), 0, s.bytes()));
  BENCH_CHECK(cudaMemset(s_naive.get(), 0, s_naive.bytes()));
  const DType sd = ue8m0 ? DType::ue8m0 : DType::f32;
  const TensorView sv = per_row ? TensorView::contiguous(s.get(), sd, {rows}, gpu())
                        : column_major ? TensorView::column_major(s.get(), sd, grid.rows, grid.cols, ld, gpu())
                                       : TensorView::contiguous(s.get(), sd, {grid.rows, grid.cols}, gpu());
  const TensorView xv = TensorView::contiguous(x.get(), DType::bf16, {rows, cols}, gpu());
  const TensorView qv = TensorView::contiguous(q.get(), DType::e4m3fn, {rows, cols}, gpu());
  Row r;
  r.kernel = per_row ? "quantize per-row" : "act_quant 1x128";
  r.shape = shape_text(rows, cols);
  r.variant = std::string(ue8m0 ? "ue8m0" : "f32") + (column_major ? " col-major" : " row-major");
  r.us = b.timer->median_us([&] { quantize(xv, qv, sv, spec, on_stream(b.stream)); }, b.reps);
  r.bytes = static_cast<double>(rows * cols * 3 + grid.rows * grid.cols * scale_size);
  NaiveTiles n{x.get<uint16_t>(), cols, q_naive.get<uint8_t>(), cols, s_naive.get(),
               per_row ? 1 : (column_major ? 1 : grid.cols), per_row ? 0 : (column_major ? ld : 1),
               ue8m0, ue8m0, false, rows, cols, 1, per_row ? cols : 128, grid.rows, grid.cols};
  const int64_t tiles = grid.rows * grid.cols;
  r.naive_us = b.timer->median_us([&] { naive_quantize_tiles<<<blocks_for(tiles, 128), 128, 0, b.stream>>>(n); }, b.naive_reps);
  BENCH_CHECK(cudaStreamSynchronize(b.stream));
  r.check = q.read() == q_naive.read() && s.read() == s_naive.read() ? "bit-identical" : "MISMATCH";
  b.record(r);
}

/// Host cost of one quantize() call (validation, pointer checks, launch), small M, no synchronisation.
double host_us_per_call(Bench& b) {
  const int64_t rows = 1, cols = 7168;
  Buffer x(static_cast<size_t>(rows * cols * 2)), q(static_cast<size_t>(rows * cols)), s(static_cast<size_t>(cols / 128 * 4));
  fill_bf16<<<16, 256, 0, b.stream>>>(x.get<uint16_t>(), rows * cols, cols, 2);
  const TensorView xv = TensorView::contiguous(x.get(), DType::bf16, {rows, cols}, gpu());
  const TensorView qv = TensorView::contiguous(q.get(), DType::e4m3fn, {rows, cols}, gpu());
  const TensorView sv = TensorView::contiguous(s.get(), DType::f32, {rows, cols / 128}, gpu());
  for (int i = 0; i < 10; ++i) quantize(xv, qv, sv, ScaleSpec::group(128), on_stream(b.stream));
  BENCH_CHECK(cudaStreamSynchronize(b.stream));
  const int calls = 200;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) quantize(xv, qv, sv, ScaleSpec::group(128), on_stream(b.stream));
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / calls;
  BENCH_CHECK(cudaStreamSynchronize(b.stream));
  return us;
}

void bench_weight_block(Bench& b, int64_t rows, int64_t cols) {
  Buffer x(static_cast<size_t>(rows * cols * 2)), q(static_cast<size_t>(rows * cols)), q_naive(q.bytes());
  fill_bf16<<<1024, 256, 0, b.stream>>>(x.get<uint16_t>(), rows * cols, cols, 3);
  const ScaleGridShape grid = scale_grid_shape(rows, cols, ScaleSpec::block());
  Buffer s(static_cast<size_t>(grid.rows * grid.cols * 4)), s_naive(s.bytes());
  const TensorView xv = TensorView::contiguous(x.get(), DType::bf16, {rows, cols}, gpu());
  const TensorView qv = TensorView::contiguous(q.get(), DType::e4m3fn, {rows, cols}, gpu());
  const TensorView sv = TensorView::contiguous(s.get(), DType::f32, {grid.rows, grid.cols}, gpu());
  Row r = make_row("weight quant 128x128", shape_text(rows, cols), "f32 scales");
  r.us = b.timer->median_us([&] { quantize(xv, qv, sv, ScaleSpec::block(), on_stream(b.stream)); }, b.reps);
  r.bytes = static_cast<double>(rows * cols * 3 + grid.rows * grid.cols * 4);
  NaiveTiles n{x.get<uint16_t>(), cols, q_naive.get<uint8_t>(), cols, s_naive.get(), grid.cols, 1, false, false, false,
               rows, cols, 128, 128, grid.rows, grid.cols};
  r.naive_us = b.timer->median_us([&] { naive_quantize_tiles<<<blocks_for(grid.rows * grid.cols, 64), 64, 0, b.stream>>>(n); },
                                  b.naive_reps);
  BENCH_CHECK(cudaStreamSynchronize(b.stream));
  r.check = q.read() == q_naive.read() && s.read() == s_naive.read() ? "bit-identical" : "MISMATCH";
  b.record(r);

  // Dequantization of the same weight back to bf16.
  Buffer y(static_cast<size_t>(rows * cols * 2)), y_naive(y.bytes());
  const TensorView yv = TensorView::contiguous(y.get(), DType::bf16, {rows, cols}, gpu());
  DequantizeOptions d;
  d.backend = Backend::cuda;
  d.stream = b.stream;
  Row dr = make_row("dequant 128x128", shape_text(rows, cols), "e4m3 -> bf16");
  dr.us = b.timer->median_us([&] { dequantize(qv, sv, yv, ScaleSpec::block(), d); }, b.reps);
  dr.bytes = static_cast<double>(rows * cols * 3 + grid.rows * grid.cols * 4);
  dr.naive_us = b.timer->median_us(
      [&] {
        naive_dequantize<<<blocks_for(rows * cols, 256), 256, 0, b.stream>>>(q.get<uint8_t>(), s.get<float>(), grid.cols,
                                                                             y_naive.get<uint16_t>(), rows, cols);
      },
      b.naive_reps);
  BENCH_CHECK(cudaStreamSynchronize(b.stream));
  dr.check = y.read() == y_naive.read() ? "bit-identical" : "MISMATCH";
  b.record(dr);
}

void bench_tensor(Bench& b, int64_t rows, int64_t cols) {
  Buffer x(static_cast<size_t>(rows * cols * 2)), q(static_cast<size_t>(rows * cols)), q_naive(q.bytes());
  Buffer s(4), s_naive(4), word(4);
  fill_bf16<<<1024, 256, 0, b.stream>>>(x.get<uint16_t>(), rows * cols, cols, 4);
  const TensorView xv = TensorView::contiguous(x.get(), DType::bf16, {rows, cols}, gpu());
  const TensorView qv = TensorView::contiguous(q.get(), DType::e4m3fn, {rows, cols}, gpu());
  const TensorView sv = TensorView::contiguous(s.get(), DType::f32, {1}, gpu());
  Row r = make_row("quantize per-tensor", shape_text(rows, cols), "2 passes, f32 scale");
  r.us = b.timer->median_us([&] { quantize(xv, qv, sv, ScaleSpec::per_tensor(), on_stream(b.stream)); }, b.reps);
  r.bytes = static_cast<double>(rows * cols * 3 + 4);
  r.naive_us = b.timer->median_us(
      [&] {
        BENCH_CHECK(cudaMemsetAsync(word.get(), 0, 4, b.stream));
        naive_tensor_amax<<<blocks_for(rows, 128), 128, 0, b.stream>>>(x.get<uint16_t>(), rows, cols, word.get<uint32_t>());
        naive_tensor_quantize<<<blocks_for(rows, 128), 128, 0, b.stream>>>(x.get<uint16_t>(), rows, cols, word.get<uint32_t>(),
                                                                           q_naive.get<uint8_t>(), s_naive.get<float>());
      },
      b.naive_reps);
  BENCH_CHECK(cudaStreamSynchronize(b.stream));
  r.check = q.read() == q_naive.read() && s.read() == s_naive.read() ? "bit-identical" : "MISMATCH";
  b.record(r);
}

void bench_silu(Bench& b, int64_t rows, int64_t inter) {
  Buffer gu(static_cast<size_t>(rows * 2 * inter * 2)), q(static_cast<size_t>(rows * inter)), q_naive(q.bytes());
  Buffer h(static_cast<size_t>(rows * inter * 2)), h_naive(h.bytes());
  fill_bf16<<<1024, 256, 0, b.stream>>>(gu.get<uint16_t>(), rows * 2 * inter, 2 * inter, 5);
  const ScaleGridShape grid = scale_grid_shape(rows, inter, ScaleSpec::group(128));
  Buffer s(static_cast<size_t>(grid.rows * grid.cols * 4)), s_naive(s.bytes());
  const TensorView guv = TensorView::contiguous(gu.get(), DType::bf16, {rows, 2 * inter}, gpu());
  const TensorView qv = TensorView::contiguous(q.get(), DType::e4m3fn, {rows, inter}, gpu());
  const TensorView sv = TensorView::contiguous(s.get(), DType::f32, {grid.rows, grid.cols}, gpu());
  Row r = make_row("silu_mul_quant 1x128", shape_text(rows, 2 * inter), "bf16 -> e4m3, f32");
  r.us = b.timer->median_us([&] { silu_mul_quantize(guv, qv, sv, ScaleSpec::group(128), on_stream(b.stream)); }, b.reps);
  r.bytes = static_cast<double>(rows * inter * 5 + grid.rows * grid.cols * 4);
  NaiveTiles n{gu.get<uint16_t>(), 2 * inter, q_naive.get<uint8_t>(), inter, s_naive.get(), grid.cols, 1, false, false, true,
               rows, inter, 1, 128, grid.rows, grid.cols};
  r.naive_us = b.timer->median_us([&] { naive_quantize_tiles<<<blocks_for(grid.rows * grid.cols, 128), 128, 0, b.stream>>>(n); },
                                  b.naive_reps);
  BENCH_CHECK(cudaStreamSynchronize(b.stream));
  r.check = q.read() == q_naive.read() && s.read() == s_naive.read() ? "bit-identical" : "MISMATCH";
  b.record(r);

  const TensorView hv = TensorView::contiguous(h.get(), DType::bf16, {rows, inter}, gpu());
  Row p = make_row("silu_mul", shape_text(rows, 2 * inter), "bf16 -> bf16");
  p.us = b.timer->median_us([&] { silu_mul(guv, hv, on_stream(b.stream)); }, b.reps);
  p.bytes = static_cast<double>(rows * inter * 6);
  p.naive_us = b.timer->median_us(
      [&] { naive_silu_mul<<<blocks_for(rows * inter, 256), 256, 0, b.stream>>>(gu.get<uint16_t>(), h_naive.get<uint16_t>(), rows, inter); },
      b.naive_reps);
  BENCH_CHECK(cudaStreamSynchronize(b.stream));
  p.check = h.read() == h_naive.read() ? "bit-identical" : "MISMATCH";
  b.record(p);
}

}  // namespace

int main(int argc, char** argv) {
  std::string csv;
  Bench b;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--csv" && i + 1 < argc) {
      csv = argv[++i];
    } else if (a == "--reps" && i + 1 < argc) {
      b.reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--reps N] [--csv FILE] [--quick]\n", argv[0]);
      return 2;
    }
  }
  cudaDeviceProp prop{};
  BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d, %d SMs, L2 %d MB)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
              prop.l2CacheSize >> 20);
  BENCH_CHECK(cudaStreamCreateWithFlags(&b.stream, cudaStreamNonBlocking));
  Timer timer(b.stream, std::max<size_t>(size_t{2} * static_cast<size_t>(prop.l2CacheSize), size_t{64} << 20));
  b.timer = &timer;

  {  // the ceilings
    const size_t bytes = size_t{1} << 30;
    Buffer src(bytes), dst(bytes);
    BENCH_CHECK(cudaMemset(src.get(), 1, bytes));
    const double us = timer.median_us([&] { BENCH_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, b.stream)); }, 20);
    b.copy_gbs = 2.0 * static_cast<double>(bytes) / us * 1e-3;
    b.empty_us = timer.median_us([&] { empty_kernel<<<1, 32, 0, b.stream>>>(); }, 100);
    std::printf("device-to-device copy: %.1f GB/s (read + write, 1 GiB)   empty kernel: %.2f us\n", b.copy_gbs, b.empty_us);
    std::printf("host cost of one quantize() call (validation + pointer checks + launch): %.2f us\n", host_us_per_call(b));
  }

  const std::vector<int64_t> tokens = quick ? std::vector<int64_t>{1, 64, 16384} : std::vector<int64_t>{1, 16, 64, 256, 1024, 4096, 16384};
  for (int64_t m : tokens) {
    for (int variant = 0; variant < (quick ? 1 : 4); ++variant) bench_group(b, m, 7168, variant & 1, variant & 2);
  }
  bench_group(b, 16384, 7168, false, false, true);
  bench_weight_block(b, 7168, 18432);
  bench_tensor(b, 7168, 18432);
  bench_silu(b, 4096, 18432);

  std::printf("\n%-22s %-14s %-20s %9s %9s %7s %9s %s\n", "kernel", "shape", "variant", "us", "GB/s", "%copy", "x naive",
              "check");
  for (const Row& r : b.rows) {
    const double gbs = r.bytes / r.us * 1e-3;
    const bool small = r.shape == "1x7168" || r.shape == "16x7168" || r.shape == "64x7168";
    char over[48] = "";
    if (small) std::snprintf(over, sizeof over, "  (+%.2f us over empty)", r.us - b.empty_us);
    std::printf("%-22s %-14s %-20s %9.2f %9.1f %6.1f%% %9.1f %s%s\n", r.kernel.c_str(), r.shape.c_str(), r.variant.c_str(), r.us,
                gbs, 100.0 * gbs / b.copy_gbs, r.naive_us / r.us, r.check.c_str(), over);
  }
  std::printf("copy %.1f GB/s, empty kernel %.2f us, %s\n", b.copy_gbs, b.empty_us, prop.name);
  if (!csv.empty()) {
    FILE* f = std::fopen(csv.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "cannot write %s\n", csv.c_str());
      return 1;
    }
    std::fprintf(f, "device,kernel,shape,variant,us,gbs,pct_copy,naive_us,speedup,check,copy_gbs,empty_us\n");
    for (const Row& r : b.rows) {
      const double gbs = r.bytes / r.us * 1e-3;
      std::fprintf(f, "%s,%s,%s,%s,%.3f,%.1f,%.2f,%.3f,%.2f,%s,%.1f,%.3f\n", prop.name, r.kernel.c_str(), r.shape.c_str(),
                   r.variant.c_str(), r.us, gbs, 100.0 * gbs / b.copy_gbs, r.naive_us, r.naive_us / r.us, r.check.c_str(),
                   b.copy_gbs, b.empty_us);
    }
    std::fclose(f);
  }
  cudaStreamDestroy(b.stream);
  bool ok = true;
  for (const Row& r : b.rows) ok = ok && r.check == "bit-identical";
  return ok ? 0 : 1;
}
