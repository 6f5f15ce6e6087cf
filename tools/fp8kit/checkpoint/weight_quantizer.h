// weight_quantizer.h: quantizes one high-precision tensor into the bytes a checkpoint format stores
// (FP8 codes + scales in the format's scale dtype), and measures what quantization did to it.
//
// Scales follow the numerics contract (docs/numerics.md). Where the format stores scales in 16 bits
// (compressed-tensors with a bf16/f16 model), each fp32 scale is rounded up to the nearest 16-bit
// value and the tiles whose scale changed are re-encoded with the stored scale, so that
// decode(q) * stored_scale is exactly the contract's dequantization of what is written.
// A tensor holding NaN or inf is refused (it would need a NaN scale).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/format_layout.h"
#include "checkpoint/tensor_engine.h"

namespace fp8kit::checkpoint {

/// Reusable buffers: they grow to the largest tensor and are kept, so a conversion allocates once.
struct QuantizeBuffers {
  std::vector<uint8_t> input;          // the tensor read from its file (callers fill it)
  std::vector<uint8_t> aligned_input;  // used only when `data` is not element-aligned
  std::vector<uint8_t> codes;          // FP8 codes of the tensor
  std::vector<float> scales;           // contract scales (fp32)
  std::vector<uint8_t> stored_scales;  // scales in the stored dtype
  std::vector<float> roundtrip;        // dequantized values (error measurement only)
};

/// Quantizes the tensor at `data` (dtype/shape of `info`, possibly unaligned: then it is copied) into
/// buffers.codes and buffers.stored_scales. `file` names the source in errors.
void quantize_weight(TensorEngine& engine, const uint8_t* data, const TensorInfo& info, const ScaleLayout& layout,
                     Fp8Format fmt, QuantizeBuffers& buffers, const std::string& file);

struct QuantError {
  double sqnr_db = 0;          // 10 log10(sum x^2 / sum (x - x^)^2); +inf when exact
  double max_rel_err = 0;      // max |x - x^| / max |x|
  double underflow = 0;        // share of non-zero x that became 0
  double signal = 0, noise = 0;  // sums of squares, for summaries
  int64_t count = 0;
};

/// After quantize_weight: dequantizes buffers.codes with the stored scales and compares with x.
QuantError measure_error(TensorEngine& engine, const uint8_t* data, const TensorInfo& info, const ScaleLayout& layout,
                         Fp8Format fmt, QuantizeBuffers& buffers);

/// Reads element i of a little-endian F32/F16/BF16 buffer (any alignment) as fp32.
float load_float(const uint8_t* data, StDType dtype, int64_t i);

/// Min and max of a scale tensor's values (F32/F16/BF16/F8_E8M0) as fp32.
std::pair<float, float> scale_range(const uint8_t* data, StDType dtype, int64_t count);

}  // namespace fp8kit::checkpoint
