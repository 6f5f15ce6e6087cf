// dependent_launch.cuh: programmatic dependent launch in device code (sm_90 and later). A kernel launched
// with cudaLaunchAttributeProgrammaticStreamSerialization may start before the kernel ahead of it in the
// stream has finished, once every CTA of that kernel has called allow_dependent_launch() or exited; it must
// call wait_for_previous_grid() before it touches memory the previous kernel writes or reads. Both compile
// to nothing for older architectures, where the attribute has no effect.
#pragma once

namespace fp8kit::cuda {

/// Lets the next kernel in the stream (if launched for it) be scheduled now. Its own wait still waits for
/// this grid's completion, so calling this early is safe; it only decides when the next kernel's set-up may
/// run.
__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

/// Waits until the kernels this grid depends on have completed and their memory is visible; returns at once
/// when the grid was launched without programmatic stream serialization.
__device__ __forceinline__ void wait_for_previous_grid() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

}  // namespace fp8kit::cuda
