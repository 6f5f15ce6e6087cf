// staged_file.h: an output file written under a temporary name in its destination directory and
// renamed into place only by commit(). Until then the file is called ".fp8kit-partial.<pid>.<name>",
// so a failed or interrupted run never leaves a file that looks finished: the destructor removes an
// uncommitted file, and SIGINT / SIGTERM / SIGHUP remove every uncommitted file before the process
// exits (install_interrupt_cleanup()). A run killed with SIGKILL cannot clean up; its partial files
// carry an flock(2) lock while their writer lives (taken before the file gets its partial name: it is
// created as ".fp8kit-new.<pid>.<name>", locked, then renamed), so the next run into the same
// destination (remove_stale_partial_files) removes those whose lock is free and refuses to write beside
// those of a run still in progress.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fp8kit::checkpoint {

class StagedFile {
 public:
  /// Creates the temporary file beside `final_path` (exclusively, mode 0644); throws CheckpointError
  /// naming the destination when the directory is not writable.
  explicit StagedFile(std::filesystem::path final_path);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  /// Sets the file's size up front (the tensors are then written at their offsets).
  void resize(uint64_t bytes);
  /// Writes all of `bytes` at `offset`, retrying short writes; throws with the path and errno text.
  void write_at(uint64_t offset, const void* data, uint64_t bytes);
  /// Copies `bytes` from `in_fd` at `in_offset` to `offset` inside the kernel (copy_file_range, as
  /// cp does), falling back to pread/pwrite where the file systems cannot.
  void copy_from(int in_fd, uint64_t in_offset, uint64_t offset, uint64_t bytes);
  /// Closes the file (no more writes); it stays under its temporary name until commit().
  void finish_writing();
  /// Closes (if still open) and renames the temporary file to its final name (replacing an existing file).
  void commit();

  const std::filesystem::path& final_path() const { return final_; }
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  std::filesystem::path final_;
  std::filesystem::path temp_;
  int fd_ = -1;
  int lock_fd_ = -1;  // holds the flock that marks the file as in use, until commit or removal
  int slot_ = -1;     // entry in the interrupt-cleanup table
  bool committed_ = false;
};

/// Installs SIGINT/SIGTERM/SIGHUP handlers that unlink every uncommitted StagedFile and exit with
/// 128 + signal, and ignores SIGXFSZ, so that a write past the file size limit (ulimit -f) fails with
/// EFBIG and is cleaned up like any other write error instead of killing the process. Idempotent.
void install_interrupt_cleanup();

/// Partial files of earlier runs found in a destination.
struct LeftoverPartials {
  std::vector<std::filesystem::path> removed;  // their writer was gone (killed): deleted
  uint64_t removed_bytes = 0;
  std::vector<std::filesystem::path> in_use;   // locked by a run still writing: left alone
};

/// Looks for ".fp8kit-partial.<pid>.<name>" files in `dir` (and its sub-directories when
/// `recursive`; only those staged for `name` when it is not empty) and removes those no live process
/// holds locked: what a run killed with SIGKILL left behind. ".fp8kit-new.<pid>.<name>" files (killed
/// between creating and locking) are removed when process <pid> is gone.
LeftoverPartials remove_stale_partial_files(const std::filesystem::path& dir, const std::string& name, bool recursive);

/// True for the name of a file some run is staging or left staged (".fp8kit-partial.*", ".fp8kit-new.*"):
/// never part of a checkpoint.
bool is_staged_file_name(std::string_view file_name);

/// Registers a directory this run created for its output: the interrupt handler removes it (if
/// empty) after the staged files. Pass an empty path to forget it once the output is committed.
void set_created_output_directory(const std::filesystem::path& dir);

/// Writes a small file (config.json, index) atomically through a StagedFile.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace fp8kit::checkpoint
