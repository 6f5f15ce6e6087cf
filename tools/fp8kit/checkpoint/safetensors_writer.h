// safetensors_writer.h: writes safetensors files the way the reference writer does.
//
// The header always carries "__metadata__" with "format": "pt" (transformers refuses files whose
// metadata lacks a known format), is padded with spaces to a multiple of 8 bytes, and the tensors
// are laid out sorted by descending dtype (the format's alignment order), then by name, so every
// tensor's offset is aligned to its element size. The layout is planned up front from the tensors'
// names, dtypes and shapes; their bytes may then be written in any order (each exactly once), so a
// converter streams one input tensor at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkpoint/safetensors_header.h"
#include "checkpoint/staged_file.h"

namespace fp8kit::checkpoint {

struct TensorSpec {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
};

struct SafetensorsLayout {
  std::string header;                 // JSON padded with spaces to a multiple of 8
  std::vector<TensorInfo> tensors;    // in file order, offsets relative to the buffer
  uint64_t file_size = 0;
  uint64_t buffer_offset() const { return 8 + header.size(); }
  uint64_t tensor_bytes() const { return file_size - buffer_offset(); }
};

/// Plans the file: sorting, offsets, header. `metadata` entries are added to {"format": "pt"}.
/// Throws on duplicate names or an invalid shape; `file` names the destination in errors.
SafetensorsLayout plan_safetensors(std::vector<TensorSpec> tensors, const std::map<std::string, std::string>& metadata,
                                   std::string_view file);

/// Streams tensors into a planned file. The file appears under its final name only at commit().
class SafetensorsWriter {
 public:
  SafetensorsWriter(const std::filesystem::path& path, SafetensorsLayout layout);

  const SafetensorsLayout& layout() const { return layout_; }
  /// Writes one tensor's bytes (exactly its planned size, once).
  void write(const std::string& name, const void* bytes, uint64_t size);
  /// Writes `size` bytes at `offset` inside a tensor (for tensors streamed in pieces).
  void write_part(const std::string& name, uint64_t offset, const void* bytes, uint64_t size);
  /// Copies a tensor's bytes from another file (in_fd at in_offset) inside the kernel.
  void copy(const std::string& name, int in_fd, uint64_t in_offset);
  /// Checks every tensor was written in full and closes the file (still under its temporary name).
  void finish();
  /// Renames the finished file into place.
  void commit() { file_.commit(); }
  const std::filesystem::path& path() const { return file_.final_path(); }

 private:
  SafetensorsLayout layout_;
  StagedFile file_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<uint64_t> written_;  // bytes written per tensor
};

}  // namespace fp8kit::checkpoint
