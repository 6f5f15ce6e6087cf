// selftest.cpp: `fp8kit selftest`: runs every quantization granularity, dequantization, the fused
// SiLU-mul quantization and both GEMMs on random data with outliers, on every backend this machine has,
// and checks each against the scalar CPU reference: quantization bit for bit, GEMMs against a float64
// product of the dequantized operands.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cli_options.h"
#include "command_line.h"
#include "commands.h"
#include "common/numerics.h"
#include "cuda/cuda_backend.h"
#include "fp8kit/fp8kit.h"

namespace fp8kit::cli {
namespace {

/// Host bytes mirrored on a device when the backend runs there.
class Buffer {
 public:
  Buffer(std::vector<uint8_t> host, const Device& device) : host_(std::move(host)), device_(device) {
    if (device_.is_cuda()) {
      ptr_ = cuda::device_alloc(host_.size(), device_.index);
      cuda::copy_to_device(ptr_, host_.data(), host_.size());
    } else {
      ptr_ = host_.data();
    }
  }
  ~Buffer() {
    if (device_.is_cuda()) cuda::device_free(ptr_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  TensorView view(DType dtype, std::initializer_list<int64_t> shape) const {
    return TensorView::contiguous(ptr_, dtype, shape, device_);
  }
  const std::vector<uint8_t>& read() {
    if (device_.is_cuda()) cuda::copy_to_host(host_.data(), ptr_, host_.size());
    return host_;
  }

 private:
  std::vector<uint8_t> host_;
  Device device_;
  void* ptr_ = nullptr;
};

struct Target {
  Backend backend;
  Device device;
};


std::vector<uint8_t> random_bf16(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * 2);
  for (int64_t i = 0; i < n; ++i) {
    float v = normal(rng);
    if (i % 997 == 0) v *= 100.0f;  // outliers
    const uint16_t h = numerics::float_to_bf16_bits(v);
    std::memcpy(&bytes[static_cast<size_t>(i) * 2], &h, 2);
  }
  return bytes;
}

struct QuantCase {
  const char* name;
  ScaleSpec spec;
  DType scale_dtype;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int selftest(const Args& args) {
  const std::optional<SelftestCommand> o = parse_selftest_command(args);
  if (!o) {
    std::printf("usage: fp8kit selftest [--rows R] [--cols C] [--seed S]\n\n"
                "Quantizes, dequantizes and multiplies random bf16 data with outliers on every backend\n"
                "here and compares each with the scalar CPU reference. Exit status 1 on any mismatch.\n");
    return 0;
  }
  std::mt19937 rng(o->seed != 0 ? o->seed : std::random_device{}());
  const int64_t rows = o->rows, cols = o->cols, n = rows * cols;
  const std::vector<uint8_t> x = random_bf16(n, rng);

  std::vector<Target> targets = {{Backend::cpu_reference, Device::cpu()}, {Backend::cpu, Device::cpu()}};
  for (const GpuInfo& g : capabilities().gpus) targets.push_back({Backend::cuda, Device::cuda(g.ordinal)});

  const std::vector<QuantCase> cases = {
      {"quantize group 1x128", ScaleSpec::group(128), DType::f32},
      {"quantize group 1x128 ue8m0", ScaleSpec::group(128).pow2(), DType::ue8m0},
      {"quantize block 128x128", ScaleSpec::block(128, 128), DType::f32},
      {"quantize per-row", ScaleSpec::per_row(), DType::f32},
      {"quantize per-tensor", ScaleSpec::per_tensor(), DType::f32},
  };
  int failures = 0;
  std::printf("fp8kit selftest: bf16 [%lld, %lld] with outliers\n", static_cast<long long>(rows),
              static_cast<long long>(cols));
  std::printf("%-30s %-14s %-9s %-26s %10s\n", "operation", "backend", "device", "result", "ms");
  for (const QuantCase& c : cases) {
    const ScaleGridShape grid = scale_grid_shape(rows, cols, c.spec);
    const size_t scale_bytes = static_cast<size_t>(grid.rows * grid.cols * dtype_size(c.scale_dtype));
    std::vector<uint8_t> want_q, want_s, want_y;
    for (const Target& t : targets) {
      Buffer xb(x, t.device), qb(std::vector<uint8_t>(static_cast<size_t>(n), 0xAB), t.device);
      Buffer sb(std::vector<uint8_t>(scale_bytes, 0xCD), t.device);
      Buffer yb(std::vector<uint8_t>(static_cast<size_t>(n) * 2, 0xEF), t.device);
      const auto t0 = std::chrono::steady_clock::now();
      QuantizeOptions qo;
      qo.backend = t.backend;
      quantize(xb.view(DType::bf16, {rows, cols}), qb.view(DType::e4m3fn, {rows, cols}),
               sb.view(c.scale_dtype, {grid.rows, grid.cols}), c.spec, qo);
      DequantizeOptions dq;
      dq.backend = t.backend;
      dequantize(qb.view(DType::e4m3fn, {rows, cols}), sb.view(c.scale_dtype, {grid.rows, grid.cols}),
                 yb.view(DType::bf16, {rows, cols}), c.spec, dq);
      if (t.device.is_cuda()) cuda::synchronize(t.device.index);
      const double ms = seconds_since(t0) * 1e3;
      const auto& q = qb.read();
      const auto& s = sb.read();
      const auto& y = yb.read();
      std::string result = "reference";
      if (want_q.empty()) {
        want_q = q;
        want_s = s;
        want_y = y;
      } else {
        const bool same = q == want_q && s == want_s && y == want_y;
        result = same ? "bit-identical" : "MISMATCH";
        failures += same ? 0 : 1;
      }
      std::printf("%-30s %-14s %-9s %-26s %10.2f\n", c.name, std::string(backend_name(t.backend)).c_str(),
                  to_string(t.device).c_str(), result.c_str(), ms);
    }
  }
  // The fused MLP activation: gate_up [rows, 2 * cols] -> bf16(silu(gate) * up) quantized per 1 x 128.
  {
    const std::vector<uint8_t> gate_up = random_bf16(2 * n, rng);
    const ScaleGridShape grid = scale_grid_shape(rows, cols, ScaleSpec::group(128));
    std::vector<uint8_t> want_q, want_s;
    for (const Target& t : targets) {
      Buffer gb(gate_up, t.device), qb(std::vector<uint8_t>(static_cast<size_t>(n), 0xAB), t.device);
      Buffer sb(std::vector<uint8_t>(static_cast<size_t>(grid.rows * grid.cols * 4), 0xCD), t.device);
      const auto t0 = std::chrono::steady_clock::now();
      QuantizeOptions qo;
      qo.backend = t.backend;
      silu_mul_quantize(gb.view(DType::bf16, {rows, 2 * cols}), qb.view(DType::e4m3fn, {rows, cols}),
                        sb.view(DType::f32, {grid.rows, grid.cols}), ScaleSpec::group(128), qo);
      if (t.device.is_cuda()) cuda::synchronize(t.device.index);
      const double ms = seconds_since(t0) * 1e3;
      std::string result = "reference";
      if (want_q.empty()) {
        want_q = qb.read();
        want_s = sb.read();
      } else {
        const bool same = qb.read() == want_q && sb.read() == want_s;
        result = same ? "bit-identical" : "MISMATCH";
        failures += same ? 0 : 1;
      }
      std::printf("%-30s %-14s %-9s %-26s %10.2f\n", "silu_mul_quantize 1x128", std::string(backend_name(t.backend)).c_str(),
                  to_string(t.device).c_str(), result.c_str(), ms);
    }
  }
  std::printf(failures == 0 ? "selftest passed\n" : "selftest FAILED: %d mismatches\n", failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int run_selftest(const Args& args) {
  return run_verb("selftest", [&] { return selftest(args); });
}

}  // namespace fp8kit::cli
