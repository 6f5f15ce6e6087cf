// format_layout.h: how each FP8 checkpoint format names and shapes a quantized weight's scale, the
// quantization_config it puts in config.json, and how a checkpoint's format is recognised.
//
// Sources: formats-and-bindings.md section 2 (DeepSeek-V3 README_WEIGHTS, transformers
// FineGrainedFP8Config / FbgemmFp8Config, compressed-tensors initialize.py), docs/checkpoints.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "checkpoint/input_checkpoint.h"
#include "checkpoint/quant_settings.h"
#include "checkpoint/safetensors_header.h"
#include "checkpoint/strict_json.h"
#include "fp8kit/quantize.h"

namespace fp8kit::checkpoint {

/// A quantized weight's companion scale tensor and the library spec that produces it.
struct ScaleLayout {
  std::string name;            // "X.weight_scale_inv" (fp8) or "X.weight_scale"
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;  // as stored in the file
  ScaleSpec spec;              // granularity and rounding for fp8kit::quantize
  int64_t rows = 0, cols = 0;  // the weight seen as a matrix
};

/// The scale of `weight` (1-D [n] is a [1, n] matrix) under `settings`.
ScaleLayout scale_layout(const TensorInfo& weight, const QuantizeSettings& settings);

/// The "quantization_config" object for config.json. `kept_modules`: modules with a 2-D weight that
/// stays high precision (lm_head, routers...), listed as not converted / ignored so loaders keep them.
Json quantization_config(const QuantizeSettings& settings, const std::vector<std::string>& kept_modules);

/// What config.json says about an FP8 checkpoint (dequantize, inspect).
struct DetectedFormat {
  std::optional<CheckpointFormat> format;            // from quantization_config.quant_method
  std::optional<std::pair<int64_t, int64_t>> block;  // weight_block_size / block_structure
  std::optional<int64_t> group_size;                 // compressed-tensors group strategy
  bool ue8m0 = false;
};

/// Reads quantization_config (or the older compression_config) of a config.json object; throws
/// CheckpointError naming `config_file` if it is present but not an FP8 method this tool knows.
DetectedFormat detect_format(const std::optional<Json>& config, const std::string& config_file);

/// Key of the shard metadata entry that repeats the quantization_config (JSON text), so a single
/// .safetensors file written by fp8kit describes itself without its config.json.
inline constexpr const char* kMetadataQuantizationKey = "quantization_config";

/// The format of a checkpoint: from config.json's quantization_config when it has one, else from
/// the first shard's metadata entry written by fp8kit, else nothing (shapes decide).
DetectedFormat detect_checkpoint_format(const InputCheckpoint& in);

/// Partner scale names of a weight, in the order they are looked for.
std::vector<std::string> scale_names_of(const std::string& weight_name);

/// How a stored scale grid maps onto its [rows, cols] weight: the spec, or a reason it does not fit.
struct ScaleFit {
  std::optional<ScaleSpec> spec;
  std::string problem;
  std::string scheme;  // "block 128x128", "channel", "tensor" for reports
};
ScaleFit fit_scale(const std::vector<int64_t>& scale_shape, int64_t rows, int64_t cols, const DetectedFormat& hint);

/// Rows and columns of a weight seen as a matrix (1-D [n] -> [1, n]; rank 0 -> [1, 1]).
std::pair<int64_t, int64_t> matrix_shape(const std::vector<int64_t>& shape);

}  // namespace fp8kit::checkpoint
