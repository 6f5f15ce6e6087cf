// test_support.h: helpers shared by the test suites: GPU skips, device buffers, hostile random inputs,
// and bitwise comparison that reports the first mismatch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
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
  if (want == got) return {};
  for (size_t i = 0; i < want.size(); i += element_bytes) {
    if (std::memcmp(&want[i], &got[i], element_bytes) == 0) continue;
    std::ostringstream out;
    const size_t index = i / element_bytes;
    out << "element " << index;
    if (cols > 0) out << " (row " << index / static_cast<size_t>(cols) << ", col " << index % static_cast<size_t>(cols) << ")";
    out << std::hex << std::setfill('0') << ": want 0x";
    for (size_t b = element_bytes; b-- > 0;) out << std::setw(2) << static_cast<int>(want[i + b]);
    out << ", got 0x";
    for (size_t b = element_bytes; b-- > 0;) out << std::setw(2) << static_cast<int>(got[i + b]);
    return out.str();
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Seeds, strided host matrices and hostile matrix contents.
// ---------------------------------------------------------------------------------------------

/// A fresh seed per call (std::random_device), or FP8KIT_TEST_SEED when set, to replay a failure.
/// Print it with SCOPED_TRACE(seed_message(seed)) so a failure names it.
inline uint32_t fresh_seed() {
  if (const char* env = std::getenv("FP8KIT_TEST_SEED")) return static_cast<uint32_t>(std::strtoul(env, nullptr, 0));
  return std::random_device{}();
}
inline std::string seed_message(uint32_t seed) { return "seed " + std::to_string(seed) + " (replay: FP8KIT_TEST_SEED=" + std::to_string(seed) + ")"; }

/// The fp32 value of one stored f32, bf16 or f16 element (exact widening).
inline float high_precision_value(DType dtype, const uint8_t* p) {
  if (dtype == DType::f32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return dtype == DType::bf16 ? numerics::bf16_bits_to_float(h) : numerics::f16_bits_to_float(h);
}

/// A host matrix [rows, cols] of any dtype with row stride `ld` >= cols, every byte (padding
/// included) set to `poison` first, so a comparison of `bytes` also checks that nothing outside the
/// matrix was written.
struct HostMatrix {
  DType dtype = DType::f32;
  int64_t rows = 0, cols = 0, ld = 0;
  std::vector<uint8_t> bytes;

  HostMatrix(DType t, int64_t r, int64_t c, int64_t row_stride, uint8_t poison = 0xA5)
      : dtype(t), rows(r), cols(c), ld(row_stride),
        bytes(static_cast<size_t>((r > 0 ? (r - 1) * row_stride + c : 0) * dtype_size(t)), poison) {}
  HostMatrix(DType t, int64_t r, int64_t c) : HostMatrix(t, r, c, c) {}

  uint8_t* at(int64_t r, int64_t c) { return bytes.data() + (r * ld + c) * dtype_size(dtype); }
  const uint8_t* at(int64_t r, int64_t c) const { return bytes.data() + (r * ld + c) * dtype_size(dtype); }

  /// Stores v rounded to nearest even to a high-precision dtype; for FP8 dtypes stores the code v.
  void set(int64_t r, int64_t c, float v) {
    uint8_t* p = at(r, c);
    switch (dtype) {
      case DType::f32: std::memcpy(p, &v, 4); return;
      case DType::bf16: {
        const uint16_t h = numerics::float_to_bf16_bits(v);
        std::memcpy(p, &h, 2);
        return;
      }
      case DType::f16: {
        const uint16_t h = numerics::float_to_f16_bits(v);
        std::memcpy(p, &h, 2);
        return;
      }
      default: *p = static_cast<uint8_t>(v); return;
    }
  }
  /// The stored value: exact widening of high-precision dtypes, exact decoding of FP8 codes.
  float get(int64_t r, int64_t c) const {
    const uint8_t* p = at(r, c);
    if (dtype == DType::e4m3fn) return numerics::decode_e4m3fn(*p);
    if (dtype == DType::e5m2) return numerics::decode_e5m2(*p);
    return high_precision_value(dtype, p);
  }
  TensorView view(Device device = Device::cpu(), void* data = nullptr) const {
    return TensorView::matrix(data != nullptr ? data : const_cast<uint8_t*>(bytes.data()), dtype, rows, cols, ld, device);
  }
};

/// rows x cols fp32 values (row-major) that stress a quantizer: per-row magnitudes from 1e-3 to 1e3,
/// the specials of random_floats, whole zero blocks and rows, blocks of fp32 subnormals and of tiny
/// values, and (with `non_finite`) a few NaN and +-inf, one of them often in the last (ragged) element.
inline std::vector<float> hostile_matrix(int64_t rows, int64_t cols, std::mt19937& rng, bool non_finite = true) {
  std::vector<float> v = random_floats(static_cast<size_t>(rows * cols), rng);
  std::uniform_real_distribution<float> exponent(-3.0f, 3.0f);
  std::uniform_int_distribution<int> pick(0, 99);
  for (int64_t r = 0; r < rows; ++r) {
    const float row_scale = std::pow(10.0f, exponent(rng));
    for (int64_t c = 0; c < cols; ++c) v[static_cast<size_t>(r * cols + c)] *= row_scale;
  }
  if (rows == 0 || cols == 0) return v;
  std::uniform_int_distribution<int64_t> row(0, rows - 1), col(0, cols - 1);
  auto fill_block = [&](float value_scale, bool zero) {
    const int64_t r0 = row(rng), c0 = col(rng);
    const int64_t r1 = std::min(rows, r0 + 1 + row(rng) % 160), c1 = std::min(cols, c0 + 1 + col(rng) % 300);
    std::normal_distribution<float> normal(0.0f, value_scale);
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t c = c0; c < c1; ++c) v[static_cast<size_t>(r * cols + c)] = zero ? 0.0f : normal(rng);
    }
  };
  for (int i = 0; i < 3; ++i) fill_block(0.0f, true);
  fill_block(1e-40f, false);  // fp32 subnormals
  fill_block(1e-30f, false);
  if (pick(rng) < 30) {
    const int64_t r = row(rng);
    for (int64_t c = 0; c < cols; ++c) v[static_cast<size_t>(r * cols + c)] = pick(rng) < 50 ? 0.0f : -0.0f;
  }
  if (non_finite) {
    const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity()};
    for (const float s : specials) {
      if (pick(rng) < 60) v[static_cast<size_t>(row(rng) * cols + col(rng))] = s;
    }
    if (pick(rng) < 50) v.back() = specials[static_cast<size_t>(pick(rng)) % std::size(specials)];
  }
  return v;
}

