// pointer_check.h: whether an address can be read or written by kernels on a CUDA device, asked of the
// CUDA runtime (cudaPointerGetAttributes) before any launch, so a host pointer passed where a device
// pointer belongs is refused with an error naming the argument instead of faulting the context. Used by
// the quantization kernels (smxx) and every GEMM backend.
#pragma once

#include "fp8kit/error.h"
#include "fp8kit/tensor.h"

namespace fp8kit::cuda {

/// Why `ptr` (named `what` in the message, `op` the operation) cannot be used by kernels on `device`:
/// a null pointer, pageable or pinned host memory, another device's memory, or an address CUDA does
/// not know. Device memory of `device` and managed memory are accepted. `used` false (an empty
/// tensor, an absent bias) skips the check; `known` (the caller's options.pointers_known guarantee)
/// leaves only the null check, without asking the runtime.
Verdict check_device_pointer(const void* ptr, bool used, bool known, const Device& device, const char* op,
                             const char* what);

}  // namespace fp8kit::cuda
