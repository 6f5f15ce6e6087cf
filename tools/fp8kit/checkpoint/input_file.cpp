// input_file.cpp: read-only input through pread.
#include "checkpoint/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "checkpoint/checkpoint_error.h"

namespace fp8kit::checkpoint {

InputFile::InputFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "", "cannot open for reading: ", std::strerror(errno));
  fd_ = fd;
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fd_ = -1;
    fail(path, "", "not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  mtime_sec_ = st.st_mtim.tv_sec;
  mtime_nsec_ = st.st_mtim.tv_nsec;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

InputFile::InputFile(InputFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_(other.size_), mtime_sec_(other.mtime_sec_),
      mtime_nsec_(other.mtime_nsec_) {
  other.fd_ = -1;
  other.size_ = 0;
}

void InputFile::read(uint64_t offset, void* out, uint64_t bytes) const {
  auto* p = static_cast<char*>(out);
  while (bytes > 0) {
    const size_t chunk = bytes > (1ull << 30) ? (1ull << 30) : static_cast<size_t>(bytes);
    const ssize_t n = ::pread(fd_, p, chunk, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail(path_, "", "read failed at byte ", offset, ": ",
           n < 0 ? std::strerror(errno) : "unexpected end of file (was it truncated while being read?)");
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
}

std::vector<uint8_t> InputFile::read(uint64_t offset, uint64_t bytes) const {
  std::vector<uint8_t> out(bytes);
  read(offset, out.data(), bytes);
  return out;
}

void InputFile::check_unchanged() const {
  struct stat st{};
  if (::fstat(fd_, &st) != 0) fail(path_, "", "cannot check the file: ", std::strerror(errno));
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size != size_ || st.st_mtim.tv_sec != mtime_sec_ || st.st_mtim.tv_nsec != mtime_nsec_) {
    fail(path_, "", "changed while it was being read (size ", size_, " -> ", size,
         size == size_ ? " bytes, modified" : " bytes", "); nothing was written, run again on a stable input");
  }
}

}  // namespace fp8kit::checkpoint
