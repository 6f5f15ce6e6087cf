// conversion.h: the checkpoint conversions behind `fp8kit quantize` and `fp8kit dequantize`.
//
// Both stream one tensor at a time: a converted tensor is read (pread) into a reused buffer and its
// output built in another, tensors kept as they are go file to file inside the kernel
// (copy_file_range), and small tensors (scales) are read whole. Output
// buffers go to a writer thread (write_queue.h), two at most. The resident memory is therefore the
// largest converted tensor's input plus two outputs plus a constant (quantize bf16: 2x the bf16
// tensor; dequantize to bf16: 2.5x the bf16 result); the page cache is not this process's. Output shards are planned up front (names,
// dtypes, shapes), written under temporary names, and renamed into place only when every shard and
// side file is complete; any error removes them. The input is never written.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint/format_layout.h"
#include "checkpoint/input_checkpoint.h"
#include "checkpoint/quant_policy.h"
#include "checkpoint/quant_settings.h"
#include "checkpoint/safetensors_writer.h"
#include "checkpoint/tensor_engine.h"

namespace fp8kit::checkpoint {

struct ConvertOptions {
  DeviceChoice device = DeviceChoice::automatic;
  bool quiet = false;
  bool force = false;  // write into an existing OUT
};

struct ConvertReport {
  size_t converted = 0;  // tensors quantized or dequantized
  size_t kept = 0;       // tensors copied unchanged
  size_t dropped = 0;    // scale tensors removed (dequantize)
  uint64_t input_bytes = 0, output_bytes = 0;  // files' sizes (shards only)
  double seconds = 0;
  // Where the time of the converted tensors went (wall time, the run's main thread): reading them
  // (pread), and converting them (the engine: on a GPU the copies to and from the device, the kernels
  // and the synchronisation). Writing runs beside them on the writer thread; kept tensors are copied
  // there too.
  double read_seconds = 0, convert_seconds = 0;
  std::string engine;
  std::vector<std::string> notes;  // things the user should know (files left out...)
};

/// One tensor of a quantize plan: kept (with the reason) or quantized (with its scale).
struct PlannedTensor {
  const TensorInfo* info = nullptr;
  bool quantize = false;
  std::string keep_reason;
  ScaleLayout scale;  // when quantized
};

struct QuantizePlan {
  std::vector<std::vector<PlannedTensor>> shards;  // per input shard, in file order
  std::vector<SafetensorsLayout> layouts;          // per output shard
  std::vector<std::string> kept_modules;           // 2-D weights left in high precision
  uint64_t output_tensor_bytes = 0;
};

/// Decides and lays out every tensor; throws on an input that is already quantized or a scale name
/// that collides with an existing tensor.
QuantizePlan plan_quantize(const InputCheckpoint& in, const QuantizeSettings& settings);

ConvertReport quantize_checkpoint(const std::filesystem::path& in, const std::filesystem::path& out,
                                  const QuantizeSettings& settings, const ConvertOptions& options);

ConvertReport dequantize_checkpoint(const std::filesystem::path& in, const std::filesystem::path& out, DType out_dtype,
                                    const ConvertOptions& options);

}  // namespace fp8kit::checkpoint
