// inspect.cpp: tensor tables, detected schemes, scale ranges and quantization error.
#include "checkpoint/inspect.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/format_layout.h"
#include "checkpoint/progress.h"

namespace fp8kit::checkpoint {
namespace fs = std::filesystem;

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      const std::string_view da(a.data() + i, i2 - i), db(b.data() + j, j2 - j);
      const std::string_view ta = da.substr(std::min(da.find_first_not_of('0'), da.size()));
      const std::string_view tb = db.substr(std::min(db.find_first_not_of('0'), db.size()));
      if (ta.size() != tb.size()) return ta.size() < tb.size();
      if (ta != tb) return ta < tb;
      i = i2;
      j = j2;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

namespace {

bool is_fp8_dtype(StDType t) { return t == StDType::F8_E4M3 || t == StDType::F8_E5M2; }

void inspect_fp8(const InputCheckpoint& in, InspectReport& r) {
  const DetectedFormat hint = detect_checkpoint_format(in);
  r.format = hint.format ? std::string(format_name(*hint.format)) : "fp8 weights, no quantization_config";
  std::map<std::string, std::string> scale_of;  // scale name -> weight name
  for (InspectedTensor& t : r.tensors) {
    const auto loc = in.find(t.name);
    if (!is_fp8_dtype(loc->info->dtype)) continue;
    ++r.fp8_weights;
    std::optional<TensorLocation> scale;
    for (const std::string& n : scale_names_of(t.name)) {
      if ((scale = in.find(n))) break;
    }
    if (!scale) {
      t.scheme = "MISSING SCALE";
      continue;
    }
    scale_of[scale->info->name] = t.name;
    const auto [rows, cols] = matrix_shape(loc->info->shape);
    const ScaleFit fit = fit_scale(scale->info->shape, rows, cols, hint);
    t.scheme = fit.spec ? fit.scheme : "BAD SCALE: " + fit.problem;
    const StDType sd = scale->info->dtype;
    if (sd == StDType::F32 || sd == StDType::BF16 || sd == StDType::F16 || sd == StDType::F8_E8M0) {
      t.scale_range = scale_range(scale->file->read(*scale->info).data(), sd, scale->info->numel());
    }
  }
  for (InspectedTensor& t : r.tensors) {
    if (const auto it = scale_of.find(t.name); it != scale_of.end()) t.scheme = "scale of " + it->second;
  }
}

void inspect_high_precision(const InputCheckpoint& in, const QuantizeSettings& settings, bool measure, DeviceChoice device,
                            bool quiet, InspectReport& r) {
  r.format = "high precision";
  r.settings = describe_settings(settings);
  const QuantizePlan plan = plan_quantize(in, settings);
  r.quantized_tensor_bytes = plan.output_tensor_bytes;
  std::map<std::string, const PlannedTensor*> planned;
  for (const auto& shard : plan.shards) {
    for (const PlannedTensor& p : shard) planned[p.info->name] = &p;
  }
  std::optional<TensorEngine> engine;
  if (measure) engine.emplace(device);
  QuantizeBuffers buffers;
  double signal = 0, noise = 0;
  r.min_sqnr_db = std::numeric_limits<double>::infinity();
  uint64_t todo = 0;
  for (const auto& [name, p] : planned) todo += p->quantize ? p->info->nbytes() : 0;
  Progress progress(measure ? todo : 0, quiet || !measure);
  for (InspectedTensor& t : r.tensors) {
    const PlannedTensor& p = *planned.at(t.name);
    t.action = p.quantize ? "quantize" : "keep (" + p.keep_reason + ")";
    if (!p.quantize) continue;
    ++r.would_quantize;
    t.scheme = describe_settings(settings);
    if (!measure) continue;
    const auto loc = in.find(t.name);
    buffers.input.resize(loc->info->nbytes());
    loc->file->read(*loc->info, buffers.input.data());
    const uint8_t* data = buffers.input.data();
    quantize_weight(*engine, data, *loc->info, p.scale, settings.fmt, buffers, loc->file->path());
    t.scale_range = scale_range(buffers.stored_scales.data(), p.scale.dtype, static_cast<int64_t>(buffers.scales.size()));
    t.error = measure_error(*engine, data, *loc->info, p.scale, settings.fmt, buffers);
    progress.advance(loc->info->nbytes(), t.name);
    signal += t.error->signal;
    noise += t.error->noise;
    if (t.error->sqnr_db < r.min_sqnr_db) {
      r.min_sqnr_db = t.error->sqnr_db;
      r.worst_tensor = t.name;
    }
    r.max_rel_err = std::max(r.max_rel_err, t.error->max_rel_err);
  }
  progress.finish();
  r.overall_sqnr_db = noise > 0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
}

}  // namespace

InspectReport inspect_checkpoint(const fs::path& in_path, const QuantizeSettings& settings, bool measure,
                                 DeviceChoice device, bool quiet) {
  const InputCheckpoint in = InputCheckpoint::open(in_path);
  InspectReport r;
  r.path = in_path.string();
  bool has_fp8 = false;
  for (size_t s = 0; s < in.shard_count(); ++s) {
    r.file_bytes += in.shard(s).file_size();
    for (const TensorInfo& t : in.shard(s).tensors()) {
      InspectedTensor it;
      it.name = t.name;
      it.dtype = std::string(st_dtype_name(t.dtype));
      it.shape = shape_string(t.shape);
      it.file = in.shard_name(s);
      it.bytes = t.nbytes();
      r.tensor_bytes += t.nbytes();
      has_fp8 = has_fp8 || is_fp8_dtype(t.dtype);
      r.tensors.push_back(std::move(it));
    }
  }
  std::sort(r.tensors.begin(), r.tensors.end(),
            [](const InspectedTensor& a, const InspectedTensor& b) { return natural_less(a.name, b.name); });
  if (has_fp8) {
    FP8KIT_CHECK(!measure, in_path.string(), ": --error measures a high-precision checkpoint; this one is already FP8");
    inspect_fp8(in, r);
  } else {
    inspect_high_precision(in, settings, measure, device, quiet, r);
  }
  return r;
}

}  // namespace fp8kit::checkpoint
