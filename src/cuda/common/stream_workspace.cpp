// stream_workspace.cpp: per-(device, stream) scratch buffers (see stream_workspace.h).
#include "cuda/common/stream_workspace.h"

#include <map>
#include <memory>
#include <utility>

#include "cuda/common/cuda_check.h"

namespace fp8kit::cuda {
namespace {

struct Buffer {
  std::mutex mutex;
  void* data = nullptr;
  size_t bytes = 0;
};

struct Registry {
  std::mutex mutex;
  std::map<std::pair<int, cudaStream_t>, std::unique_ptr<Buffer>> buffers;
  std::map<int, bool> pools;  // device -> supports cudaMallocAsync
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: buffers outlive static destruction order
  return *r;
}

bool has_memory_pools(Registry& r, int ordinal) {
  const auto it = r.pools.find(ordinal);
  if (it != r.pools.end()) return it->second;
  int supported = 0;
  if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, ordinal) != cudaSuccess) {
    cudaGetLastError();
    supported = 0;
  }
  r.pools[ordinal] = supported != 0;
  return supported != 0;
}

}  // namespace

WorkspaceLease acquire_workspace(int ordinal, cudaStream_t stream, size_t bytes) {
  Registry& r = registry();
  Buffer* buffer = nullptr;
  bool pools = false;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    auto& slot = r.buffers[{ordinal, stream}];
    if (!slot) slot = std::make_unique<Buffer>();
    buffer = slot.get();
    pools = has_memory_pools(r, ordinal);
  }
  std::unique_lock<std::mutex> lock(buffer->mutex);
  if (buffer->bytes < bytes) {
    // grow by at least half again, so a sequence of slowly growing requests reallocates rarely
    const size_t needed = WorkspaceCarver::round_up(bytes);
    size_t grown = WorkspaceCarver::round_up(bytes > buffer->bytes + buffer->bytes / 2 ? bytes
                                                                                       : buffer->bytes + buffer->bytes / 2);
    if (pools) {
      if (buffer->data != nullptr) FP8KIT_CUDA_CHECK(cudaFreeAsync(buffer->data, stream));
    } else {
      FP8KIT_CUDA_CHECK(cudaStreamSynchronize(stream));
      if (buffer->data != nullptr) FP8KIT_CUDA_CHECK(cudaFree(buffer->data));
    }
    buffer->data = nullptr;
    buffer->bytes = 0;  // an allocation that fails below leaves an empty buffer: the next call retries
    auto allocate = [&](size_t n) {
      return pools ? cudaMallocAsync(&buffer->data, n, stream) : cudaMalloc(&buffer->data, n);
    };
    cudaError_t err = allocate(grown);
    if (err != cudaSuccess && grown > needed) {  // the headroom did not fit: ask for what this call needs
      cudaGetLastError();
      grown = needed;
      err = allocate(grown);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();  // out of memory is not sticky: the library stays usable
      buffer->data = nullptr;
      FP8KIT_FAIL("cannot allocate a GEMM workspace of ", grown, " bytes on cuda:", ordinal, " for stream ",
                  static_cast<const void*>(stream), ": ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")");
    }
    // Zero-filled once per allocation, so no call ever copies bytes that were never written: the padded
    // D staging rows cuBLASLt writes with TMA stores were reported by compute-sanitizer initcheck
    // (3276 reports) before this; the cost is one memset per growth, none per call.
    FP8KIT_CUDA_CHECK(cudaMemsetAsync(buffer->data, 0, grown, stream));
    buffer->bytes = grown;
  }
  return WorkspaceLease(std::move(lock), buffer->data, buffer->bytes);
}

}  // namespace fp8kit::cuda
