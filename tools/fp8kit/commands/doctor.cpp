// doctor.cpp: `fp8kit doctor`: what this build has, what this machine offers, and which backend each
// operation would take here.
#include <cstdio>

#include "cli_options.h"
#include "command_line.h"
#include "commands.h"
#include "commands/doctor_gemm.h"
#include "fp8kit/fp8kit.h"

namespace fp8kit::cli {

int run_doctor(const Args& args) {
  return run_verb("doctor", [&] {
    if (!parse_doctor_command(args)) {
      std::printf("usage: fp8kit doctor\n\nReports the backends compiled into this build, the CUDA runtime and driver,\n"
                  "the GPUs visible, and the backend each operation takes.\n");
      return 0;
    }
    const Capabilities& caps = capabilities();
    std::printf("fp8kit %s\n", caps.version.c_str());
    std::printf("backends compiled: cpu_reference, cpu (%d threads)%s\n", caps.cpu_threads,
                caps.cuda_compiled ? ", cuda, cublaslt, cuda_fp8_mma, cuda_bf16_mma, cuda_sm90" : "");
    if (!caps.cuda_compiled) {
      std::printf("cuda: not compiled into this build (%s)\n", caps.cuda_status.c_str());
    } else {
      std::printf("cuda runtime: %s, driver: %s\n", caps.cuda_runtime.c_str(),
                  caps.cuda_driver.empty() ? "none" : caps.cuda_driver.c_str());
      std::printf("gpus: %zu (%s)\n", caps.gpus.size(), caps.cuda_status.c_str());
      for (const GpuInfo& g : caps.gpus) {
        std::printf("  cuda:%d %s, sm_%d%d, %d SMs, %.1f GiB\n", g.ordinal, g.name.c_str(), g.major, g.minor,
                    g.multiprocessors, static_cast<double>(g.memory_bytes) / (1024.0 * 1024.0 * 1024.0));
      }
      for (const GpuInfo& g : caps.gpus) {
        try {
          print_gemm_paths(g);
        } catch (const Error& e) {  // e.g. no memory left for the probe buffers: the rest still helps
          std::printf("gemm on cuda:%d: no report (%s)\n", g.ordinal, e.what());
        }
      }
    }
    return 0;
  });
}

}  // namespace fp8kit::cli
