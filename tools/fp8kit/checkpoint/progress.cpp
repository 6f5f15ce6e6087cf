// progress.cpp: terminal bar or plain lines.
#include "checkpoint/progress.h"

#include <unistd.h>

#include <cstdio>

namespace fp8kit::checkpoint {

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

Progress::Progress(uint64_t total_bytes, bool quiet)
    : total_(total_bytes), quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(uint64_t bytes, const std::string& what) {
  done_ += bytes;
  if (quiet_ || !tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(what);
}

void Progress::draw(const std::string& what) {
  const double t = seconds();
  const double frac = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  const double rate = t > 0 ? static_cast<double>(done_) / t : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::string name = what.size() > 40 ? "..." + what.substr(what.size() - 37) : what;
  std::fprintf(stderr, "\r\033[K[%s] %5.1f%% %s/s ETA %4.0fs %s", bar.c_str(), frac * 100.0,
               human_bytes(static_cast<uint64_t>(rate)).c_str(), eta, name.c_str());
  std::fflush(stderr);
  bar_visible_ = true;
}

void Progress::file_done(const std::string& file, uint64_t bytes_written) {
  if (quiet_) return;
  if (tty_) return;  // the bar shows it
  const double t = seconds();
  std::fprintf(stderr, "wrote %s (%s), %.0f%% of input done, %.1f s\n", file.c_str(), human_bytes(bytes_written).c_str(),
               total_ > 0 ? 100.0 * static_cast<double>(done_) / static_cast<double>(total_) : 100.0, t);
}

void Progress::finish() {
  if (bar_visible_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    bar_visible_ = false;
  }
}

}  // namespace fp8kit::checkpoint
