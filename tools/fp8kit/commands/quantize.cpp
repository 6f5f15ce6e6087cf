// quantize.cpp: `fp8kit quantize IN -o OUT`: a bf16/fp16/fp32 safetensors checkpoint (file or model
// directory) to an FP8 checkpoint in the fp8, compressed-tensors or fbgemm format.
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
      "usage: fp8kit quantize IN -o OUT [options]\n\n"
      "Quantizes the linear-layer weights of a safetensors checkpoint to FP8. IN is a .safetensors file\n"
      "or a model directory (single file or shards with model.safetensors.index.json). For a directory,\n"
      "OUT gets the same shards, an updated index, the other files copied and a quantization_config in\n"
      "config.json. Embeddings, lm_head, norms, routers/gates, biases and 1-D tensors stay as they are.\n\n"
      "options:\n%s"
      "  -o, --output OUT    output file (for a file IN) or directory (for a directory IN)\n"
      "  --device D          auto (default: CUDA when a GPU is usable), cpu, cuda\n"
      "  --threads N         CPU threads (same as FP8KIT_NUM_THREADS)\n"
      "  --force             write into an existing OUT\n"
      "  --quiet             no progress output\n",
      kQuantizeOptionsHelp);
}

}  // namespace

int run_quantize(const Args& args) {
  return run_verb("quantize", [&] {
    const std::optional<QuantizeCommand> c = parse_quantize_command(args);
    if (!c) {
      print_help();
      return 0;
    }
    apply_threads(c->threads);
    checkpoint::install_interrupt_cleanup();
    const checkpoint::ConvertReport r = checkpoint::quantize_checkpoint(c->in, c->out, c->settings, c->options);
    if (!c->options.quiet) {
      std::printf("quantized %zu tensors (%s), kept %zu, in %.2f s on %s (reading %.2f s, quantizing %.2f s)\n",
                  r.converted, checkpoint::describe_settings(c->settings).c_str(), r.kept, r.seconds, r.engine.c_str(),
                  r.read_seconds, r.convert_seconds);
      std::printf("%s: %s -> %s: %s (%.2fx smaller)\n", c->in.c_str(), checkpoint::human_bytes(r.input_bytes).c_str(),
                  c->out.c_str(), checkpoint::human_bytes(r.output_bytes).c_str(),
                  r.output_bytes > 0 ? static_cast<double>(r.input_bytes) / static_cast<double>(r.output_bytes) : 0.0);
      for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
    }
    return 0;
  });
}

}  // namespace fp8kit::cli
