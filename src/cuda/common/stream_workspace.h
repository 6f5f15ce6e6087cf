// stream_workspace.h: scratch device memory for the GEMM backends (cuBLASLt's workspace, repacked scales,
// padded operands, split-K partial sums), one buffer per (device, stream).
//
// Work enqueued on a stream runs in order, so one buffer per stream is safe to reuse call after call.
// A buffer only grows, stream-ordered (cudaFreeAsync/cudaMallocAsync on that stream where the device has
// memory pools; else after synchronising the stream), so work already enqueued keeps its memory, and is
// zero-filled when allocated (no call reads bytes nobody wrote). The
// lease holds the buffer's lock while the caller enqueues, so two threads sharing a stream cannot grow
// the buffer under each other. Buffers live until the process ends. When growing fails (out of memory),
// the request is retried without the growth headroom; if that fails too, acquire_workspace throws
// fp8kit::Error with the size, the buffer is left empty and the CUDA error state cleared, so a later
// call (after memory was freed) simply allocates again.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <mutex>
#include <utility>

namespace fp8kit::cuda {

class WorkspaceLease {
 public:
  WorkspaceLease(std::unique_lock<std::mutex> lock, void* data, size_t bytes)
      : lock_(std::move(lock)), data_(data), bytes_(bytes) {}

  /// At least the requested bytes, 256-byte aligned; valid for work enqueued on the lease's stream.
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  std::unique_lock<std::mutex> lock_;
  void* data_;
  size_t bytes_;
};

/// The scratch buffer of `stream` on device `ordinal` (which must be current), grown to `bytes`.
WorkspaceLease acquire_workspace(int ordinal, cudaStream_t stream, size_t bytes);

/// Carves 256-byte aligned pieces out of a workspace, in order.
class WorkspaceCarver {
 public:
  static constexpr size_t kAlignment = 256;
  static size_t round_up(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

  explicit WorkspaceCarver(void* base = nullptr) : base_(static_cast<char*>(base)) {}
  /// Reserves `bytes` (rounded up to the alignment); returns the piece's address (nullptr when sizing).
  void* take(size_t bytes) {
    char* piece = base_ == nullptr ? nullptr : base_ + used_;
    used_ += round_up(bytes);
    return piece;
  }
  size_t used() const { return used_; }

 private:
  char* base_;
  size_t used_ = 0;
};

}  // namespace fp8kit::cuda
