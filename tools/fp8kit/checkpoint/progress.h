// progress.h: progress of a conversion, by bytes of input processed. On a terminal: one bar redrawn
// in place with percentage, rate and ETA; otherwise plain lines (one per finished file); nothing when
// quiet. Everything goes to stderr so stdout stays machine-readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fp8kit::checkpoint {

class Progress {
 public:
  Progress(uint64_t total_bytes, bool quiet);
  ~Progress();

  /// `bytes` more input bytes are done; `what` names the current tensor.
  void advance(uint64_t bytes, const std::string& what);
  /// A file is finished (a plain line when not on a terminal).
  void file_done(const std::string& file, uint64_t bytes_written);
  /// Clears the bar (before printing a summary).
  void finish();
  double seconds() const;

 private:
  void draw(const std::string& what);

  uint64_t total_, done_ = 0;
  bool quiet_, tty_;
  bool bar_visible_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// "1.23 GB" (decimal units, as download sizes are usually given).
std::string human_bytes(uint64_t bytes);

}  // namespace fp8kit::checkpoint
