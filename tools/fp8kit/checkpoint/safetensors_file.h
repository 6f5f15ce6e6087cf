// safetensors_file.h: a validated safetensors file, opened read-only and read with pread.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "checkpoint/input_file.h"
#include "checkpoint/safetensors_header.h"

namespace fp8kit::checkpoint {

class SafetensorsFile {
 public:
  /// Opens `path`, reads and validates its header (safetensors_header.h lists the rules); throws
  /// CheckpointError.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  uint64_t file_size() const { return file_.size(); }
  const SafetensorsHeader& header() const { return header_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  /// The tensor called `name`, or nullptr.
  const TensorInfo* find(const std::string& name) const;

  /// The descriptor and absolute file offset of a tensor's bytes (for in-kernel copies).
  int fd() const { return file_.fd(); }
  uint64_t file_offset(const TensorInfo& t) const { return header_.buffer_offset() + t.begin; }
  /// Reads a tensor's bytes into `out` (not necessarily aligned in the file: other writers exist).
  void read(const TensorInfo& t, void* out) const { file_.read(file_offset(t), out, t.nbytes()); }
  /// A tensor's bytes (small tensors: scales, zero points).
  std::vector<uint8_t> read(const TensorInfo& t) const { return file_.read(file_offset(t), t.nbytes()); }

  /// Throws when the file was modified in place since it was opened (InputFile::check_unchanged).
  void check_unchanged() const { file_.check_unchanged(); }

 private:
  InputFile file_;
  SafetensorsHeader header_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace fp8kit::checkpoint
