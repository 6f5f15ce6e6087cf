// fp8kit/quantize.h: quantize high-precision tensors to FP8 with scales, and dequantize them back.
//
// The numerics (scale rule, rounding, saturation, zero/NaN/inf groups) are the contract in
// docs/numerics.md; every backend follows it bit for bit.
//
// Shapes. A tensor x of shape [d0, ..., dn-2, C] is seen as a matrix of R = d0*...*dn-2 rows and C
// columns (the last dimension must be contiguous; leading dimensions must collapse into one row
// stride). A scale s is the dequantization multiplier: x ~= decode(q) * s. Its shape per granularity:
//   tensor  one element (any rank)
//   row     R elements:  [R], [R, 1], or x's leading dims (+ [1])
//   column  C elements:  [C], [1, C] or [C, 1] (a transposed weight with per-output-channel scales)
//   group   1 x G groups along the last dim: [R, ceil(C/G)] (or leading dims + [ceil(C/G)])
//   block   R_b x C_b tiles: [ceil(R/R_b), ceil(C/C_b)]
// Scale grids may be row-major or column-major (M-major) with a padded leading dimension: their
// strides say which. fp32 scales are DType::f32; DType::ue8m0 stores power-of-two scales as bytes.
#pragma once

#include <cstdint>

#include "fp8kit/backend.h"
#include "fp8kit/error.h"
#include "fp8kit/tensor.h"

namespace fp8kit {

enum class Granularity : uint8_t { tensor, row, column, group, block };

/// exact: s = fp32(amax / fmax).  pow2 (UE8M0): s = 2^ceil(log2(amax / fmax)).
enum class ScaleRounding : uint8_t { exact, pow2 };

struct ScaleSpec {
  Granularity granularity = Granularity::group;
  int64_t block_rows = 1;    // block: rows per tile
  int64_t block_cols = 128;  // group: G; block: columns per tile
  ScaleRounding rounding = ScaleRounding::exact;

  static ScaleSpec per_tensor() { return {Granularity::tensor, 0, 0, ScaleRounding::exact}; }
  static ScaleSpec per_row() { return {Granularity::row, 1, 0, ScaleRounding::exact}; }
  static ScaleSpec per_column() { return {Granularity::column, 0, 1, ScaleRounding::exact}; }
  static ScaleSpec group(int64_t g = 128) { return {Granularity::group, 1, g, ScaleRounding::exact}; }
  static ScaleSpec block(int64_t rows = 128, int64_t cols = 128) {
    return {Granularity::block, rows, cols, ScaleRounding::exact};
  }
  ScaleSpec pow2() const {
    ScaleSpec s = *this;
    s.rounding = ScaleRounding::pow2;
    return s;
  }
};

std::string_view granularity_name(Granularity g);

struct QuantizeOptions {
  /// If > 0, amax is clamped to this bound before the scale is computed (FBGEMM's scale_ub), so
  /// larger values saturate to +-fmax. 0 means no bound.
  float amax_upper_bound = 0.0f;
  Backend backend = Backend::automatic;
  void* stream = nullptr;  // cudaStream_t for CUDA tensors; nullptr = the legacy default stream
  /// The caller guarantees that every pointer is memory the tensors' device can use (a framework's
  /// own tensors, as the Python layer passes them). The CUDA backends then skip their per-pointer
  /// cudaPointerGetAttributes query, a measurable share of a decode-sized call; a wrong guarantee
  /// faults the CUDA context instead of raising an error.
  bool pointers_known = false;
};

struct DequantizeOptions {
  Backend backend = Backend::automatic;
  void* stream = nullptr;
  bool pointers_known = false;  // as QuantizeOptions::pointers_known
};

/// q = encode(x / s) per the spec. x: f32/f16/bf16; q: e4m3fn/e5m2 with x's shape; scales: f32, or
/// ue8m0 bytes when spec.rounding == pow2. All on one device.
void quantize(const TensorView& x, const TensorView& q, const TensorView& scales, const ScaleSpec& spec,
              const QuantizeOptions& options = {});

/// y = round_to(y.dtype, decode(q) * s). y: f32/f16/bf16 with q's shape.
void dequantize(const TensorView& q, const TensorView& scales, const TensorView& y, const ScaleSpec& spec,
                const DequantizeOptions& options = {});

/// Fused MLP activation + group quantization: h = silu(gate) * up rounded to bf16, then quantized
/// per 1 x G group. gate_up: bf16 [R, 2*I] (gate in columns [0, I), up in [I, 2I)); q: [R, I];
/// scales: group grid of [R, I]. Bit-identical to silu_mul() followed by quantize().
void silu_mul_quantize(const TensorView& gate_up, const TensorView& q, const TensorView& scales,
                       const ScaleSpec& spec, const QuantizeOptions& options = {});

/// The unfused first step: h[R, I] (bf16) = bf16(silu(gate) * up) from gate_up [R, 2*I] (bf16).
void silu_mul(const TensorView& gate_up, const TensorView& h, const QuantizeOptions& options = {});

/// The reason quantize()/dequantize() would refuse these arguments, checked before any work.
Verdict can_quantize(const TensorView& x, const TensorView& q, const TensorView& scales, const ScaleSpec& spec,
                     const QuantizeOptions& options = {});
Verdict can_dequantize(const TensorView& q, const TensorView& scales, const TensorView& y, const ScaleSpec& spec,
                       const DequantizeOptions& options = {});

/// Shape of the scale grid [grid_rows, grid_cols] for a rows x cols matrix under `spec`.
struct ScaleGridShape {
  int64_t rows = 0, cols = 0;
};
ScaleGridShape scale_grid_shape(int64_t rows, int64_t cols, const ScaleSpec& spec);

}  // namespace fp8kit
