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

  /// Starts read-ahead of a tensor's bytes / drops them from the resident set after use.
  void prefetch(const TensorInfo& t) const { map_.will_need(header_.buffer_offset() + t.begin, t.nbytes()); }
  void release(const TensorInfo& t) const { map_.release(header_.buffer_offset() + t.begin, t.nbytes()); }
  void release_range(const TensorInfo& t, uint64_t offset, uint64_t bytes) const {
    map_.release(header_.buffer_offset() + t.begin + offset, bytes);
  }

 private:
  MappedFile map_;
  SafetensorsHeader header_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace fp8kit::checkpoint
