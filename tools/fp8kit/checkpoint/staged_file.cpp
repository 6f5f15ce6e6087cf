// staged_file.cpp: temporary output files, renamed into place when complete.
#include "checkpoint/staged_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/write_fault.h"

namespace fp8kit::checkpoint {
namespace {

constexpr const char* kPartialPrefix = ".fp8kit-partial.";
constexpr const char* kCreatingPrefix = ".fp8kit-new.";  // a partial file before it is locked

// Paths of uncommitted files, readable from a signal handler: fixed-size C strings, each guarded by
// an atomic flag set only once the paths are complete. A slot holds both names a staged file has (the
// creating name, then the partial one) and is taken before the file exists: the handler may run (in any
// thread) at any point of the constructor's create, lock, rename. It unlinks the creating name first, so
// a rename between its two unlinks leaves the file under the partial name it unlinks next.
constexpr int kSlots = 2048;  // a model directory's shards are all staged before the first rename
constexpr size_t kPathMax = 1024;
std::array<std::array<char, kPathMax>, kSlots> g_paths{};
std::array<std::array<char, kPathMax>, kSlots> g_creating_paths{};
std::array<std::atomic<bool>, kSlots> g_live{};
std::mutex g_slot_mutex;

int take_slot(const std::string& path, const std::string& creating) {
  if (path.size() + 1 > kPathMax || creating.size() + 1 > kPathMax) return -1;
  std::lock_guard<std::mutex> lock(g_slot_mutex);
  for (int i = 0; i < kSlots; ++i) {
    if (g_live[i].load()) continue;
    std::memcpy(g_paths[i].data(), path.c_str(), path.size() + 1);
    std::memcpy(g_creating_paths[i].data(), creating.c_str(), creating.size() + 1);
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
    if (!g_live[i].load()) continue;
    ::unlink(g_creating_paths[i].data());
    ::unlink(g_paths[i].data());
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
    ::signal(SIGXFSZ, SIG_IGN);
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
  const std::string tag = std::to_string(::getpid()) + "." + final_.filename().string();
  temp_ = dir / (kPartialPrefix + tag);
  // The lock marks the file as written by a live process (remove_stale_partial_files), so it must be
  // held before the file has its partial name: the file is created under a ".fp8kit-new." name, locked,
  // then renamed. The lock sits on a duplicate descriptor (same open file) because finish_writing()
  // closes the first one before the final rename.
  const std::filesystem::path creating = dir / (kCreatingPrefix + tag);
  slot_ = take_slot(temp_.string(), creating.string());
  fd_ = inject_write_fault() ? -1 : ::open(creating.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    free_slot(slot_);
    fail(final_.string(), "", "cannot create an output file in ", dir.string(), ": ", std::strerror(err));
  }
  // A file system without flock (some FUSE ones) leaves the file unlocked, as if its writer were gone.
  lock_fd_ = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (lock_fd_ >= 0) ::flock(lock_fd_, LOCK_EX | LOCK_NB);
  if (lock_fd_ < 0 || ::rename(creating.c_str(), temp_.c_str()) != 0) {
    const int err = errno;  // a constructor that throws runs no destructor: undo here
    ::unlink(creating.c_str());
    ::close(fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
    free_slot(slot_);
    fail(final_.string(), "", "cannot create an output file in ", dir.string(), ": ", std::strerror(err));
  }
}

StagedFile::~StagedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
  if (lock_fd_ >= 0) ::close(lock_fd_);
  free_slot(slot_);
}

void StagedFile::resize(uint64_t bytes) {
  if (inject_write_fault() || ::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
    fail(final_.string(), "", "cannot size the output file to ", bytes, " bytes: ", std::strerror(errno));
  }
}

void StagedFile::write_at(uint64_t offset, const void* data, uint64_t bytes) {
  FP8KIT_CHECK(fd_ >= 0, "write to ", temp_.string(), " after it was closed");
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const size_t chunk = bytes > (1ull << 30) ? (1ull << 30) : static_cast<size_t>(bytes);
    const ssize_t n = inject_write_fault() ? -1 : ::pwrite(fd_, p, chunk, static_cast<off_t>(offset));
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
    const ssize_t n = inject_write_fault() ? -1 : ::copy_file_range(in_fd, &in, fd_, &out, chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    // Errors of the destination are final; "not supported here" (or no progress, as at a truncated
    // input's end) falls through to the copy through memory below, which reports a short input.
    if (n < 0 && (errno == ENOSPC || errno == EFBIG || errno == EDQUOT || errno == EIO)) {
      fail(final_.string(), "", "write failed: ", std::strerror(errno));
    }
    if (n <= 0) break;
    in_offset += static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
  std::vector<char> buf(bytes > 0 ? std::min<uint64_t>(bytes, 16u << 20) : 0);
  while (bytes > 0) {
    const size_t chunk = std::min<uint64_t>(bytes, buf.size());
    const ssize_t n = ::pread(in_fd, buf.data(), chunk, static_cast<off_t>(in_offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail(final_.string(), "", "reading the input failed: ",
           n < 0 ? std::strerror(errno) : "unexpected end of file (was the input truncated while being read?)");
    }
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
  const bool injected = inject_write_fault();
  if (::close(fd) != 0 || injected) {
    if (injected) errno = ENOSPC;
    fail(final_.string(), "", "closing the output file failed: ", std::strerror(errno));
  }
}

void StagedFile::commit() {
  finish_writing();
  if (inject_write_fault() || ::rename(temp_.c_str(), final_.c_str()) != 0) {
    fail(final_.string(), "", "cannot move the finished file into place: ", std::strerror(errno));
  }
  committed_ = true;
  free_slot(slot_);
  slot_ = -1;
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

namespace {

/// The writer's pid when `file_name` is "<prefix><pid>.<name>" (any name when `name` is empty), else 0.
pid_t staged_by(std::string_view prefix, const std::string& file_name, const std::string& name) {
  if (!file_name.starts_with(prefix)) return 0;
  size_t i = prefix.size();
  const size_t digits = i;
  long long pid = 0;
  while (i < file_name.size() && file_name[i] >= '0' && file_name[i] <= '9' && pid < (1ll << 31)) {
    pid = pid * 10 + (file_name[i++] - '0');
  }
  if (i == digits || pid == 0 || pid >= (1ll << 31) || i >= file_name.size() || file_name[i] != '.') return 0;
  if (!name.empty() && file_name.compare(i + 1, std::string::npos, name) != 0) return 0;
  return static_cast<pid_t>(pid);
}

bool process_is_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

bool is_staged_file_name(std::string_view file_name) {
  return file_name.starts_with(kPartialPrefix) || file_name.starts_with(kCreatingPrefix);
}

LeftoverPartials remove_stale_partial_files(const std::filesystem::path& dir, const std::string& name, bool recursive) {
  namespace fs = std::filesystem;
  LeftoverPartials found;
  std::vector<fs::path> partial, creating;
  std::error_code ec;
  auto consider = [&](const fs::directory_entry& e) {
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) return;
    const std::string file_name = e.path().filename().string();
    if (staged_by(kPartialPrefix, file_name, name) != 0) partial.push_back(e.path());
    // A ".fp8kit-new." file is not locked yet, so no lock tells: it is a killed writer's leftover only
    // when its process is gone (a reused pid leaves a stray empty file rather than risk a live one).
    const pid_t creator = staged_by(kCreatingPrefix, file_name, name);
    if (creator != 0 && process_is_gone(creator)) creating.push_back(e.path());
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      consider(*it);
    }
  } else {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) consider(*it);
  }
  // Unlinks `p` only while it still names the file open as `fd` (a run whose pid is that of the killed
  // writer may have renamed a new, locked file onto the same name since).
  auto remove = [&](const fs::path& p, int fd) {
    struct stat open_file{}, named{};
    const bool same = ::fstat(fd, &open_file) == 0 && ::lstat(p.c_str(), &named) == 0 &&
                      open_file.st_dev == named.st_dev && open_file.st_ino == named.st_ino;
    if (same && ::unlink(p.c_str()) == 0) {
      found.removed.push_back(p);
      found.removed_bytes += static_cast<uint64_t>(open_file.st_size);
    }
    ::close(fd);
  };
  for (const fs::path& p : partial) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) found.in_use.push_back(p);
      ::close(fd);
      continue;
    }
    remove(p, fd);
  }
  for (const fs::path& p : creating) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) remove(p, fd);
  }
  return found;
}

void write_file_atomically(const std::filesystem::path& path, const std::string& contents) {
  StagedFile f(path);
  f.write_at(0, contents.data(), contents.size());
  f.commit();
}

}  // namespace fp8kit::checkpoint
