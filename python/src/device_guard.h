// device_guard.h: makes a CUDA tensor's device current for the duration of one call.
//
// The extension carries its own (static) CUDA runtime, whose current device is independent of the
// framework's: a kernel for a tensor on cuda:1 must be launched with cuda:1 current in this runtime,
// whatever torch's current device is. CPU views need nothing; builds without CUDA do nothing.
#pragma once

#include "fp8kit/tensor.h"

namespace fp8kit::python {

class DeviceGuard {
 public:
  explicit DeviceGuard(const Device& device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;  // device to restore, or -1 when nothing was changed
};

}  // namespace fp8kit::python
