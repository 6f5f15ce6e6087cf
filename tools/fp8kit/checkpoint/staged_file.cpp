// staged_file.cpp: temporary output files, renamed into place when complete.
#include "checkpoint/staged_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <vector>

#include "checkpoint/checkpoint_error.h"

namespace fp8kit::checkpoint {
namespace {

// Paths of uncommitted files, readable from a signal handler: fixed-size C strings, each guarded by
// an atomic flag set only once the path is complete.
constexpr int kSlots = 2048;  // a model directory's shards are all staged before the first rename
constexpr size_t kPathMax = 1024;
std::array<std::array<char, kPathMax>, kSlots> g_paths{};
std::array<std::atomic<bool>, kSlots> g_live{};
std::mutex g_slot_mutex;

int take_slot(const std::string& path) {
  if (path.size() + 1 > kPathMax) return -1;
  std::lock_guard<std::mutex> lock(g_slot_mutex);
  for (int i = 0; i < kSlots; ++i) {
    if (g_live[i].load()) continue;
    std::memcpy(g_paths[i].data(), path.c_str(), path.size() + 1);
    g_live[i].store(true);
    return i;
  }
  return -1;  // more than kSlots files staged at once: the destructor still cleans up
}

void free_slot(int slot) {
  if (slot >= 0) g_live[slot].store(false);
}

std::array<char, kPathMax> g_created_dir{};
std::atomic<bool> g_created_dir_live{false};

extern "C" void remove_partial_files(int sig) {
  for (int i = 0; i < kSlots; ++i) {
    if (g_live[i].load()) ::unlink(g_paths[i].data());
  }
  if (g_created_dir_live.load()) ::rmdir(g_created_dir.data());
  ::_exit(128 + sig);
}

}  // namespace

void install_interrupt_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa{};
    sa.sa_handler = remove_partial_files;
    sigemptyset(&sa.sa_mask);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  });
}

void set_created_output_directory(const std::filesystem::path& dir) {
  g_created_dir_live.store(false);
  const std::string s = dir.string();
  if (s.empty() || s.size() + 1 > kPathMax) return;
  std::memcpy(g_created_dir.data(), s.c_str(), s.size() + 1);
  g_created_dir_live.store(true);
}

StagedFile::StagedFile(std::filesystem::path final_path) : final_(std::move(final_path)) {
  const std::filesystem::path dir = final_.has_parent_path() ? final_.parent_path() : std::filesystem::path(".");
  temp_ = dir / (".fp8kit-partial." + std::to_string(::getpid()) + "." + final_.filename().string());
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(final_.string(), "", "cannot create an output file in ", dir.string(), ": ", std::strerror(errno));
  slot_ = take_slot(temp_.string());
}

StagedFile::~StagedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
  free_slot(slot_);
}

void StagedFile::resize(uint64_t bytes) {
  if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
    fail(final_.string(), "", "cannot size the output file to ", bytes, " bytes: ", std::strerror(errno));
  }
}

void StagedFile::write_at(uint64_t offset, const void* data, uint64_t bytes) {
  FP8KIT_CHECK(fd_ >= 0, "write to ", temp_.string(), " after it was closed");
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const size_t chunk = bytes > (1ull << 30) ? (1ull << 30) : static_cast<size_t>(bytes);
    const ssize_t n = ::pwrite(fd_, p, chunk, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(final_.string(), "", "write failed: ", n < 0 ? std::strerror(errno) : "no progress");
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
}

void StagedFile::copy_from(int in_fd, uint64_t in_offset, uint64_t offset, uint64_t bytes) {
  FP8KIT_CHECK(fd_ >= 0, "copy into ", temp_.string(), " after it was closed");
  while (bytes > 0) {
    loff_t in = static_cast<loff_t>(in_offset), out = static_cast<loff_t>(offset);
    const size_t chunk = bytes > (1ull << 30) ? (1ull << 30) : static_cast<size_t>(bytes);
    const ssize_t n = ::copy_file_range(in_fd, &in, fd_, &out, chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // not supported here (or no progress): copy through memory below
    in_offset += static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
  std::vector<char> buf(bytes > 0 ? std::min<uint64_t>(bytes, 16u << 20) : 0);
  while (bytes > 0) {
    const size_t chunk = std::min<uint64_t>(bytes, buf.size());
    const ssize_t n = ::pread(in_fd, buf.data(), chunk, static_cast<off_t>(in_offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(final_.string(), "", "reading the input failed: ", n < 0 ? std::strerror(errno) : "unexpected end");
    write_at(offset, buf.data(), static_cast<uint64_t>(n));
    in_offset += static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
}

void StagedFile::finish_writing() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(final_.string(), "", "closing the output file failed: ", std::strerror(errno));
}

void StagedFile::commit() {
  finish_writing();
  if (::rename(temp_.c_str(), final_.c_str()) != 0) {
    fail(final_.string(), "", "cannot move the finished file into place: ", std::strerror(errno));
  }
  committed_ = true;
  free_slot(slot_);
  slot_ = -1;
}

void write_file_atomically(const std::filesystem::path& path, const std::string& contents) {
  StagedFile f(path);
  f.write_at(0, contents.data(), contents.size());
  f.commit();
}

}  // namespace fp8kit::checkpoint
