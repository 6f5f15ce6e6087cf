// problem.h: validated, normalised descriptions of each operation, the seam between the public API
// (src/core) and the backends (src/cpu, src/cuda). Backends see only these structs, never TensorView.
#pragma once

#include <cstdint>

#include "fp8kit/gemm.h"
#include "fp8kit/quantize.h"

namespace fp8kit::core {

/// A row-major matrix with unit column stride: element (r, c) at data + (r * ld + c) * size.
struct MatrixRef {
  void* data = nullptr;
  DType dtype = DType::f32;
  int64_t rows = 0, cols = 0, ld = 0;

  template <typename T>
  T* row(int64_t r) const {
    return static_cast<T*>(data) + r * ld;
  }
};

/// A grid of scales: cell (i, j) at data + (i * row_stride + j * col_stride) * size. Strides may be 0
/// (broadcast) and the grid may be column-major.
struct ScaleGridRef {
  void* data = nullptr;
  DType dtype = DType::f32;  // f32 or ue8m0
  int64_t rows = 0, cols = 0, row_stride = 0, col_stride = 0;

  int64_t offset(int64_t i, int64_t j) const { return i * row_stride + j * col_stride; }
};

struct QuantizeProblem {
  MatrixRef x;  // f32 / f16 / bf16 [R, C]
  MatrixRef q;  // e4m3fn / e5m2 [R, C]
  ScaleGridRef s;
  Granularity granularity = Granularity::group;
  int64_t block_rows = 1, block_cols = 1;  // resolved tile of one scale; both >= 1
  ScaleRounding rounding = ScaleRounding::exact;
  float amax_upper_bound = 0.0f;
  Device device;
  void* stream = nullptr;
  bool pointers_known = false;  // the options' guarantee: no pointer query before launching
};

struct DequantizeProblem {
  MatrixRef q;  // e4m3fn / e5m2 [R, C]
  ScaleGridRef s;
  MatrixRef y;  // f32 / f16 / bf16 [R, C]
  Granularity granularity = Granularity::group;
  int64_t block_rows = 1, block_cols = 1;
  Device device;
  void* stream = nullptr;
  bool pointers_known = false;  // the options' guarantee: no pointer query before launching
};

/// gate_up bf16 [R, 2I]: gate = columns [0, I), up = columns [I, 2I). q [R, I], s group grid.
struct SiluMulQuantizeProblem {
  MatrixRef gate_up;
  MatrixRef q;
  ScaleGridRef s;
  int64_t group = 128;
  ScaleRounding rounding = ScaleRounding::exact;
  float amax_upper_bound = 0.0f;
  Device device;
  void* stream = nullptr;
  bool pointers_known = false;  // the options' guarantee: no pointer query before launching
};

struct SiluMulProblem {
  MatrixRef gate_up;  // bf16 [R, 2I]
  MatrixRef h;        // bf16 [R, I]
  Device device;
  void* stream = nullptr;
  bool pointers_known = false;  // the options' guarantee: no pointer query before launching
};

struct GemmProblem {
  MatrixRef a;  // e4m3fn [M, K]
  MatrixRef b;  // e4m3fn [N, K]
  MatrixRef d;  // bf16 / f16 / f32 [M, N]
  ScaleGridRef a_scales;  // block: [M, ceil(K/block_k)]; row: [M, 1]
  ScaleGridRef b_scales;  // block: [ceil(N/block_n), ceil(K/block_k)]; row: [N, 1]
  const void* bias = nullptr;  // [N], contiguous, or nullptr
  DType bias_dtype = DType::f32;
  GemmScaling scaling = GemmScaling::block;
  int64_t block_n = 128, block_k = 128;
  Device device;
  void* stream = nullptr;
  bool pointers_known = false;  // the options' guarantee: no pointer query before launching
  bool constant_b = false;      // the options' promise: B and Bs are not written by a kernel still running

  int64_t m() const { return a.rows; }
  int64_t n() const { return b.rows; }
  int64_t k() const { return a.cols; }
};

}  // namespace fp8kit::core
