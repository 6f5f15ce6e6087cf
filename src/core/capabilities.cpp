// capabilities.cpp: what this build and machine offer, probed once.
#include "cpu/cpu_backend.h"
#include "cuda/cuda_backend.h"
#include "fp8kit/backend.h"
#include "fp8kit/version.h"

namespace fp8kit {

const Capabilities& capabilities() {
  static const Capabilities caps = [] {
    Capabilities c;
    c.version = FP8KIT_VERSION_STRING;
    c.cuda_compiled = cuda::compiled();
    c.cpu_threads = cpu::thread_count();
    const cuda::Probe probe = cuda::probe();
    c.gpus = probe.gpus;
    c.cuda_runtime = probe.runtime_version;
    c.cuda_driver = probe.driver_version;
    c.cuda_status = probe.status;
    return c;
  }();
  return caps;
}

}  // namespace fp8kit
