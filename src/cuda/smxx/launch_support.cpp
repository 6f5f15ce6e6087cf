// launch_support.cpp: see launch_support.h.
#include "cuda/smxx/launch_support.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "cuda/common/cuda_check.h"

namespace fp8kit::cuda::smxx {
namespace {

struct DeviceFacts {
  int major = 0, minor = 0;
  int multiprocessors = 1;
  bool memory_pools = false;
};

/// Facts of every device, read once; empty when no device answers.
const std::vector<DeviceFacts>& device_facts() {
  static std::once_flag once;
  static std::vector<DeviceFacts> facts;
  std::call_once(once, [] {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      cudaGetLastError();
      return;
    }
    for (int i = 0; i < count; ++i) {
      DeviceFacts f;
      int pools = 0;
      cudaDeviceGetAttribute(&f.major, cudaDevAttrComputeCapabilityMajor, i);
      cudaDeviceGetAttribute(&f.minor, cudaDevAttrComputeCapabilityMinor, i);
      cudaDeviceGetAttribute(&f.multiprocessors, cudaDevAttrMultiProcessorCount, i);
      cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, i);
      f.memory_pools = pools != 0;
      facts.push_back(f);
    }
    cudaGetLastError();
  });
  return facts;
}

}  // namespace

LaunchContext launch_context(const Device& device, void* stream) {
  LaunchContext c;
  c.stream = static_cast<cudaStream_t>(stream);
  c.device = device.index;
  const DeviceFacts& f = device_facts().at(static_cast<size_t>(device.index));
  c.multiprocessors = std::max(1, f.multiprocessors);
  c.dependent_launch = f.major >= 9;
  return c;
}

Verdict check_device(const Device& device, const char* op) {
  if (!device.is_cuda()) return Verdict::no(detail::concat(op, ": the CUDA kernels need CUDA tensors, got ", to_string(device)));
  const auto& facts = device_facts();
  if (device.index < 0 || static_cast<size_t>(device.index) >= facts.size()) {
    return Verdict::no(detail::concat(op, ": ", to_string(device), " does not exist (", facts.size(), " CUDA devices visible)"));
  }
  const DeviceFacts& f = facts[static_cast<size_t>(device.index)];
  if (f.major < 8) {
    return Verdict::no(detail::concat(op, ": the CUDA kernels need compute capability 8.0 or newer, ", to_string(device),
                                      " has ", f.major, ".", f.minor));
  }
  return Verdict::yes();
}

bool has_memory_pools(int ordinal) {
  const auto& facts = device_facts();
  return ordinal >= 0 && static_cast<size_t>(ordinal) < facts.size() && facts[static_cast<size_t>(ordinal)].memory_pools;
}

bool rows_aligned(const void* data, int64_t ld, int64_t rows, int elem_bytes, int bytes) {
  const bool base = reinterpret_cast<uintptr_t>(data) % static_cast<uintptr_t>(bytes) == 0;
  return base && (rows <= 1 || (ld * elem_bytes) % bytes == 0);
}

void for_each_row_range(int64_t rows, int64_t units_per_row, const std::function<void(int64_t, int64_t)>& launch) {
  const int64_t step = std::max<int64_t>(1, kMaxIndex32 / std::max<int64_t>(1, units_per_row));
  for (int64_t r = 0; r < rows; r += step) launch(r, std::min(step, rows - r));
}

uint32_t grid_blocks(int64_t units, int64_t units_per_block, int64_t cap) {
  const int64_t blocks = (units + units_per_block - 1) / units_per_block;
  return static_cast<uint32_t>(std::clamp<int64_t>(blocks, 1, cap));
}

}  // namespace fp8kit::cuda::smxx
