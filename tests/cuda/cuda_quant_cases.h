// cuda_quant_cases.h: the machinery of the CUDA quantization tests: hostile inputs in any dtype and
// layout, one run on the scalar CPU reference and one on the GPU with poisoned outputs, and a bitwise
// comparison of every output byte (padding included, which must stay untouched).
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fp8kit/fp8kit.h"
#include "test_support.h"

namespace fp8kit::testing {

/// The seed of this test process: FP8KIT_TEST_SEED if set, else random. Every failure prints it.
inline uint32_t suite_seed() {
  static const uint32_t seed = [] {
    if (const char* s = std::getenv("FP8KIT_TEST_SEED")) return static_cast<uint32_t>(std::stoul(s));
    return static_cast<uint32_t>(std::random_device{}());
  }();
  return seed;
}

inline std::string seed_note() {
  return "seed " + std::to_string(suite_seed()) + " (rerun with FP8KIT_TEST_SEED=" + std::to_string(suite_seed()) + ")";
}

inline constexpr uint8_t kQPoison = 0xA5;
inline constexpr uint8_t kScalePoison = 0x5A;
inline constexpr uint8_t kOutPoison = 0xC3;

/// Host bytes of a matrix (rows x cols, row stride ld, elements of `dtype`) starting `offset`
/// elements into the buffer, so the same bytes can be viewed on the host and on a device.
struct StagedMatrix {
  std::vector<uint8_t> bytes;
  DType dtype = DType::f32;
  int64_t rows = 0, cols = 0, ld = 0, offset = 0;

  static StagedMatrix filled(DType dtype, int64_t rows, int64_t cols, int64_t ld, int64_t offset, uint8_t fill) {
    StagedMatrix m{{}, dtype, rows, cols, ld, offset};
    const int64_t elements = offset + (rows > 0 ? (rows - 1) * ld + cols : 0);
    m.bytes.assign(static_cast<size_t>(std::max<int64_t>(elements, 1) * dtype_size(dtype)), fill);
    return m;
  }
  TensorView view(void* base, const Device& device) const {
    return TensorView::matrix(static_cast<uint8_t*>(base) + offset * dtype_size(dtype), dtype, rows, cols, ld, device);
  }
};

inline float max_finite_of(DType t) { return t == DType::f16 ? 65504.0f : 3.0e38f; }

/// Values for a rows x cols matrix of dtype t with row stride ld, as f32 (t rounds them later):
/// normal values at a per-row magnitude of 2^-20..2^20, 2% of them hostile (zeros of both signs,
/// subnormals of t, +-448, +-464, near t's max, tiny), one row of zeros and one of subnormals; the
/// padding between cols and ld is NaN, so a kernel that reads it fails. No NaN or inf inside.
inline std::vector<float> hostile_values(int64_t rows, int64_t cols, int64_t ld, DType t, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> percent(0, 99);
  const int max_exp = t == DType::f16 ? 10 : 20;
  std::uniform_int_distribution<int> exponent(-max_exp, max_exp);
  const float sub = t == DType::f16 ? 3.0e-6f : 1.0e-39f;
  const float top = max_finite_of(t) * 0.9f;
  const float specials[] = {0.0f, -0.0f, sub, -sub, 448.0f, -448.0f, 464.0f, -464.0f, top, -top, 2.0e-9f, 57344.0f};
  std::uniform_int_distribution<size_t> pick(0, std::size(specials) - 1);
  std::vector<float> v(static_cast<size_t>(std::max<int64_t>(rows * ld, 1)), NAN);
  for (int64_t r = 0; r < rows; ++r) {
    const float scale = std::ldexp(1.0f, exponent(rng));
    for (int64_t c = 0; c < cols; ++c) {
      float x = normal(rng) * scale;
      if (percent(rng) < 2) x = specials[pick(rng)];
      if (rows > 3 && r == 1) x = (c % 2) ? 0.0f : -0.0f;
      if (rows > 3 && r == 2) x = sub * static_cast<float>(1 + c % 7);
      v[static_cast<size_t>(r * ld + c)] = x;
    }
  }
  return v;
}

/// NaN at the last element (a ragged tail when cols is not a multiple of the tile), +inf and -inf at
/// random places inside other rows.
inline void place_nonfinite(std::vector<float>& v, int64_t rows, int64_t cols, int64_t ld, std::mt19937& rng) {
  std::uniform_int_distribution<int64_t> col(0, cols - 1);
  v[static_cast<size_t>((rows - 1) * ld + cols - 1)] = NAN;
  v[static_cast<size_t>((rows / 2) * ld + col(rng))] = INFINITY;
  v[static_cast<size_t>(col(rng))] = -INFINITY;
}

/// Bytes of `values` in dtype t, preceded by `offset` elements of junk.
inline std::vector<uint8_t> dtype_bytes(const std::vector<float>& values, DType t, int64_t offset) {
  std::vector<float> padded(static_cast<size_t>(offset), 1.0f);
  padded.insert(padded.end(), values.begin(), values.end());
  return to_bytes(padded, t);
}

/// A scale buffer for `spec` over a rows x cols matrix: row-major, or column-major with its leading
/// dimension padded to a multiple of 4 plus 4 (the padding must stay untouched).
struct ScaleBuffer {
  std::vector<uint8_t> bytes;
  DType dtype = DType::f32;
  ScaleSpec spec;
  ScaleGridShape grid;
  bool column_major = false;
  int64_t ld = 0;

