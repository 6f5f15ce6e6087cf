// cuda_check.h: error checks for CUDA runtime calls and kernel launches. They throw fp8kit::Error with
// the call, the CUDA error name and message.
#pragma once

#include <cuda_runtime.h>

#include "fp8kit/error.h"

#define FP8KIT_CUDA_CHECK(call)                                                                         \
  do {                                                                                                  \
    const cudaError_t fp8kit_err_ = (call);                                                             \
    FP8KIT_CHECK(fp8kit_err_ == cudaSuccess, #call, " failed: ", cudaGetErrorName(fp8kit_err_), " (",   \
                 cudaGetErrorString(fp8kit_err_), ")");                                                 \
  } while (0)

/// After a launch: reports launch-configuration errors (not asynchronous faults).
#define FP8KIT_CUDA_CHECK_LAUNCH(kernel_name)                                                           \
  do {                                                                                                  \
    const cudaError_t fp8kit_err_ = cudaGetLastError();                                                 \
    FP8KIT_CHECK(fp8kit_err_ == cudaSuccess, "launch of ", kernel_name, " failed: ",                    \
                 cudaGetErrorName(fp8kit_err_), " (", cudaGetErrorString(fp8kit_err_), ")");            \
  } while (0)
