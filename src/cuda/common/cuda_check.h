// cuda_check.h: error checks for CUDA runtime calls and kernel launches. They throw fp8kit::Error with
// the call, the CUDA error name and message.
#pragma once

#include <cuda_runtime.h>

#include "fp8kit/error.h"

/// A failed call also clears the runtime's last-error state (cudaGetLastError), so that an error
/// that is not sticky (out of memory, an invalid argument) is reported once, here, and not again by
/// the next launch check: after such an error the library stays usable.
#define FP8KIT_CUDA_CHECK(call)                                                                         \
  do {                                                                                                  \
    const cudaError_t fp8kit_err_ = (call);                                                             \
    if (fp8kit_err_ != cudaSuccess) {                                                                   \
      cudaGetLastError();                                                                               \
      FP8KIT_FAIL(#call, " failed: ", cudaGetErrorName(fp8kit_err_), " (", cudaGetErrorString(fp8kit_err_), ")"); \
    }                                                                                                   \
  } while (0)

/// After a launch: reports launch-configuration errors (not asynchronous faults).
#define FP8KIT_CUDA_CHECK_LAUNCH(kernel_name)                                                           \
  do {                                                                                                  \
    const cudaError_t fp8kit_err_ = cudaGetLastError();                                                 \
    FP8KIT_CHECK(fp8kit_err_ == cudaSuccess, "launch of ", kernel_name, " failed: ",                    \
                 cudaGetErrorName(fp8kit_err_), " (", cudaGetErrorString(fp8kit_err_), ")");            \
  } while (0)
