// parallel_for.cpp: the process-wide worker pool behind parallel_for (see parallel_for.h) and the
// thread count of the CPU backend.
#include "cpu/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu/cpu_backend.h"

namespace fp8kit::cpu {

int thread_count() {
  static const int n = [] {
    if (const char* env = std::getenv("FP8KIT_NUM_THREADS")) {
      const int v = std::atoi(env);
      if (v > 0) return v;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
  }();
  return n;
}

namespace {

std::atomic<int> g_thread_limit{0};  // 0: no limit
thread_local bool t_inside_chunk = false;

/// One parallel_for call in flight: chunks are claimed through `next`.
struct Job {
  int64_t chunks = 0, n = 0, grain = 0;
  detail::ChunkFn fn = nullptr;
  void* context = nullptr;
  std::atomic<int64_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;

  void work() {
    const bool outer = t_inside_chunk;
    t_inside_chunk = true;
    for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      try {
        const int64_t begin = c * grain;
        fn(context, begin, std::min(begin + grain, n));
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next.store(chunks);
      }
    }
    t_inside_chunk = outer;
  }
};

class Pool {
 public:
  explicit Pool(int workers) {
    threads_.reserve(static_cast<size_t>(workers));
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { worker(i); });
  }
  ~Pool() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int workers() const { return static_cast<int>(threads_.size()); }

  /// Runs `job` with `helpers` workers beside the calling thread; false if the pool is busy.
  bool run(Job& job, int helpers) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      helpers_ = helpers;
      active_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    job.work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return active_ == 0; });
    job_ = nullptr;
    return true;
  }

 private:
  void worker(int index) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= helpers_) continue;  // this job needs fewer threads
      Job* job = job_;
      lock.unlock();
      job->work();
      lock.lock();
      if (--active_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex busy_;  // held by the one caller using the pool
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  Job* job_ = nullptr;
  int helpers_ = 0, active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p(thread_count() - 1);
  return p;
}

}  // namespace

namespace detail {

void run_chunks(int64_t n, int64_t grain, ChunkFn fn, void* context) {
  Job job;
  job.n = n;
  job.grain = grain;
  job.chunks = (n + grain - 1) / grain;
  job.fn = fn;
  job.context = context;
  int threads = thread_count();
  const int limit = g_thread_limit.load();
  if (limit > 0) threads = std::min(threads, limit);
  threads = static_cast<int>(std::min<int64_t>(threads, job.chunks));
  if (threads <= 1 || t_inside_chunk || !pool().run(job, std::min(threads - 1, pool().workers()))) job.work();
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace detail

ScopedThreadLimit::ScopedThreadLimit(int threads) : previous_(g_thread_limit.exchange(threads < 1 ? 1 : threads)) {}
ScopedThreadLimit::~ScopedThreadLimit() { g_thread_limit.store(previous_); }

}  // namespace fp8kit::cpu
