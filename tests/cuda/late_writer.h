// late_writer.h: a kernel that writes another kernel's inputs late, for testing programmatic dependent
// launch. It lets the next kernel in the stream start at once (griddepcontrol.launch_dependents on sm_90),
// then spins for a while and only then copies: a kernel launched after it with programmatic stream
// serialization runs its set-up during the spin, and reads stale inputs unless it waits for this kernel's
// completion.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace fp8kit::testing {

/// One byte range to copy.
struct CopyRange {
  void* dst = nullptr;
  const void* src = nullptr;
  size_t bytes = 0;
};

/// Queues on `stream` one kernel that triggers its dependents, spins `delay_us` microseconds, then copies
/// `first` and `second` (device memory; sizes multiples of 16 bytes, pointers 16-byte aligned).
void write_late(CopyRange first, CopyRange second, uint32_t delay_us, cudaStream_t stream);

}  // namespace fp8kit::testing
