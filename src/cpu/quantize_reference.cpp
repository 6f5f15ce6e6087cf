// quantize_reference.cpp: the scalar reference of quantize, dequantize and the fused SiLU-mul
// quantization. One generic loop over scale tiles serves every granularity; clarity over speed.
#include <algorithm>

#include "cpu/cpu_backend.h"
#include "cpu/element_io.h"

namespace fp8kit::cpu {
namespace {

/// Quantizes every tile of `x` (values produced by `value(r, c)`) into q and s.
template <typename ValueFn>
void quantize_tiles(ValueFn value, const core::MatrixRef& q, const core::ScaleGridRef& s, int64_t tile_rows,
                    int64_t tile_cols, ScaleRounding rounding, float bound) {
  for (int64_t gi = 0; gi < s.rows; ++gi) {
    for (int64_t gj = 0; gj < s.cols; ++gj) {
      const int64_t r0 = gi * tile_rows, r1 = std::min(r0 + tile_rows, q.rows);
      const int64_t c0 = gj * tile_cols, c1 = std::min(c0 + tile_cols, q.cols);
      numerics::AmaxAccumulator acc;
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = c0; c < c1; ++c) acc.add(value(r, c));
      }
      const float scale = group_scale(acc, q.dtype, rounding, bound);
      store_scale(s, gi, gj, scale);
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = c0; c < c1; ++c) {
          q.row<uint8_t>(r)[c] = encode(q.dtype, numerics::div_rn(value(r, c), scale));
        }
      }
    }
  }
}

}  // namespace

void quantize_reference(const core::QuantizeProblem& p) {
  auto value = [&](int64_t r, int64_t c) { return load_element(p.x, r, c); };
  quantize_tiles(value, p.q, p.s, p.block_rows, p.block_cols, p.rounding, p.amax_upper_bound);
}

void dequantize_reference(const core::DequantizeProblem& p) {
  for (int64_t r = 0; r < p.q.rows; ++r) {
    for (int64_t c = 0; c < p.q.cols; ++c) {
      const float s = load_scale(p.s, r / p.block_rows, c / p.block_cols);
      store_high_precision(p.y, r, c, numerics::mul_rn(load_element(p.q, r, c), s));
    }
  }
}

void silu_mul_reference(const core::SiluMulProblem& p) {
  const int64_t inter = p.h.cols;
  for (int64_t r = 0; r < p.h.rows; ++r) {
    for (int64_t c = 0; c < inter; ++c) {
      p.h.row<uint16_t>(r)[c] =
          numerics::silu_mul_bf16(load_element(p.gate_up, r, c), load_element(p.gate_up, r, c + inter));
    }
  }
}

void silu_mul_quantize_reference(const core::SiluMulQuantizeProblem& p) {
  const int64_t inter = p.q.cols;
  auto value = [&](int64_t r, int64_t c) {
    const uint16_t h = numerics::silu_mul_bf16(load_element(p.gate_up, r, c), load_element(p.gate_up, r, c + inter));
    return numerics::bf16_bits_to_float(h);
  };
  quantize_tiles(value, p.q, p.s, 1, p.group, p.rounding, p.amax_upper_bound);
}

}  // namespace fp8kit::cpu
