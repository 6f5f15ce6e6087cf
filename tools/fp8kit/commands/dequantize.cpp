// dequantize.cpp: `fp8kit dequantize IN -o OUT`: an FP8 checkpoint (fp8 / DeepSeek, compressed-tensors,
// fbgemm) back to bf16, fp16 or fp32.
#include <cstdio>

#include "checkpoint/conversion.h"
#include "checkpoint/progress.h"
#include "checkpoint/staged_file.h"
#include "cli_options.h"
#include "command_line.h"
#include "commands.h"

namespace fp8kit::cli {
namespace {

void print_help() {
  std::printf(
      "usage: fp8kit dequantize IN -o OUT [--dtype bf16|fp16|fp32] [options]\n\n"
      "Turns the FP8 weights of a checkpoint (fp8/DeepSeek weight_scale_inv, compressed-tensors or fbgemm\n"
      "weight_scale; F32, BF16, F16 or F8_E8M0 scales; per-tensor, per-channel or block scales with ragged\n"
      "edges) back into high precision: y = round(decode(q) * scale) in fp32, bit-identical to DeepSeek's\n"
      "fp8_cast_bf16.py for bf16. Scale tensors and the quantization_config are removed; everything else\n"
      "is kept. A weight without its scale is an error.\n\n"
      "options:\n"
      "  -o, --output OUT    output file (for a file IN) or directory (for a directory IN)\n"
      "  --dtype T           bf16 (default), fp16, fp32\n"
      "  --device D          auto (default), cpu, cuda\n"
      "  --threads N         CPU threads (same as FP8KIT_NUM_THREADS)\n"
      "  --force             write into an existing OUT\n"
      "  --quiet             no progress output\n");
}

}  // namespace

int run_dequantize(const Args& args) {
  return run_verb("dequantize", [&] {
    const std::optional<DequantizeCommand> c = parse_dequantize_command(args);
    if (!c) {
      print_help();
      return 0;
    }
    apply_threads(c->threads);
    checkpoint::install_interrupt_cleanup();
    const checkpoint::ConvertReport r = checkpoint::dequantize_checkpoint(c->in, c->out, c->dtype, c->options);
    if (!c->options.quiet) {
      std::printf("dequantized %zu tensors to %s, removed %zu scale tensors, kept %zu, in %.2f s on %s (reading %.2f s, "
                  "dequantizing %.2f s)\n",
                  r.converted, std::string(dtype_name(c->dtype)).c_str(), r.dropped, r.kept, r.seconds, r.engine.c_str(),
                  r.read_seconds, r.convert_seconds);
      std::printf("%s: %s -> %s: %s\n", c->in.c_str(), checkpoint::human_bytes(r.input_bytes).c_str(), c->out.c_str(),
                  checkpoint::human_bytes(r.output_bytes).c_str());
      for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
    }
    return 0;
  });
}

}  // namespace fp8kit::cli
