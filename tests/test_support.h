// test_support.h: helpers shared by the test suites: GPU skips, device buffers, hostile random inputs,
// and bitwise comparison that reports the first mismatch.
#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/numerics.h"
#include "cuda/cuda_backend.h"
#include "fp8kit/fp8kit.h"

/// Skips the current test, saying which capability is missing, when no CUDA GPU is usable.
#define FP8KIT_SKIP_WITHOUT_GPU()                                                             \
  do {                                                                                        \
    if (::fp8kit::capabilities().gpus.empty()) {                                              \
      GTEST_SKIP() << "needs a CUDA GPU (" << ::fp8kit::capabilities().cuda_status << ")";    \
    }                                                                                         \
  } while (0)

namespace fp8kit::testing {

/// Bytes on a CUDA device, freed on destruction; filled from and read back to host vectors.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes, int ordinal = 0) : bytes_(bytes), ptr_(cuda::device_alloc(bytes, ordinal)) {}
  template <typename T>
  DeviceBuffer(const std::vector<T>& host, int ordinal = 0) : DeviceBuffer(host.size() * sizeof(T), ordinal) {
    cuda::copy_to_device(ptr_, host.data(), bytes_);
  }
  ~DeviceBuffer() { cuda::device_free(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  template <typename T>
  std::vector<T> read() const {
    std::vector<T> host(bytes_ / sizeof(T));
    cuda::copy_to_host(host.data(), ptr_, host.size() * sizeof(T));
    return host;
  }

 private:
  size_t bytes_;
  void* ptr_;
};

/// Random fp32 values: mostly normal(0, scale), with a share of hostile values (zeros, -0, subnormals,
/// values near and beyond the e4m3 max, huge values) when `hostile` is set. No NaN or inf: tests place
/// those explicitly.
inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale = 1.0f, bool hostile = true) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::uniform_int_distribution<int> pick(0, 99);
  const float specials[] = {0.0f, -0.0f, 1e-40f, -3e-39f, 448.0f, -448.0f, 464.0f, 1e30f, -1e25f, 2e-9f};
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    const int p = pick(rng);
    v[i] = (hostile && p < 3) ? specials[static_cast<size_t>(pick(rng)) % std::size(specials)] : normal(rng);
  }
  return v;
}

/// Host bytes of `values` converted to a high-precision dtype (f32, bf16 or f16, rounding to nearest).
inline std::vector<uint8_t> to_bytes(const std::vector<float>& values, DType dtype) {
  std::vector<uint8_t> out(values.size() * static_cast<size_t>(dtype_size(dtype)));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::f32) {
      std::memcpy(&out[i * 4], &values[i], 4);
    } else {
      const uint16_t h = dtype == DType::bf16 ? numerics::float_to_bf16_bits(values[i]) : numerics::float_to_f16_bits(values[i]);
      std::memcpy(&out[i * 2], &h, 2);
    }
  }
  return out;
}

/// Empty when equal; else the first differing element (by `element_bytes`) with both bit patterns.
inline std::string first_mismatch(const std::vector<uint8_t>& want, const std::vector<uint8_t>& got,
                                  size_t element_bytes, int64_t cols = 0) {
  if (want.size() != got.size()) {
    return "sizes differ: " + std::to_string(want.size()) + " vs " + std::to_string(got.size());
  }
  for (size_t i = 0; i < want.size(); i += element_bytes) {
    if (std::memcmp(&want[i], &got[i], element_bytes) == 0) continue;
    std::ostringstream out;
    const size_t index = i / element_bytes;
    out << "element " << index;
    if (cols > 0) out << " (row " << index / static_cast<size_t>(cols) << ", col " << index % static_cast<size_t>(cols) << ")";
    out << std::hex << ": want 0x";
    for (size_t b = element_bytes; b-- > 0;) out << static_cast<int>(want[i + b]);
    out << ", got 0x";
    for (size_t b = element_bytes; b-- > 0;) out << static_cast<int>(got[i + b]);
    return out.str();
  }
  return {};
}

}  // namespace fp8kit::testing
