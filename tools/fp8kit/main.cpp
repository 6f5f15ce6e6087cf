// main.cpp: the fp8kit program: `fp8kit <verb> [options]`. Errors from the library become one line on
// stderr and exit status 1; usage errors exit with 2.
#include <cstdio>
#include <exception>
#include <string>

#include "commands.h"
#include "fp8kit/fp8kit.h"

namespace fp8kit::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"doctor", "report this build's backends, the GPUs it sees and why a path is or is not available", run_doctor},
      {"selftest", "quantize, dequantize and multiply random data on every backend and compare them", run_selftest},
      {"quantize", "quantize a safetensors checkpoint (file or model directory) to FP8", run_quantize},
      {"dequantize", "turn an FP8 checkpoint (fp8, compressed-tensors, fbgemm) back into bf16/fp16/fp32", run_dequantize},
      {"inspect", "list a checkpoint's tensors, FP8 schemes, scale ranges and quantization error", run_inspect},
      {"generate", "write a synthetic Llama-style checkpoint with realistic shapes and outliers", run_generate},
  };
  return all;
}

namespace {

void print_help() {
  std::printf("fp8kit %s: FP8 quantization kernels, GEMMs and checkpoint conversion\n\n", FP8KIT_VERSION_STRING);
  std::printf("usage: fp8kit <command> [options]\n       fp8kit --help | --version\n\ncommands:\n");
  for (const Command& c : commands()) std::printf("  %-12s %s\n", c.name, c.summary);
  std::printf("\nRun `fp8kit <command> --help` for a command's options.\n");
}

}  // namespace
}  // namespace fp8kit::cli

int main(int argc, char** argv) {
  using namespace fp8kit::cli;
  if (argc < 2) {
    print_help();
    return 2;
  }
  const std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    print_help();
    return 0;
  }
  if (verb == "--version") {
    std::printf("fp8kit %s\n", FP8KIT_VERSION_STRING);
    return 0;
  }
  for (const Command& c : commands()) {
    if (verb != c.name) continue;
    try {
      return c.run(Args(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fp8kit %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "fp8kit: unknown command '%s' (run `fp8kit --help` for the list)\n", verb.c_str());
  return 2;
}
