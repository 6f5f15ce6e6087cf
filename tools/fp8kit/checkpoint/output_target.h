// output_target.h: where a conversion writes, checked before any work: OUT must not be IN (also
// through a symlink or a hard link to the same file), an existing OUT needs --force, a directory
// input needs a directory OUT (created if missing; removed again if the run fails before anything
// was committed), and the destination must accept new files.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "checkpoint/input_checkpoint.h"
#include "checkpoint/staged_file.h"

namespace fp8kit::checkpoint {

class OutputTarget {
 public:
  /// Validates `out` for `in`; creates the output directory for a directory input.
  OutputTarget(const InputCheckpoint& in, const std::filesystem::path& out, bool force);
  ~OutputTarget();
  OutputTarget(const OutputTarget&) = delete;
  OutputTarget& operator=(const OutputTarget&) = delete;

  bool is_directory() const { return directory_mode_; }
  /// The output path of an input shard (the OUT file itself for a single-file input).
  std::filesystem::path shard_path(const std::string& shard_name) const;
  const std::filesystem::path& path() const { return out_; }

  /// Stages a copy of a side file (relative to the input directory).
  void stage_copy(const std::filesystem::path& from, const std::filesystem::path& relative);
  /// Stages a small generated file (config.json, index) at `relative`.
  void stage_text(const std::filesystem::path& relative, const std::string& contents);
  /// Renames every staged side file into place (after the shards).
  void commit_side_files();
  /// Marks the run as successful: the output directory is kept.
  void keep() { keep_ = true; }

 private:
  std::filesystem::path out_;
  bool directory_mode_ = false;
  bool created_dir_ = false;
  bool keep_ = false;
  std::vector<std::filesystem::path> created_subdirs_;
  std::vector<std::unique_ptr<StagedFile>> side_files_;
};

}  // namespace fp8kit::checkpoint
