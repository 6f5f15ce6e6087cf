// mapped_file.h: a read-only memory map of a whole file. Pages can be dropped from this process's
// resident set after use (the page cache keeps them), so streaming a file larger than memory keeps
// the resident size bounded. The descriptor stays open for bulk reads and in-kernel copies, which
// avoid one page fault per 4 kB page of the mapping.
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
  /// The read-only descriptor the mapping came from (kept open for in-kernel copies and reads).
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  /// Copies [offset, offset + bytes) into `out` with pread (no page faults on the mapping).
  void read(uint64_t offset, void* out, uint64_t bytes) const;
  /// Drops the whole pages inside [offset, offset + bytes) from the resident set.
  void release(uint64_t offset, uint64_t bytes) const;

 private:
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace fp8kit::checkpoint
