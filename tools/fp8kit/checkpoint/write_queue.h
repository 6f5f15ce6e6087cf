// write_queue.h: runs output writes on one background thread, in order, so that writing tensor i
// (and the kernel's throttling of dirty pages) overlaps with converting tensor i+1. A job is handed
// over only when the previous one has finished, so at most two output buffers exist: the one being
// written and the one being filled.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fp8kit::checkpoint {

class WriteQueue {
 public:
  WriteQueue();
  /// Waits for the queued jobs (errors are dropped here: call drain() to see them).
  ~WriteQueue();
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  /// Hands a job to the thread; blocks while the previous job runs. Rethrows an earlier job's error.
  void push(std::function<void()> job);
  /// Waits until every job has run; rethrows the first error a job threw.
  void drain();

  /// The pooled buffer with the smallest capacity >= `capacity` (else the largest; else a new one).
  /// Jobs hand their buffers back with recycle(), so the same few buffers serve the whole run.
  std::vector<uint8_t> take_buffer(size_t capacity);
  void recycle(std::vector<uint8_t>&& buffer);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  bool busy_ = false, stop_ = false;
  std::exception_ptr error_;
  std::vector<std::vector<uint8_t>> pool_;
  std::thread thread_;
};

}  // namespace fp8kit::checkpoint
