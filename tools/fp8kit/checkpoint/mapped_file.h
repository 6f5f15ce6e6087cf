// mapped_file.h: a read-only memory map of a whole file. Pages can be dropped from this process's
// resident set after use (the page cache keeps them), so streaming a file larger than memory keeps
// the resident size bounded.
#pragma once

#include <cstdint>
#include <string>

namespace fp8kit::checkpoint {

class MappedFile {
 public:
  /// Maps `path` read-only (PROT_READ, MAP_PRIVATE): nothing this process does can change the file.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  /// Tells the kernel the range [offset, offset + bytes) is read next (sequential read-ahead).
  void will_need(uint64_t offset, uint64_t bytes) const;
  /// Drops the whole pages inside [offset, offset + bytes) from the resident set.
  void release(uint64_t offset, uint64_t bytes) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace fp8kit::checkpoint
