// shard_index.h: model.safetensors.index.json, the map of a sharded checkpoint:
//   {"metadata": {"total_size": BYTES, ...}, "weight_map": {"tensor name": "shard file", ...}}
// total_size is the sum of the tensors' byte sizes (headers excluded), as transformers writes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/strict_json.h"

namespace fp8kit::checkpoint {

inline constexpr const char* kIndexFileName = "model.safetensors.index.json";

struct ShardIndex {
  Json metadata = Json::object();             // kept as read, total_size rewritten
  std::map<std::string, std::string> weight_map;

  /// Shard file names in first-appearance order of the sorted weight map, deduplicated.
  std::vector<std::string> shard_files() const;
};

/// Parses and validates an index: a JSON object (depth <= 64, no duplicate keys) whose optional
/// "metadata" is an object and whose "weight_map" is an object of strings naming plain files (no
/// directories, no "..") ending in ".safetensors". `file` names it in errors.
ShardIndex parse_shard_index(std::string_view text, std::string_view file);

/// Reads the index file at `path` and parses it (parse_shard_index).
ShardIndex read_shard_index(const std::filesystem::path& path);

/// The index JSON with metadata.total_size = `total_size`.
std::string format_shard_index(const ShardIndex& index, uint64_t total_size);

}  // namespace fp8kit::checkpoint
