// element_io.h: scalar loads and stores of matrix elements and scales in any supported dtype, for the
// CPU reference (and the fast paths' scale and bias handling). Stores follow the contract: NaN is
// written as the canonical NaN of the type.
#pragma once

#include <cstdint>
#include <cstring>

#include "common/numerics.h"
#include "core/problem.h"
#include "fp8kit/format.h"

namespace fp8kit::cpu {

/// Address of element (r, c) of m.
inline void* element_address(const core::MatrixRef& m, int64_t r, int64_t c) {
  return static_cast<char*>(m.data) + (r * m.ld + c) * dtype_size(m.dtype);
}

inline float load_element(const core::MatrixRef& m, int64_t r, int64_t c) {
  switch (m.dtype) {
    case DType::f32: return m.row<const float>(r)[c];
    case DType::bf16: return numerics::bf16_bits_to_float(m.row<const uint16_t>(r)[c]);
    case DType::f16: return numerics::f16_bits_to_float(m.row<const uint16_t>(r)[c]);
    case DType::e4m3fn: return numerics::decode_e4m3fn(m.row<const uint8_t>(r)[c]);
    case DType::e5m2: return numerics::decode_e5m2(m.row<const uint8_t>(r)[c]);
    case DType::ue8m0: return numerics::ue8m0_to_float(m.row<const uint8_t>(r)[c]);
  }
  return 0.0f;
}

/// Stores v rounded to the high-precision dtype of m (f32, bf16 or f16).
inline void store_high_precision(const core::MatrixRef& m, int64_t r, int64_t c, float v) {
  switch (m.dtype) {
    case DType::f32: m.row<float>(r)[c] = numerics::canonicalize_f32(v); return;
    case DType::bf16: m.row<uint16_t>(r)[c] = numerics::float_to_bf16_bits(v); return;
    case DType::f16: m.row<uint16_t>(r)[c] = numerics::float_to_f16_bits(v); return;
    default: return;
  }
}

inline uint8_t encode(DType fp8, float v) {
  return fp8 == DType::e5m2 ? numerics::encode_e5m2(v) : numerics::encode_e4m3fn(v);
}

inline float decode(DType fp8, uint8_t code) {
  return fp8 == DType::e5m2 ? numerics::decode_e5m2(code) : numerics::decode_e4m3fn(code);
}

inline float load_scale(const core::ScaleGridRef& s, int64_t i, int64_t j) {
  const int64_t off = s.offset(i, j);
  if (s.dtype == DType::ue8m0) return numerics::ue8m0_to_float(static_cast<const uint8_t*>(s.data)[off]);
  return static_cast<const float*>(s.data)[off];
}

inline void store_scale(const core::ScaleGridRef& s, int64_t i, int64_t j, float v) {
  const int64_t off = s.offset(i, j);
  if (s.dtype == DType::ue8m0) {
    static_cast<uint8_t*>(s.data)[off] = numerics::ue8m0_from_pow2(v);
  } else {
    static_cast<float*>(s.data)[off] = numerics::canonicalize_f32(v);
  }
}

inline float load_bias(const core::GemmProblem& p, int64_t n) {
  switch (p.bias_dtype) {
    case DType::bf16: return numerics::bf16_bits_to_float(static_cast<const uint16_t*>(p.bias)[n]);
    case DType::f16: return numerics::f16_bits_to_float(static_cast<const uint16_t*>(p.bias)[n]);
    default: return static_cast<const float*>(p.bias)[n];
  }
}

/// The scale of a group with this accumulated amax, per the contract.
inline float group_scale(const numerics::AmaxAccumulator& acc, DType fp8, ScaleRounding rounding, float bound) {
  const float fmax = traits(format_of(fp8)).max_finite;
  const float amax = acc.effective(bound);
  return rounding == ScaleRounding::pow2 ? numerics::scale_pow2(amax, fmax) : numerics::scale_exact(amax, fmax);
}

}  // namespace fp8kit::cpu