/// `values` (row-major rows x cols) stored into a poisoned HostMatrix of `dtype` with row stride ld.
inline HostMatrix host_matrix(const std::vector<float>& values, DType dtype, int64_t rows, int64_t cols, int64_t ld) {
  HostMatrix m(dtype, rows, cols, ld);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) m.set(r, c, values[static_cast<size_t>(r * cols + c)]);
  }
  return m;
}

/// A scale grid [rows, cols] of f32 or ue8m0 in a poisoned buffer: row-major with row stride
/// `ld` >= cols, or column-major (M-major) with column stride `ld` >= rows.
struct HostScaleGrid {
  DType dtype = DType::f32;
  int64_t rows = 0, cols = 0, ld = 0;
  bool column_major = false;
  std::vector<uint8_t> bytes;

  HostScaleGrid(DType t, int64_t r, int64_t c, bool col_major, int64_t leading, uint8_t poison = 0x5A)
      : dtype(t), rows(r), cols(c), ld(leading), column_major(col_major),
        bytes(static_cast<size_t>(std::max<int64_t>(1, col_major ? c * leading : r * leading) * dtype_size(t)), poison) {}

  int64_t offset(int64_t i, int64_t j) const { return column_major ? i + j * ld : i * ld + j; }
  /// The scale value of cell (i, j) (ue8m0 bytes decoded).
  float get(int64_t i, int64_t j) const {
    const uint8_t* p = bytes.data() + offset(i, j) * dtype_size(dtype);
    if (dtype == DType::ue8m0) return numerics::ue8m0_to_float(*p);
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  TensorView view() const {
    void* data = const_cast<uint8_t*>(bytes.data());
    return column_major ? TensorView::column_major(data, dtype, rows, cols, ld)
                        : TensorView::matrix(data, dtype, rows, cols, ld);
  }
};

/// The scale cell (grid row, grid column) that element (r, c) belongs to under spec.
inline std::pair<int64_t, int64_t> tile_of(const ScaleSpec& spec, int64_t r, int64_t c) {
  switch (spec.granularity) {
    case Granularity::tensor: return {0, 0};
    case Granularity::row: return {r, 0};
    case Granularity::column: return {0, c};
    case Granularity::group: return {r, c / spec.block_cols};
    case Granularity::block: return {r / spec.block_rows, c / spec.block_cols};
  }
  return {0, 0};
}

}  // namespace fp8kit::testing
