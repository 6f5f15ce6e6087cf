// output_target.h: where a conversion writes, checked before any work: OUT must not be IN (also
// through a symlink or a hard link to the same file), an existing OUT needs --force, a directory
// input needs a directory OUT (created if missing), and the destination must accept new files.
// Partial files that a killed run left in the destination are removed first (they do not make OUT
// "not empty"); a run still writing there is refused. If the run fails, even while renaming its
// finished files into place, every file it committed, the directories it created and OUT itself (if
// it created it) are removed again: a failed run leaves the destination as it found it, except for
// files it replaced with --force.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
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
  /// Renames every staged side file into place (after the shards), in the order they were staged.
  void commit_side_files();
  /// Records a file this run renamed into place (a shard), so that a failure removes it again.
  void record_committed(const std::filesystem::path& path) { committed_.push_back(path); }
  /// Marks the run as successful: the output is kept.
  void keep() { keep_ = true; }
  /// Things the user should know (partial files of an interrupted run that were removed).
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::filesystem::path out_;
  bool directory_mode_ = false;
  bool created_dir_ = false;
  bool keep_ = false;
  std::vector<std::filesystem::path> created_subdirs_;
  std::vector<std::unique_ptr<StagedFile>> side_files_;
  std::vector<std::filesystem::path> committed_;
  std::vector<std::string> notes_;

  void check_and_prepare(const InputCheckpoint& in, bool force);
  void stage_copy_checked(const std::filesystem::path& from, const std::filesystem::path& relative);
  void clear_leftovers(const std::filesystem::path& dir, const std::string& name, bool recursive);
};

}  // namespace fp8kit::checkpoint
