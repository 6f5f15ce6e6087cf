// fuzz_checkpoint_file.cpp: libFuzzer target for everything the checkpoint tool does with one
// .safetensors file once its header is valid: inspect (format detection, scale fitting, scale ranges),
// quantize in three formats, dequantize (scale partners, block-size hints from the metadata, F32 /
// BF16 / F16 / E8M0 scales), on the CPU.
//
// Input: the bytes of a whole .safetensors file, written to a scratch file in memory. Each verb must
// finish or refuse with fp8kit::Error (any other exception, a crash, a leak, undefined behaviour or
// an allocation beyond the input's proportions is a finding). Properties: a file quantize wrote is
// read by inspect; a failed conversion leaves no output file.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/conversion.h"
#include "checkpoint/inspect.h"
#include "fuzz_support.h"

using namespace fp8kit::checkpoint;
using fp8kit::fuzz::require;
using fp8kit::fuzz::scratch_dir;
namespace fs = std::filesystem;

namespace {

ConvertOptions cpu_options() {
  ConvertOptions o;
  o.device = DeviceChoice::cpu;
  o.quiet = true;
  o.force = true;
  return o;
}

/// Runs `f`; true when it finished, false when it refused with fp8kit::Error.
template <typename F>
bool finishes(F&& f) {
  try {
    f();
    return true;
  } catch (const fp8kit::Error&) {
    return false;
  }
}

void quantize_then_read_back(const fs::path& in, const QuantizeSettings& settings) {
  const fs::path out = scratch_dir() / "q.safetensors";
  if (!finishes([&] { quantize_checkpoint(in, out, settings, cpu_options()); })) {
    require(!fs::exists(out), "a failed quantize leaves no output");
    return;
  }
  require(finishes([&] { inspect_checkpoint(out, {}, false, DeviceChoice::cpu, true); }), "inspect reads what quantize wrote");
  const fs::path back = scratch_dir() / "d.safetensors";
  // Dequantizing it may refuse (a kept tensor that looks like a scale, an FNUZ tensor), never crash.
  finishes([&] { dequantize_checkpoint(out, back, fp8kit::DType::bf16, cpu_options()); });
  fs::remove(out);
  fs::remove(back);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::setenv("FP8KIT_NUM_THREADS", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path in = scratch_dir() / "in.safetensors";
  {
    std::ofstream f(in, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  finishes([&] { inspect_checkpoint(in, {}, false, DeviceChoice::cpu, true); });
  QuantizeSettings block;
  quantize_then_read_back(in, block);
  QuantizeSettings channel;
  channel.format = CheckpointFormat::fbgemm;
  quantize_then_read_back(in, channel);
  QuantizeSettings tensor;
  tensor.format = CheckpointFormat::compressed_tensors;
  tensor.scheme = WeightScheme::tensor;
  tensor.ue8m0 = true;
  quantize_then_read_back(in, tensor);
  const fs::path out = scratch_dir() / "y.safetensors";
  if (!finishes([&] { dequantize_checkpoint(in, out, fp8kit::DType::f32, cpu_options()); })) {
    require(!fs::exists(out), "a failed dequantize leaves no output");
  }
  fs::remove(out);
  return 0;
}
