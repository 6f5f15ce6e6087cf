// dequantize.cpp: `fp8kit dequantize IN -o OUT`: an FP8 checkpoint (fp8 / DeepSeek, compressed-tensors,
// fbgemm) back to bf16, fp16 or fp32.
#include <cstdio>

#include "checkpoint/conversion.h"
#include "checkpoint/progress.h"
#include "checkpoint/staged_file.h"
#include "cli_options.h"
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
    checkpoint::ConvertOptions options;
    DType dtype = DType::bf16;
    std::string in, out;
    ArgCursor cur(args);
    while (!cur.done()) {
      const std::string a = cur.next();
      if (a == "--help" || a == "-h") {
        print_help();
        return 0;
      }
      if (a == "-o" || a == "--output") {
        out = cur.value(a);
      } else if (a == "--dtype") {
        const std::string& v = cur.value(a);
        if (v == "bf16" || v == "bfloat16") dtype = DType::bf16;
        else if (v == "fp16" || v == "f16" || v == "float16") dtype = DType::f16;
        else if (v == "fp32" || v == "f32" || v == "float32") dtype = DType::f32;
        else throw UsageError{"--dtype must be bf16, fp16 or fp32, got '" + v + "'"};
      } else if (a == "--device") {
        options.device = parse_device_option(cur.value(a));
      } else if (a == "--threads") {
        apply_threads_option(cur.value(a));
      } else if (a == "--force") {
        options.force = true;
      } else if (a == "--quiet" || a == "-q") {
        options.quiet = true;
      } else if (a.starts_with("-")) {
        throw UsageError{"unknown option '" + a + "'"};
      } else if (in.empty()) {
        in = a;
      } else {
        throw UsageError{"unexpected argument '" + a + "'"};
      }
    }
    if (in.empty() || out.empty()) throw UsageError{"needs an input and -o OUT"};
    checkpoint::install_interrupt_cleanup();
    const checkpoint::ConvertReport r = checkpoint::dequantize_checkpoint(in, out, dtype, options);
    if (!options.quiet) {
      std::printf("dequantized %zu tensors to %s, removed %zu scale tensors, kept %zu, in %.2f s on %s\n", r.converted,
                  std::string(dtype_name(dtype)).c_str(), r.dropped, r.kept, r.seconds, r.engine.c_str());
      std::printf("%s: %s -> %s: %s\n", in.c_str(), checkpoint::human_bytes(r.input_bytes).c_str(), out.c_str(),
                  checkpoint::human_bytes(r.output_bytes).c_str());
      for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
    }
    return 0;
  });
}

}  // namespace fp8kit::cli
