// input_checkpoint.h: a checkpoint to read: one .safetensors file, or a model directory holding a
// single file or shards listed by model.safetensors.index.json, plus config.json when present.
//
// Opening validates every shard header and the index against the shards (each tensor in exactly one
// shard, as the index says) before any output is written. Files are opened read-only and read with pread.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkpoint/safetensors_file.h"
#include "checkpoint/shard_index.h"
#include "checkpoint/strict_json.h"

namespace fp8kit::checkpoint {

struct TensorLocation {
  const SafetensorsFile* file = nullptr;
  const TensorInfo* info = nullptr;
  size_t shard = 0;
};

class InputCheckpoint {
 public:
  /// Opens a .safetensors file or a model directory; throws CheckpointError on any problem
  /// (file-system errors included).
  static InputCheckpoint open(const std::filesystem::path& path);

  bool is_directory() const { return is_directory_; }
  const std::filesystem::path& path() const { return path_; }
  /// The directory holding the shards (the file's directory for a single file).
  const std::filesystem::path& directory() const { return directory_; }
  /// Shards in order; shard_name(i) is the file name (no directory).
  size_t shard_count() const { return shards_.size(); }
  const SafetensorsFile& shard(size_t i) const { return *shards_[i]; }
  const std::string& shard_name(size_t i) const { return shard_names_[i]; }
  const std::optional<ShardIndex>& index() const { return index_; }
  /// config.json of the directory (also read beside a single file, for format detection only).
  const std::optional<Json>& config() const { return config_; }

  /// Where a tensor lives, or nullopt.
  std::optional<TensorLocation> find(const std::string& name) const;

  uint64_t total_tensor_bytes() const;
  uint64_t largest_tensor_bytes() const;
  size_t tensor_count() const { return where_.size(); }

  /// For a directory: the files to carry over unchanged (relative paths), and those left out with the
  /// reason (weights in another format, temporary files).
  std::vector<std::filesystem::path> other_files(const std::filesystem::path& skip_dir) const;
  std::vector<std::pair<std::filesystem::path, std::string>> left_out_files() const;

 private:
  static InputCheckpoint open_checked(const std::filesystem::path& path);
  std::vector<std::filesystem::path> other_files_checked(const std::filesystem::path& skip_dir) const;
  std::vector<std::pair<std::filesystem::path, std::string>> left_out_files_checked() const;

  bool is_directory_ = false;
  std::filesystem::path path_, directory_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::vector<std::string> shard_names_;
  std::optional<ShardIndex> index_;
  std::optional<Json> config_;
  std::unordered_map<std::string, std::pair<size_t, const TensorInfo*>> where_;
};

}  // namespace fp8kit::checkpoint
