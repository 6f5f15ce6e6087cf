// device_guard.cpp: see device_guard.h.
#include "device_guard.h"

#if FP8KIT_WITH_CUDA
#include <cuda_runtime_api.h>

#include "fp8kit/error.h"
#endif

namespace fp8kit::python {

#if FP8KIT_WITH_CUDA
DeviceGuard::DeviceGuard(const Device& device) {
  if (!device.is_cuda()) return;
  int current = 0;
  cudaError_t err = cudaGetDevice(&current);
  if (err == cudaSuccess && current == device.index) return;
  err = cudaSetDevice(device.index);
  if (err != cudaSuccess) {
    cudaGetLastError();
    FP8KIT_FAIL("cannot make cuda:", device.index, " current: ", cudaGetErrorName(err), " (",
                cudaGetErrorString(err), ")");
  }
  previous_ = current;
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) cudaSetDevice(previous_);
}
#else
DeviceGuard::DeviceGuard(const Device&) {}
DeviceGuard::~DeviceGuard() = default;
#endif

}  // namespace fp8kit::python
