// runtime.cu: the CUDA runtime probe (which GPUs, which versions), cached device properties.
#include <mutex>
#include <string>
#include <vector>

#include "cuda/common/cuda_check.h"
#include "cuda/cuda_backend.h"

namespace fp8kit::cuda {
namespace {

std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

}  // namespace

bool compiled() { return true; }

Probe probe() {
  Probe p;
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) p.runtime_version = version_string(runtime);
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0) p.driver_version = version_string(driver);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    p.status = std::string("no usable GPU: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return p;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    GpuInfo g;
    g.ordinal = i;
    g.name = prop.name;
    g.major = prop.major;
    g.minor = prop.minor;
    g.multiprocessors = prop.multiProcessorCount;
    g.memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
    p.gpus.push_back(g);
  }
  p.status = p.gpus.empty() ? "no GPU found" : "ok";
  return p;
}

int compute_capability(int ordinal) {
  static std::mutex mutex;
  static std::vector<int> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.empty()) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      cudaGetLastError();
      count = 0;
    }
    cache.assign(static_cast<size_t>(count > 0 ? count : 1), 0);
    for (int i = 0; i < count; ++i) {
      int major = 0, minor = 0;
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, i);
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, i);
      cache[static_cast<size_t>(i)] = major * 10 + minor;
    }
  }
  return ordinal >= 0 && ordinal < static_cast<int>(cache.size()) ? cache[static_cast<size_t>(ordinal)] : 0;
}

void* device_alloc(size_t bytes, int ordinal) {
  FP8KIT_CUDA_CHECK(cudaSetDevice(ordinal));
  void* ptr = nullptr;
  const cudaError_t err = cudaMalloc(&ptr, bytes > 0 ? bytes : 1);
  if (err != cudaSuccess) {
    cudaGetLastError();
    FP8KIT_FAIL("cudaMalloc of ", bytes, " bytes on cuda:", ordinal, " failed: ", cudaGetErrorName(err), " (",
                cudaGetErrorString(err), ")");
  }
  return ptr;
}

void device_free(void* ptr) noexcept { cudaFree(ptr); }

void copy_to_device(void* dst, const void* src, size_t bytes) {
  FP8KIT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
  FP8KIT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

bool host_register(void* ptr, size_t bytes) noexcept {
  if (ptr == nullptr || bytes == 0) return false;
  if (cudaHostRegister(ptr, bytes, cudaHostRegisterDefault) == cudaSuccess) return true;
  cudaGetLastError();  // not sticky: clear it so the next launch check does not report it
  return false;
}

void host_unregister(void* ptr) noexcept {
  if (cudaHostUnregister(ptr) != cudaSuccess) cudaGetLastError();
}

void synchronize(int ordinal) {
  FP8KIT_CUDA_CHECK(cudaSetDevice(ordinal));
  FP8KIT_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace fp8kit::cuda
