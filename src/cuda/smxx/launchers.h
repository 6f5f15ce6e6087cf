// launchers.h: the host entry of each smxx kernel family, called by smxx_backend.cpp once a problem is
// validated. *_fits says whether a family's vectorised path can take a problem (sizes, alignment);
// the generic launchers take everything else.
#pragma once

#include <cstdint>

#include "core/problem.h"
#include "cuda/smxx/kernel_params.h"
#include "cuda/smxx/launch_support.h"
#include "fp8kit/format.h"

namespace fp8kit::cuda::smxx {

inline ScaleTarget scale_target(const core::ScaleGridRef& s) {
  return {s.data, s.row_stride, s.col_stride, s.dtype == DType::ue8m0};
}

inline ScaleSource scale_source(const core::ScaleGridRef& s) {
  return {s.data, s.row_stride, s.col_stride, s.dtype == DType::ue8m0};
}

inline ScaleRule scale_rule(DType fp8, ScaleRounding rounding, float amax_upper_bound) {
  const float fmax = traits(format_of(fp8)).max_finite;
  return {fmax, numerics::ScaleDivisor::of(fmax), amax_upper_bound, rounding == ScaleRounding::pow2};
}

/// Sizes the 32-bit indices of the vectorised kernels can address (rows and columns below 2^30).
inline bool fits_index32(int64_t rows, int64_t cols) { return rows < kMaxIndex32 && cols < kMaxIndex32; }

/// Elements of x's dtype in one 16-byte vector.
inline int64_t vector_width(DType t) { return t == DType::f32 ? 4 : 8; }

// quantize_group.cu: 1 x group tiles (group, per-row and 1 x C_b block granularities).
bool quantize_group_fits(const core::MatrixRef& x, const core::MatrixRef& q, int64_t group);
void launch_quantize_group(const core::QuantizeProblem& p, int64_t group, const LaunchContext& c);

// quantize_block.cu: R_b x C_b tiles, one thread block each (block and per-row granularities).
bool quantize_block_fits(const core::QuantizeProblem& p);
void launch_quantize_block(const core::QuantizeProblem& p, const LaunchContext& c);

// quantize_tensor.cu: one scale for the whole tensor (amax pass, then quantize pass).
bool quantize_tensor_fits(const core::QuantizeProblem& p);
void launch_quantize_tensor(const core::QuantizeProblem& p, const LaunchContext& c);

// quantize_generic.cu: any tile, any alignment, 64-bit indices.
void launch_quantize_generic(const core::QuantizeProblem& p, const LaunchContext& c);

// dequantize.cu: every granularity.
void launch_dequantize(const core::DequantizeProblem& p, const LaunchContext& c);

// silu_mul.cu: the plain SiLU-mul and the fused SiLU-mul + 1 x G quantization.
void launch_silu_mul(const core::SiluMulProblem& p, const LaunchContext& c);
void launch_silu_mul_quantize(const core::SiluMulQuantizeProblem& p, const LaunchContext& c);

}  // namespace fp8kit::cuda::smxx
