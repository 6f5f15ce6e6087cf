// input_file.h: an input file opened read-only and read with pread only.
//
// No memory map: a mapped file that another process truncates raises SIGBUS on the next access to a
// page past its new end, whereas pread reports the short read as an error. The descriptor stays open
// for bulk reads and in-kernel copies. The size, inode and modification time seen at open are kept,
// so check_unchanged() can tell, before any output is committed, that the file was rewritten in place
// while it was being converted (a replaced or removed file does not matter: the open descriptor still
// reads the original).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fp8kit::checkpoint {

class InputFile {
 public:
  /// Opens `path` read-only (O_RDONLY): nothing this process does can change the file.
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// The read-only descriptor (for in-kernel copies and reads).
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  /// Copies [offset, offset + bytes) into `out`; throws naming the file on an error or a short file.
  void read(uint64_t offset, void* out, uint64_t bytes) const;
  /// The bytes [offset, offset + bytes).
  std::vector<uint8_t> read(uint64_t offset, uint64_t bytes) const;

  /// Throws naming the file when its size or modification time differ from those seen at open.
  void check_unchanged() const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  int64_t mtime_sec_ = 0, mtime_nsec_ = 0;
};

}  // namespace fp8kit::checkpoint
