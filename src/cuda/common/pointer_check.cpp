// pointer_check.cpp: see pointer_check.h.
#include "cuda/common/pointer_check.h"

#include <cuda_runtime.h>

namespace fp8kit::cuda {

Verdict check_device_pointer(const void* ptr, bool used, bool known, const Device& device, const char* op,
                             const char* what) {
  using detail::concat;
  if (!used) return Verdict::yes();
  if (ptr == nullptr) return Verdict::no(concat(op, ": ", what, " is a null pointer"));
  if (known) return Verdict::yes();
  cudaPointerAttributes attr{};
  const cudaError_t err = cudaPointerGetAttributes(&attr, ptr);
  if (err != cudaSuccess) {
    cudaGetLastError();  // not sticky: clear it so the next check of a launch does not report it
    return Verdict::no(concat(op, ": ", what, " (", ptr, ") is not an address CUDA knows: ", cudaGetErrorName(err)));
  }
  switch (attr.type) {
    case cudaMemoryTypeDevice:
      if (attr.device != device.index) {
        return Verdict::no(concat(op, ": ", what, " (", ptr, ") is memory of cuda:", attr.device,
                                  " but the operation runs on ", to_string(device)));
      }
      return Verdict::yes();
    case cudaMemoryTypeManaged: return Verdict::yes();
    case cudaMemoryTypeHost:
      return Verdict::no(concat(op, ": ", what, " (", ptr, ") is pinned host memory, not memory of ", to_string(device),
                                " (pass a device pointer or run on the CPU)"));
    default:
      return Verdict::no(concat(op, ": ", what, " (", ptr, ") is host memory, not memory of ", to_string(device),
                                " (pass a device pointer or run on the CPU)"));
  }
}

}  // namespace fp8kit::cuda
