// quant_policy.h: which tensors of a high-precision checkpoint get quantized.
//
// Default rule: a tensor is quantized iff it is a 2-D F32/F16/BF16 tensor whose name ends in ".weight"
// and whose module (the name without ".weight") is a linear layer: not an embedding (embed*,
// word/position/token_type embeddings, wte, wpe), not lm_head / output, not a norm (*norm*, ln_*),
// not a router or gate (module "gate", "router", "*_gate", e.g. the MoE router `mlp.gate.weight`;
// `gate_proj` is a linear layer and is quantized). Everything else (1-D tensors, biases, buffers,
// integer tensors, higher ranks) is kept.
// --include RE forces a 1-D or 2-D floating-point tensor whose name matches RE to be quantized;
// --exclude RE keeps a matching tensor and wins over --include.
//
// The expressions run on std::regex (ECMAScript), whose compiler and matcher recurse and copy
// sub-automata without limits, so expressions and names are bounded first (fuzzing found a signed
// overflow inside its compiler and unbounded growth): an expression of at most kMaxPatternBytes,
// repetition counts {m,n} and back-references of at most kMaxRepeatCount, and a product of all
// repetition counts of at most kMaxRepeatProduct; names matched against expressions of at most
// kMaxMatchedNameBytes (a longer tensor name is an error when --include / --exclude is given).
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "checkpoint/quant_settings.h"
#include "checkpoint/safetensors_header.h"

namespace fp8kit::checkpoint {

inline constexpr size_t kMaxPatternBytes = 256;
inline constexpr int64_t kMaxRepeatCount = 100;
inline constexpr int64_t kMaxRepeatProduct = 1000;
inline constexpr size_t kMaxMatchedNameBytes = 1024;

class QuantPolicy {
 public:
  /// Compiles the settings' regular expressions; throws fp8kit::Error naming a malformed one.
  explicit QuantPolicy(const QuantizeSettings& settings);

  /// nullopt when the tensor is quantized; otherwise why it is kept ("norm", "1-D", "empty",
  /// "excluded"...). Throws CheckpointError for a name too long to match against the expressions.
  std::optional<std::string> keep_reason(const TensorInfo& t) const;

 private:
  std::vector<std::regex> include_, exclude_;
};

/// The module a weight belongs to: "model.layers.0.mlp.down_proj.weight" -> "model.layers.0.mlp.down_proj".
std::string module_of(const std::string& tensor_name);

}  // namespace fp8kit::checkpoint
