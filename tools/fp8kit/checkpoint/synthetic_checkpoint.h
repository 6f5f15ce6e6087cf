// synthetic_checkpoint.h: a generated Llama-style checkpoint with realistic shapes and weight
// statistics (normal(0, 0.02) weights, a few outlier input channels and rare large elements, norms
// near 1), for the demo when no packaged model is available, the benchmark and the tests.
#pragma once

#include <cstdint>
#include <filesystem>

#include "fp8kit/error.h"

#include "checkpoint/st_dtype.h"

namespace fp8kit::checkpoint {

struct SyntheticSpec {
  int layers = 2;
  int64_t hidden = 576;        // not a multiple of 128: ragged blocks
  int64_t intermediate = 1536;
  int64_t vocab = 4096;
  int64_t heads = 9, kv_heads = 3;
  StDType dtype = StDType::BF16;
  uint64_t shard_bytes = 0;    // > 0: split into shards of at most this many tensor bytes, with an index
  uint32_t seed = 1;
};

/// Largest size of any one dimension and number of layers generate accepts (demo-sized models; keeps
/// every tensor's byte count far from overflow).
inline constexpr int64_t kMaxSyntheticDim = int64_t{1} << 20;
inline constexpr int kMaxSyntheticLayers = 1000;

/// Why `spec` cannot be generated (a size that is not positive or too large, hidden not a multiple
/// of heads, a dtype other than BF16/F16/F32), or yes.
Verdict check_synthetic_spec(const SyntheticSpec& spec);

/// Writes OUT/{model.safetensors | model-0000i-of-0000n.safetensors + index}, OUT/config.json.
/// OUT must not exist or be empty. Returns the bytes of tensor data written.
uint64_t write_synthetic_checkpoint(const std::filesystem::path& out, const SyntheticSpec& spec, bool quiet);

}  // namespace fp8kit::checkpoint
