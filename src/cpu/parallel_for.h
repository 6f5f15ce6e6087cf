// parallel_for.h: the CPU backend's thread pool. One process-wide pool of cpu::thread_count() - 1
// workers (FP8KIT_NUM_THREADS, else the hardware concurrency); the calling thread always takes part.
//
// parallel_for(n, grain, body) splits [0, n) into fixed chunks of `grain` indices and calls
// body(begin, end) once per chunk, on some thread, in no particular order. The chunks depend only on
// n and grain, never on the number of threads, so a body whose chunks write disjoint outputs gives the
// same bits whatever FP8KIT_NUM_THREADS says. The first exception thrown by a chunk is rethrown in the
// caller after every started chunk has finished (later chunks are skipped).
//
// Nested calls (from inside a chunk) and calls made while another thread uses the pool run serially
// on the calling thread.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace fp8kit::cpu {

namespace detail {
using ChunkFn = void (*)(void* context, int64_t begin, int64_t end);
void run_chunks(int64_t n, int64_t grain, ChunkFn fn, void* context);
}  // namespace detail

template <typename Body>
void parallel_for(int64_t n, int64_t grain, Body&& body) {
  if (n <= 0) return;
  using B = std::remove_reference_t<Body>;
  detail::run_chunks(
      n, grain < 1 ? 1 : grain,
      [](void* context, int64_t begin, int64_t end) { (*static_cast<B*>(context))(begin, end); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

/// A grain that gives chunks of about `target` units of work when one index costs `per_index` units
/// (at least 1 index per chunk).
inline int64_t grain_for(int64_t per_index, int64_t target = 1 << 16) {
  return per_index >= target ? 1 : target / (per_index < 1 ? 1 : per_index);
}

/// While alive, parallel_for uses at most `threads` threads (the caller included). For tests that
/// check results do not depend on the thread count, and for callers that share the machine.
class ScopedThreadLimit {
 public:
  explicit ScopedThreadLimit(int threads);
  ~ScopedThreadLimit();
  ScopedThreadLimit(const ScopedThreadLimit&) = delete;
  ScopedThreadLimit& operator=(const ScopedThreadLimit&) = delete;

 private:
  int previous_;
};

}  // namespace fp8kit::cpu
