// quantize_checkpoint.cpp: high-precision checkpoint -> FP8 checkpoint (see conversion.h).
#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/conversion.h"
#include "checkpoint/conversion_common.h"
#include "checkpoint/format_layout.h"
#include "checkpoint/weight_quantizer.h"
#include "checkpoint/write_queue.h"

namespace fp8kit::checkpoint {
namespace fs = std::filesystem;
namespace {

void refuse_quantized_input(const InputCheckpoint& in) {
  if (in.is_directory() && in.config()) {
    for (const char* key : {"quantization_config", "compression_config"}) {
      if (const auto q = in.config()->find(key); q != in.config()->end() && !q->is_null()) {
        fail((in.directory() / "config.json").string(), "", "already has a ", key, " (",
             q->is_object() ? q->value("quant_method", std::string("?")) : std::string("?"),
             "); dequantize it first (fp8kit dequantize)");
      }
    }
  }
  for (size_t s = 0; s < in.shard_count(); ++s) {
    for (const TensorInfo& t : in.shard(s).tensors()) {
      if (t.dtype == StDType::F8_E4M3 || t.dtype == StDType::F8_E5M2) {
        fail(in.shard(s).path(), t.name, "is already FP8 (", st_dtype_name(t.dtype), "); dequantize the checkpoint first");
      }
    }
  }
}

}  // namespace

QuantizePlan plan_quantize(const InputCheckpoint& in, const QuantizeSettings& settings) {
  const Verdict ok = check_settings(settings);
  FP8KIT_CHECK(ok.ok, ok.reason);
  refuse_quantized_input(in);
  const QuantPolicy policy(settings);
  const StDType qdtype = from_library_dtype(dtype_of(settings.fmt));
  QuantizePlan plan;
  std::set<std::string> kept_modules;
  for (size_t s = 0; s < in.shard_count(); ++s) {
    std::vector<PlannedTensor> items;
    for (const TensorInfo& t : in.shard(s).tensors()) {
      PlannedTensor p;
      p.info = &t;
      if (const auto reason = policy.keep_reason(t)) {
        p.keep_reason = *reason;
        const bool float_matrix = t.shape.size() == 2 && (t.dtype == StDType::F32 || t.dtype == StDType::BF16 ||
                                                           t.dtype == StDType::F16);
        if (float_matrix && t.name.ends_with(".weight")) kept_modules.insert(module_of(t.name));
      } else {
        p.quantize = true;
        p.scale = scale_layout(t, settings);
        if (const auto clash = in.find(p.scale.name)) {
          fail(clash->file->path(), p.scale.name, "already exists, but it is the name ", format_name(settings.format),
               " gives the scale of the quantized weight '", t.name, "'");
        }
      }
      items.push_back(std::move(p));
    }
    plan.shards.push_back(std::move(items));
  }
  plan.kept_modules.assign(kept_modules.begin(), kept_modules.end());
  // Every shard repeats the quantization_config in its metadata, so a single file describes itself.
  const std::string config_text = quantization_config(settings, plan.kept_modules).dump();
  for (size_t s = 0; s < in.shard_count(); ++s) {
    std::vector<TensorSpec> specs;
    for (const PlannedTensor& p : plan.shards[s]) {
      const TensorInfo& t = *p.info;
      if (!p.quantize) {
        specs.push_back({t.name, t.dtype, t.shape});
        continue;
      }
      specs.push_back({t.name, qdtype, t.shape});
      specs.push_back({p.scale.name, p.scale.dtype, p.scale.shape});
    }
    std::map<std::string, std::string> metadata = carried_metadata(in.shard(s));
    metadata[kMetadataQuantizationKey] = config_text;
    plan.layouts.push_back(plan_safetensors(std::move(specs), metadata, in.shard_name(s)));
    plan.output_tensor_bytes += plan.layouts.back().tensor_bytes();
  }
  return plan;
}

ConvertReport quantize_checkpoint(const fs::path& in_path, const fs::path& out_path, const QuantizeSettings& settings,
                                  const ConvertOptions& options) {
  const InputCheckpoint in = InputCheckpoint::open(in_path);
  QuantizePlan plan = plan_quantize(in, settings);
  OutputTarget target(in, out_path, options.force);
  TensorEngine engine(options.device);
  ConvertReport report;
  report.engine = engine.description();
  Progress progress(in.total_tensor_bytes(), options.quiet);
  std::vector<std::unique_ptr<SafetensorsWriter>> writers;
  WriteQueue queue;  // after `writers`: destroyed (joined) first
  // Buffers sized once for the largest converted tensor: growing them tensor by tensor would leave
  // freed blocks resident in the heap. Two sets of output buffers: one filled, one being written.
  QuantizeBuffers buffers;
  uint64_t max_in = 0, max_codes = 0, max_scales = 0;
  for (const auto& shard : plan.shards) {
    for (const PlannedTensor& p : shard) {
      if (!p.quantize) continue;
      max_in = std::max(max_in, p.info->nbytes());
      max_codes = std::max(max_codes, static_cast<uint64_t>(p.info->numel()));
      max_scales = std::max(max_scales, tensor_nbytes(p.scale.dtype, p.scale.shape, "", p.scale.name));
    }
  }
  buffers.input.reserve(max_in);
  buffers.codes.reserve(max_codes);
  buffers.stored_scales.reserve(max_scales);
  HostPinning pinning(engine);  // after the buffers and the queue: unregisters before they are freed
  for (std::vector<uint8_t>* b : {&buffers.input, &buffers.codes, &buffers.stored_scales}) pinning.add(*b);
  for (const uint64_t bytes : {max_codes, max_scales}) {
    std::vector<uint8_t> spare;
    spare.reserve(bytes);
    pinning.add(spare);
    queue.recycle(std::move(spare));
  }
  for (size_t s = 0; s < in.shard_count(); ++s) {
    const SafetensorsFile& file = in.shard(s);
    writers.push_back(std::make_unique<SafetensorsWriter>(target.shard_path(in.shard_name(s)), plan.layouts[s]));
    SafetensorsWriter* writer = writers.back().get();
    for (const PlannedTensor& p : plan.shards[s]) {
      const TensorInfo& t = *p.info;
      if (!p.quantize) {
        queue.push([writer, &file, &t] { writer->copy(t.name, file.fd(), file.file_offset(t)); });
        progress.advance(t.nbytes(), t.name);
        ++report.kept;
        continue;
      }
      read_converted(file, t, buffers.input, report);
      {
        const ScopedSeconds timed(report.convert_seconds);
        quantize_weight(engine, buffers.input.data(), t, p.scale, settings.fmt, buffers, file.path());
      }
      // The written buffers go to the writer thread; quantization continues in the ones it recycled
      // (drain: the previous write has finished and handed its buffers back).
      queue.drain();
      queue.push([writer, &queue, &t, &p, codes = std::exchange(buffers.codes, queue.take_buffer(max_codes)),
                  scales = std::exchange(buffers.stored_scales, queue.take_buffer(max_scales))]() mutable {
        writer->write(t.name, codes.data(), codes.size());
        writer->write(p.scale.name, scales.data(), scales.size());
        queue.recycle(std::move(codes));
        queue.recycle(std::move(scales));
      });
      progress.advance(t.nbytes(), t.name);
      ++report.converted;
    }
    finish_shard(queue, writer, file, plan.layouts[s], report, progress);
  }
  queue.drain();
  std::optional<Json> config = in.config();
  if (config && target.is_directory()) (*config)["quantization_config"] = quantization_config(settings, plan.kept_modules);
  stage_side_files(in, target, plan.layouts, target.is_directory() ? config : std::nullopt, report);
  commit_all(in, writers, target);
  progress.finish();
  report.seconds = progress.seconds();
  return report;
}

}  // namespace fp8kit::checkpoint
