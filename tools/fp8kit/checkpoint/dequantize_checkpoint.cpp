// dequantize_checkpoint.cpp: FP8 checkpoint (fp8 / compressed-tensors / fbgemm) -> high precision.
//
// A tensor is an FP8 weight iff its dtype is F8_E4M3 or F8_E5M2; its scale is the partner tensor
// "<name>_scale_inv" or "<name>_scale", in any shard. A missing scale is an error (DeepSeek's
// fp8_cast_bf16.py only warns and writes raw FP8 bytes). The granularity comes from the scale's
// shape, the block size from config.json when given. y = round(decode(q) * s) in fp32, which is
// fp8_cast_bf16's weight_dequant bit for bit for bf16 output. Scale tensors, all-zero
// weight_zero_point and input_scale tensors of dequantized modules, and quantization_config go away.
#include <algorithm>
#include <cstring>
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

struct FP8Weight {
  TensorLocation scale;
  ScaleSpec spec;
  int64_t rows = 0, cols = 0;
};

struct DequantizePlan {
  std::map<std::string, FP8Weight> weights;  // by weight name
  std::set<std::string> dropped;             // scales and companions
  std::vector<SafetensorsLayout> layouts;
};

bool is_fp8_dtype(StDType t) { return t == StDType::F8_E4M3 || t == StDType::F8_E5M2; }

bool is_scale_dtype(StDType t) {
  return t == StDType::F32 || t == StDType::BF16 || t == StDType::F16 || t == StDType::F8_E8M0;
}

bool all_zero(const SafetensorsFile& f, const TensorInfo& t) {
  const std::vector<uint8_t> bytes = f.read(t);
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

FP8Weight find_scale(const InputCheckpoint& in, const SafetensorsFile& file, const TensorInfo& w,
                     const DetectedFormat& hint) {
  FP8Weight fw;
  std::optional<TensorLocation> scale;
  for (const std::string& name : scale_names_of(w.name)) {
    if ((scale = in.find(name))) break;
  }
  if (!scale) fail(file.path(), w.name, "is FP8 (", st_dtype_name(w.dtype), ") but has no scale tensor (looked for '",
                   w.name, "_scale_inv' and '", w.name, "_scale')");
  const TensorInfo& s = *scale->info;
  if (!is_scale_dtype(s.dtype)) {
    fail(scale->file->path(), s.name, "scale dtype ", st_dtype_name(s.dtype), " is not F32, BF16, F16 or F8_E8M0");
  }
  if (w.shape.size() > 2) {
    fail(file.path(), w.name, "FP8 weight of rank ", w.shape.size(), " ", shape_string(w.shape),
         " is not supported (only 1-D and 2-D weights)");
  }
  const auto [rows, cols] = matrix_shape(w.shape);
  const ScaleFit fit = fit_scale(s.shape, rows, cols, hint);
  if (!fit.spec) fail(scale->file->path(), s.name, fit.problem);
  fw.scale = *scale;
  fw.spec = *fit.spec;
  fw.rows = rows;
  fw.cols = cols;
  return fw;
}

DequantizePlan plan_dequantize(const InputCheckpoint& in, DType out_dtype) {
  const DetectedFormat hint = detect_checkpoint_format(in);
  DequantizePlan plan;
  for (size_t s = 0; s < in.shard_count(); ++s) {
    const SafetensorsFile& file = in.shard(s);
    for (const TensorInfo& t : file.tensors()) {
      if (t.dtype == StDType::F8_E4M3FNUZ || t.dtype == StDType::F8_E5M2FNUZ) {
        fail(file.path(), t.name, st_dtype_name(t.dtype), " (AMD fnuz FP8) is not supported");
      }
      if (!is_fp8_dtype(t.dtype)) continue;
      FP8Weight fw = find_scale(in, file, t, hint);
      plan.dropped.insert(fw.scale.info->name);
      const std::string module = module_of(t.name);
      for (const char* companion : {".weight_zero_point", ".input_scale", ".input_scale_ub"}) {
        const auto c = in.find(module + companion);
        if (!c) continue;
        if (std::string(companion) == ".weight_zero_point" && !all_zero(*c->file, *c->info)) {
          fail(c->file->path(), c->info->name, "non-zero zero points (asymmetric quantization) are not supported");
        }
        plan.dropped.insert(c->info->name);
      }
      plan.weights.emplace(t.name, fw);
    }
  }
  // A leftover "*.weight_scale(_inv)" whose weight is not FP8 means the checkpoint is inconsistent.
  for (size_t s = 0; s < in.shard_count(); ++s) {
    for (const TensorInfo& t : in.shard(s).tensors()) {
      if (plan.dropped.count(t.name)) continue;
      for (const char* suffix : {"_scale_inv", "_scale"}) {
        if (!t.name.ends_with(std::string(".weight") + suffix)) continue;
        const std::string weight = t.name.substr(0, t.name.size() - std::strlen(suffix));
        const auto w = in.find(weight);
        fail(in.shard(s).path(), t.name, "is a weight scale, but its weight '", weight, "' ",
             w ? detail::concat("is ", st_dtype_name(w->info->dtype), ", not FP8") : std::string("does not exist"));
      }
    }
  }
  const StDType out_st = from_library_dtype(out_dtype);
  for (size_t s = 0; s < in.shard_count(); ++s) {
    std::vector<TensorSpec> specs;
    for (const TensorInfo& t : in.shard(s).tensors()) {
      if (plan.dropped.count(t.name)) continue;
      specs.push_back({t.name, plan.weights.count(t.name) ? out_st : t.dtype, t.shape});
    }
    plan.layouts.push_back(plan_safetensors(std::move(specs), carried_metadata(in.shard(s)), in.shard_name(s)));
  }
  return plan;
}

/// The scale grid as the library reads it: f32 (F32 as is, BF16/F16 widened exactly) or ue8m0 bytes.
HostScales load_scales(const TensorLocation& loc, std::vector<uint8_t>& buf) {
  const TensorInfo& s = *loc.info;
  const std::vector<uint8_t> stored = loc.file->read(s);
  const uint8_t* p = stored.data();
  const int64_t n = s.numel();
  if (s.dtype == StDType::F8_E8M0) {
    buf.assign(p, p + n);
    for (int64_t i = 0; i < n; ++i) {
      if (buf[static_cast<size_t>(i)] == 255) fail(loc.file->path(), s.name, "UE8M0 scale ", i, " is 255 (NaN)");
    }
    return {buf.data(), DType::ue8m0, 1, n};
  }
  buf.resize(static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) {
    const float v = load_float(p, s.dtype, i);
    std::memcpy(&buf[static_cast<size_t>(i) * 4], &v, 4);
  }
  return {buf.data(), DType::f32, 1, n};
}

}  // namespace

