// device_guard.h: makes a CUDA device current for one scope and restores the previous one after, so a
// library call never changes which device the caller's thread works on.
#pragma once

#include <cuda_runtime.h>

#include "cuda/common/cuda_check.h"

namespace fp8kit::cuda {

class DeviceGuard {
 public:
  explicit DeviceGuard(int ordinal) {
    FP8KIT_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != ordinal) FP8KIT_CUDA_CHECK(cudaSetDevice(ordinal));
    switched_ = previous_ != ordinal;
  }
  ~DeviceGuard() {
    if (switched_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

}  // namespace fp8kit::cuda
