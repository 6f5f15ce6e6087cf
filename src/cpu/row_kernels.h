// row_kernels.h: the vectorised inner loops of the fast CPU quantize / dequantize / silu-mul paths.
// Each works on one contiguous run of a row (n elements), split into groups of `group` elements that
// share a scale (the last group may be shorter; group == 1: one scale per element; group >= n: one
// scale for the run). They compute the bits of numerics.h exactly; the drivers in quantize_fast.cpp,
// dequantize_fast.cpp and silu_mul_fast.cpp choose the runs, scales and threads.
#pragma once

#include <cstdint>

#include "fp8kit/dtype.h"

namespace fp8kit::cpu {

/// fp32 bits of an amax that is NaN or inf (any amax bits >= this value).
inline constexpr uint32_t kNonFiniteAmaxBits = 0x7F800000u;

/// Kernels for one input dtype (f32, bf16, f16) and one FP8 format.
struct QuantizeRowKernels {
  /// amax[g] = max(amax[g], fp32 bits of max |x| over group g): integer max of magnitude bits, whose
  /// order is the order of |x|, with NaN and inf above every finite value.
  void (*group_abs_max)(const void* x, int64_t n, int64_t group, uint32_t* amax);
  /// q[i] = encode(fp32(x[i] / scales[i / group])): IEEE division, round to nearest even, saturate.
  void (*encode_groups)(const void* x, uint8_t* q, int64_t n, int64_t group, const float* scales);
};
const QuantizeRowKernels& quantize_row_kernels(DType in, DType fp8);

/// Kernels for one FP8 format and one output dtype (f32, bf16, f16).
struct DequantizeRowKernels {
  /// y[i] = round_to(out, fp32(decode(q[i]) * scales[i / group])), NaN written canonical.
  void (*decode_groups)(const uint8_t* q, void* y, int64_t n, int64_t group, const float* scales);
};
const DequantizeRowKernels& dequantize_row_kernels(DType fp8, DType out);

/// h[i] = bf16(silu(gate[i]) * up[i]) for bf16 bits (numerics::silu_mul_bf16).
void silu_mul_row(const uint16_t* gate, const uint16_t* up, uint16_t* h, int64_t n);

}  // namespace fp8kit::cpu
