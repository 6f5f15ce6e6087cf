// inspect.h: what a checkpoint holds, tensor by tensor, and (for a high-precision checkpoint) what a
// quantization scheme would do to each tensor, without writing anything.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/conversion.h"
#include "checkpoint/weight_quantizer.h"

namespace fp8kit::checkpoint {

struct InspectedTensor {
  std::string name, dtype, shape, file;
  uint64_t bytes = 0;
  std::string scheme;  // FP8 weight: "block 128x128"...; scale: "scale of X"; else "" (high precision)
  std::string action;  // high precision: "quantize" or "keep (norm)"...
  std::optional<std::pair<float, float>> scale_range;
  std::optional<QuantError> error;  // with --error
};

struct InspectReport {
  std::string path;
  std::string format;  // "fp8", "compressed-tensors", "fbgemm", "high precision", or "fp8 (no config)"
  std::string settings;  // the scheme evaluated (high-precision input)
  std::vector<InspectedTensor> tensors;  // natural name order (layer 2 before layer 10)
  uint64_t tensor_bytes = 0, file_bytes = 0;
  uint64_t quantized_tensor_bytes = 0;  // high precision: tensor bytes after quantization
  size_t fp8_weights = 0, would_quantize = 0;
  // --error summary over the quantized tensors
  double overall_sqnr_db = 0, min_sqnr_db = 0, max_rel_err = 0;
  std::string worst_tensor;
};

InspectReport inspect_checkpoint(const std::filesystem::path& in, const QuantizeSettings& settings, bool measure_error,
                                 DeviceChoice device, bool quiet);

/// Compares names with digit runs as numbers: "layers.2.x" < "layers.10.x".
bool natural_less(const std::string& a, const std::string& b);

}  // namespace fp8kit::checkpoint