ConvertReport dequantize_checkpoint(const fs::path& in_path, const fs::path& out_path, DType out_dtype,
                                    const ConvertOptions& options) {
  FP8KIT_CHECK(is_high_precision(out_dtype), "--dtype must be bf16, fp16 or fp32, got ", dtype_name(out_dtype));
  const InputCheckpoint in = InputCheckpoint::open(in_path);
  const DequantizePlan plan = plan_dequantize(in, out_dtype);
  FP8KIT_CHECK(!plan.weights.empty(), in_path.string(), ": no FP8 weights to dequantize");
  OutputTarget target(in, out_path, options.force);
  TensorEngine engine(options.device);
  ConvertReport report;
  report.engine = engine.description();
  report.dropped = plan.dropped.size();
  Progress progress(in.total_tensor_bytes(), options.quiet);
  std::vector<std::unique_ptr<SafetensorsWriter>> writers;
  WriteQueue queue;  // after `writers`: destroyed (joined) first
  // Buffers sized once for the largest weight (growing them would leave freed blocks resident), two
  // output buffers: one filled, one being written.
  std::vector<uint8_t> scale_buf, in_buf, out_buf;
  uint64_t max_in = 0;
  for (const auto& [name, fw] : plan.weights) max_in = std::max(max_in, static_cast<uint64_t>(fw.rows * fw.cols));
  in_buf.reserve(max_in);
  out_buf.reserve(max_in * static_cast<uint64_t>(dtype_size(out_dtype)));
  std::vector<uint8_t> spare;
  spare.reserve(max_in * static_cast<uint64_t>(dtype_size(out_dtype)));
  HostPinning pinning(engine);  // after the buffers and the queue: unregisters before they are freed
  for (std::vector<uint8_t>* b : {&in_buf, &out_buf, &spare}) pinning.add(*b);
  queue.recycle(std::move(spare));
  for (size_t s = 0; s < in.shard_count(); ++s) {
    const SafetensorsFile& file = in.shard(s);
    writers.push_back(std::make_unique<SafetensorsWriter>(target.shard_path(in.shard_name(s)), plan.layouts[s]));
    SafetensorsWriter* writer = writers.back().get();
    for (const TensorInfo& t : file.tensors()) {
      if (plan.dropped.count(t.name)) {
        progress.advance(t.nbytes(), t.name);
        continue;
      }
      const auto w = plan.weights.find(t.name);
      if (w == plan.weights.end()) {
        queue.push([writer, &file, &t] { writer->copy(t.name, file.fd(), file.file_offset(t)); });
        progress.advance(t.nbytes(), t.name);
        ++report.kept;
        continue;
      }
      const FP8Weight& fw = w->second;
      HostScales scales = load_scales(fw.scale, scale_buf);
      const ScaleGridShape grid = scale_grid_shape(fw.rows, fw.cols, fw.spec);
      scales.rows = grid.rows;
      scales.cols = grid.cols;
      ScaleSpec spec = fw.spec;
      if (scales.dtype == DType::ue8m0) spec = spec.pow2();
      out_buf.resize(static_cast<size_t>(t.numel()) * static_cast<size_t>(dtype_size(out_dtype)));
      read_converted(file, t, in_buf, report);
      {
        const ScopedSeconds timed(report.convert_seconds);
        engine.dequantize({in_buf.data(), *to_library_dtype(t.dtype), fw.rows, fw.cols}, scales,
                          {out_buf.data(), out_dtype, fw.rows, fw.cols}, spec);
      }
      queue.drain();  // the previous write has finished and handed its buffer back
      queue.push([writer, &queue, &t, out = std::exchange(out_buf, queue.take_buffer(out_buf.capacity()))]() mutable {
        writer->write(t.name, out.data(), out.size());
        queue.recycle(std::move(out));
      });
      progress.advance(t.nbytes(), t.name);
      ++report.converted;
    }
    finish_shard(queue, writer, file, plan.layouts[s], report, progress);
  }
  queue.drain();
  std::optional<Json> config = in.config();
  if (config) {
    config->erase("quantization_config");
    config->erase("compression_config");
  }
  stage_side_files(in, target, plan.layouts, target.is_directory() ? config : std::nullopt, report);
  commit_all(in, writers, target);
  progress.finish();
  report.seconds = progress.seconds();
  return report;
}

}  // namespace fp8kit::checkpoint