  static ScaleBuffer make(const ScaleSpec& spec, DType dtype, int64_t rows, int64_t cols, bool column_major, uint8_t fill) {
    ScaleBuffer s;
    s.dtype = dtype;
    s.spec = spec;
    s.grid = scale_grid_shape(rows, cols, spec);
    const bool two_d = spec.granularity == Granularity::group || spec.granularity == Granularity::block;
    s.column_major = column_major && two_d;
    s.ld = s.column_major ? (s.grid.rows + 3) / 4 * 4 + 4 : s.grid.cols;
    const int64_t cells = s.column_major ? s.ld * s.grid.cols : s.grid.rows * s.grid.cols;
    s.bytes.assign(static_cast<size_t>(std::max<int64_t>(cells, 1) * dtype_size(dtype)), fill);
    return s;
  }
  TensorView view(void* data, const Device& device) const {
    switch (spec.granularity) {
      case Granularity::tensor: return TensorView::contiguous(data, dtype, {1}, device);
      case Granularity::row: return TensorView::contiguous(data, dtype, {grid.rows}, device);
      case Granularity::column: return TensorView::contiguous(data, dtype, {grid.cols}, device);
      default:
        return column_major ? TensorView::column_major(data, dtype, grid.rows, grid.cols, ld, device)
                            : TensorView::contiguous(data, dtype, {grid.rows, grid.cols}, device);
    }
  }
};

inline std::string spec_text(const ScaleSpec& s) {
  std::ostringstream out;
  out << granularity_name(s.granularity);
  if (s.granularity == Granularity::group) out << "(" << s.block_cols << ")";
  if (s.granularity == Granularity::block) out << "(" << s.block_rows << "x" << s.block_cols << ")";
  if (s.rounding == ScaleRounding::pow2) out << " pow2";
  return out.str();
}

/// Empty when the byte vectors match; else "<what> " and the first mismatch.
inline std::string compare_bytes(const char* what, const std::vector<uint8_t>& want, const std::vector<uint8_t>& got,
                                 size_t element_bytes, int64_t row_length) {
  const std::string m = first_mismatch(want, got, element_bytes, row_length);
  return m.empty() ? m : std::string(what) + ": " + m;
}

inline QuantizeOptions on_backend(Backend b, float bound = 0.0f, void* stream = nullptr) {
  QuantizeOptions o;
  o.backend = b;
  o.amax_upper_bound = bound;
  o.stream = stream;
  return o;
}

inline Device gpu() { return Device::cuda(0); }

}  // namespace fp8kit::testing
