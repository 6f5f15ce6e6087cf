// quant_settings.h: what `fp8kit quantize` writes: the checkpoint format, the weight scheme, the FP8
// format and the scale rounding, and which tensors to quantize.
//
// Formats (docs/checkpoints.md has the details and the sources):
//   fp8                 DeepSeek-V3 / HF FineGrainedFP8: X.weight F8 [N, K] + X.weight_scale_inv F32;
//                       block [ceil(N/R), ceil(K/C)] or tensor (rank-0 scalar, weight_block_size null).
//   compressed-tensors  float-quantized: X.weight F8_E4M3 + X.weight_scale in the original weight
//                       dtype; tensor (1,), channel (N, 1), block (ceil(N/R), ceil(K/C)).
//   fbgemm              fbgemm_fp8 row-wise: X.weight F8_E4M3 + X.weight_scale F32 (N, 1).
// UE8M0 (power-of-two) scales are stored as power-of-two values in the format's usual scale dtype
// (F32, or the weight dtype for compressed-tensors), which every loader reads; fp8 adds
// "scale_fmt": "ue8m0" to the config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fp8kit/error.h"
#include "fp8kit/format.h"

namespace fp8kit::checkpoint {

enum class CheckpointFormat : uint8_t { fp8, compressed_tensors, fbgemm };
enum class WeightScheme : uint8_t { block, channel, tensor };

std::string_view format_name(CheckpointFormat f);
std::optional<CheckpointFormat> parse_format(std::string_view s);
std::string_view scheme_name(WeightScheme s);
std::optional<WeightScheme> parse_scheme(std::string_view s);

struct QuantizeSettings {
  CheckpointFormat format = CheckpointFormat::fp8;
  std::optional<WeightScheme> scheme;  // unset: the format's default (block; channel for fbgemm)
  int64_t block_rows = 128, block_cols = 128;
  Fp8Format fmt = Fp8Format::e4m3fn;
  bool ue8m0 = false;
  std::vector<std::string> include, exclude;  // regular expressions (ECMAScript), searched in names

  WeightScheme effective_scheme() const;
};

/// Why these settings cannot be written (a scheme the format has no layout for, e5m2 where loaders
/// assume e4m3, a non-positive block), or yes.
Verdict check_settings(const QuantizeSettings& s);

/// "fp8 block 128x128 e4m3 fp32-scales" for messages and reports.
std::string describe_settings(const QuantizeSettings& s);

/// Parses "128x128" (also "128"); nullopt when malformed.
std::optional<std::pair<int64_t, int64_t>> parse_block(std::string_view s);

}  // namespace fp8kit::checkpoint
