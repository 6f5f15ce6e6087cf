// write_queue.cpp: one background writer thread with a one-deep queue.
#include "checkpoint/write_queue.h"

namespace fp8kit::checkpoint {

WriteQueue::WriteQueue() : thread_([this] { run(); }) {}

WriteQueue::~WriteQueue() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return jobs_.empty() && !busy_; });
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void WriteQueue::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    const bool skip = error_ != nullptr;  // after a failure the rest is abandoned
    lock.unlock();
    changed_.notify_all();
    std::exception_ptr err;
    if (!skip) {
      try {
        job();
      } catch (...) {
        err = std::current_exception();
      }
    }
    job = nullptr;  // release captured buffers outside the lock's critical work
    lock.lock();
    if (err && !error_) error_ = err;
    busy_ = false;
    changed_.notify_all();
  }
}

void WriteQueue::push(std::function<void()> job) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return (jobs_.empty() && !busy_) || error_; });
  if (error_) std::rethrow_exception(error_);
  jobs_.push_back(std::move(job));
  changed_.notify_all();
}

void WriteQueue::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return jobs_.empty() && !busy_; });
  if (error_) std::rethrow_exception(error_);
}

std::vector<uint8_t> WriteQueue::take_buffer(size_t capacity) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (pool_.empty()) return {};
  size_t best = 0;
  for (size_t i = 1; i < pool_.size(); ++i) {
    const size_t c = pool_[i].capacity(), b = pool_[best].capacity();
    const bool fits = c >= capacity, best_fits = b >= capacity;
    if ((fits && (!best_fits || c < b)) || (!fits && !best_fits && c > b)) best = i;
  }
  std::vector<uint8_t> b = std::move(pool_[best]);
  pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(best));
  return b;
}

void WriteQueue::recycle(std::vector<uint8_t>&& buffer) {
  std::lock_guard<std::mutex> lock(mutex_);
  pool_.push_back(std::move(buffer));
}

}  // namespace fp8kit::checkpoint
