// generate.cpp: `fp8kit generate OUT`: writes a synthetic Llama-style checkpoint (realistic shapes,
// outliers) for demos, benchmarks and tests when no real model is at hand.
#include <charconv>
#include <cstdio>

#include "checkpoint/progress.h"
#include "checkpoint/staged_file.h"
#include "checkpoint/synthetic_checkpoint.h"
#include "cli_options.h"
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

int64_t parse_int(const std::string& opt, const std::string& v) {
  int64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < 0) throw UsageError{opt + " needs a non-negative integer, got '" + v + "'"};
  return n;
}

uint64_t parse_size(const std::string& opt, std::string v) {
  uint64_t mult = 1;
  if (!v.empty()) {
    const char c = v.back();
    if (c == 'k' || c == 'K') mult = 1000;
    else if (c == 'M') mult = 1000 * 1000;
    else if (c == 'G') mult = 1000ull * 1000 * 1000;
    if (mult != 1) v.pop_back();
  }
  return static_cast<uint64_t>(parse_int(opt, v)) * mult;
}

}  // namespace

int run_generate(const Args& args) {
  return run_verb("generate", [&] {
    checkpoint::SyntheticSpec spec;
    bool quiet = false;
    std::string out;
    ArgCursor cur(args);
    while (!cur.done()) {
      const std::string a = cur.next();
      if (a == "--help" || a == "-h") {
        print_help();
        return 0;
      }
      if (a == "--layers") spec.layers = static_cast<int>(parse_int(a, cur.value(a)));
      else if (a == "--hidden") spec.hidden = parse_int(a, cur.value(a));
      else if (a == "--intermediate") spec.intermediate = parse_int(a, cur.value(a));
      else if (a == "--vocab") spec.vocab = parse_int(a, cur.value(a));
      else if (a == "--heads") spec.heads = parse_int(a, cur.value(a));
      else if (a == "--kv-heads") spec.kv_heads = parse_int(a, cur.value(a));
      else if (a == "--shard-size") spec.shard_bytes = parse_size(a, cur.value(a));
      else if (a == "--seed") spec.seed = static_cast<uint32_t>(parse_int(a, cur.value(a)));
      else if (a == "--quiet" || a == "-q") quiet = true;
      else if (a == "--dtype") {
        const std::string& v = cur.value(a);
        if (v == "bf16") spec.dtype = checkpoint::StDType::BF16;
        else if (v == "fp16") spec.dtype = checkpoint::StDType::F16;
        else if (v == "fp32") spec.dtype = checkpoint::StDType::F32;
        else throw UsageError{"--dtype must be bf16, fp16 or fp32, got '" + v + "'"};
      } else if (a.starts_with("-")) {
        throw UsageError{"unknown option '" + a + "'"};
      } else if (out.empty()) {
        out = a;
      } else {
        throw UsageError{"unexpected argument '" + a + "'"};
      }
    }
    if (out.empty()) throw UsageError{"needs an output directory"};
    checkpoint::install_interrupt_cleanup();
    const uint64_t bytes = checkpoint::write_synthetic_checkpoint(out, spec, quiet);
    if (!quiet) std::printf("wrote %s of synthetic weights to %s\n", checkpoint::human_bytes(bytes).c_str(), out.c_str());
    return 0;
  });
}

}  // namespace fp8kit::cli
