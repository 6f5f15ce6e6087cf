// generate.cpp: `fp8kit generate OUT`: writes a synthetic Llama-style checkpoint (realistic shapes,
// outliers) for demos, benchmarks and tests when no real model is at hand.
#include <cstdio>

#include "checkpoint/progress.h"
#include "checkpoint/staged_file.h"
#include "checkpoint/synthetic_checkpoint.h"
#include "cli_options.h"
#include "command_line.h"
#include "commands.h"

namespace fp8kit::cli {
namespace {

void print_help() {
  std::printf(
      "usage: fp8kit generate OUT [options]\n\n"
      "Writes a synthetic Llama-style model directory (config.json + safetensors) with weights drawn like\n"
      "trained ones: normal(0, 0.02), a few outlier input channels, rare large elements, norms near 1.\n\n"
      "options:\n"
      "  --layers L          decoder layers (default 2)\n"
      "  --hidden H          hidden size (default 576: ragged against 128-blocks)\n"
      "  --intermediate I    MLP size (default 1536)\n"
      "  --vocab V           vocabulary (default 4096)\n"
      "  --heads N           attention heads (default 9); --kv-heads N (default 3)\n"
      "  --dtype T           bf16 (default), fp16, fp32\n"
      "  --shard-size S      split into shards of at most S bytes (suffix k, M, G) with an index\n"
      "  --seed S            random seed (default 1)\n"
      "  --quiet             no progress output\n");
}

}  // namespace

int run_generate(const Args& args) {
  return run_verb("generate", [&] {
    const std::optional<GenerateCommand> c = parse_generate_command(args);
    if (!c) {
      print_help();
      return 0;
    }
    checkpoint::install_interrupt_cleanup();
    const uint64_t bytes = checkpoint::write_synthetic_checkpoint(c->out, c->spec, c->quiet);
    if (!c->quiet) std::printf("wrote %s of synthetic weights to %s\n", checkpoint::human_bytes(bytes).c_str(), c->out.c_str());
    return 0;
  });
}

}  // namespace fp8kit::cli
