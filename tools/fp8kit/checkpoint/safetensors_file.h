// safetensors_file.h: a validated, memory-mapped safetensors file (read-only).
#pragma once

#include <string>
#include <unordered_map>

#include "checkpoint/mapped_file.h"
#include "checkpoint/safetensors_header.h"

namespace fp8kit::checkpoint {

class SafetensorsFile {
 public:
  /// Maps and validates `path` (safetensors_header.h lists the rules); throws CheckpointError.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return map_.path(); }
  uint64_t file_size() const { return map_.size(); }
  const SafetensorsHeader& header() const { return header_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  /// The tensor called `name`, or nullptr.
  const TensorInfo* find(const std::string& name) const;

  /// The tensor's bytes inside the mapping (not necessarily aligned: other writers exist).
  const uint8_t* data(const TensorInfo& t) const { return map_.data() + header_.buffer_offset() + t.begin; }

  /// The descriptor and absolute file offset of a tensor's bytes (for in-kernel copies).
  int fd() const { return map_.fd(); }
  uint64_t file_offset(const TensorInfo& t) const { return header_.buffer_offset() + t.begin; }
  /// Reads a tensor's bytes into `out` (pread: faster than faulting the mapping in page by page).
  void read(const TensorInfo& t, void* out) const { map_.read(file_offset(t), out, t.nbytes()); }

 private:
  MappedFile map_;
  SafetensorsHeader header_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace fp8kit::checkpoint
