// format_layout.cpp: scale naming, scale shapes, quantization_config and format detection.
#include "checkpoint/format_layout.h"

#include "checkpoint/checkpoint_error.h"

namespace fp8kit::checkpoint {
namespace {

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::string fmt_name(Fp8Format f) { return f == Fp8Format::e4m3fn ? "e4m3" : "e5m2"; }

Json compressed_tensors_config(const QuantizeSettings& s, const std::vector<std::string>& kept) {
  const WeightScheme scheme = s.effective_scheme();
  Json weights = {{"num_bits", 8}, {"type", "float"}, {"symmetric", true}, {"dynamic", false},
                  {"strategy", std::string(scheme_name(scheme))}, {"group_size", nullptr},
                  {"block_structure", nullptr}, {"observer", "minmax"}};
  Json inputs = {{"num_bits", 8}, {"type", "float"}, {"symmetric", true}, {"dynamic", true},
                 {"strategy", "token"}, {"group_size", nullptr}, {"block_structure", nullptr}, {"observer", nullptr}};
  if (scheme == WeightScheme::block) {
    weights["block_structure"] = {s.block_rows, s.block_cols};
    // FP8_BLOCK preset: weights in blocks, activations dynamic per 1 x block_cols group.
    inputs["strategy"] = "group";
    inputs["group_size"] = s.block_cols;
  }
  Json group = {{"targets", {"Linear"}}, {"weights", weights}, {"input_activations", inputs},
                {"output_activations", nullptr}, {"format", "float-quantized"}};
  return {{"quant_method", "compressed-tensors"},
          {"format", "float-quantized"},
          {"quantization_status", "compressed"},
          {"config_groups", {{"group_0", group}}},
          {"ignore", kept},
          {"kv_cache_scheme", nullptr}};
}

std::optional<std::pair<int64_t, int64_t>> read_pair(const Json& j) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number_integer() || !j[1].is_number_integer()) return std::nullopt;
  const int64_t a = j[0].get<int64_t>(), b = j[1].get<int64_t>();
  if (a < 1 || b < 1) return std::nullopt;
  return std::make_pair(a, b);
}

}  // namespace

std::pair<int64_t, int64_t> matrix_shape(const std::vector<int64_t>& shape) {
  if (shape.empty()) return {1, 1};
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  return {rows, shape.back()};
}

ScaleLayout scale_layout(const TensorInfo& weight, const QuantizeSettings& settings) {
  ScaleLayout l;
  const auto [rows, cols] = matrix_shape(weight.shape);
  l.rows = rows;
  l.cols = cols;
  const WeightScheme scheme = settings.effective_scheme();
  switch (scheme) {
    case WeightScheme::block:
      l.spec = ScaleSpec::block(settings.block_rows, settings.block_cols);
      l.shape = {cdiv(rows, settings.block_rows), cdiv(cols, settings.block_cols)};
      break;
    case WeightScheme::channel:
      l.spec = ScaleSpec::per_row();
      l.shape = {rows, 1};
      break;
    case WeightScheme::tensor:
      l.spec = ScaleSpec::per_tensor();
      // fp8 (HF FP8Linear with weight_block_size null) holds a rank-0 scalar; compressed-tensors (1,).
      l.shape = settings.format == CheckpointFormat::fp8 ? std::vector<int64_t>{} : std::vector<int64_t>{1};
      break;
  }
  if (settings.ue8m0) l.spec = l.spec.pow2();
  switch (settings.format) {
    case CheckpointFormat::fp8:
      l.name = weight.name + "_scale_inv";
      l.dtype = StDType::F32;
      break;
    case CheckpointFormat::compressed_tensors:
      l.name = weight.name + "_scale";
      l.dtype = weight.dtype;  // compressed-tensors stores scales in the original weight dtype
      break;
    case CheckpointFormat::fbgemm:
      l.name = weight.name + "_scale";
      l.dtype = StDType::F32;
      break;
  }
  return l;
}

Json quantization_config(const QuantizeSettings& s, const std::vector<std::string>& kept) {
  switch (s.format) {
    case CheckpointFormat::fp8: {
      Json c = {{"quant_method", "fp8"}, {"fmt", fmt_name(s.fmt)}, {"activation_scheme", "dynamic"}};
      if (s.effective_scheme() == WeightScheme::block) {
        c["weight_block_size"] = {s.block_rows, s.block_cols};
      } else {
        c["weight_block_size"] = nullptr;
      }
      if (s.ue8m0) c["scale_fmt"] = "ue8m0";
      c["modules_to_not_convert"] = kept;
      return c;
    }
    case CheckpointFormat::compressed_tensors: return compressed_tensors_config(s, kept);
    case CheckpointFormat::fbgemm:
      return {{"quant_method", "fbgemm_fp8"}, {"activation_scale_ub", 1200.0}, {"modules_to_not_convert", kept}};
  }
  return Json::object();
}

DetectedFormat detect_format(const std::optional<Json>& config, const std::string& config_file) {
  DetectedFormat d;
  if (!config) return d;
  const Json* q = nullptr;
  for (const char* key : {"quantization_config", "compression_config"}) {
    if (const auto it = config->find(key); it != config->end() && it->is_object()) {
      q = &*it;
      break;
    }
  }
  if (q == nullptr) return d;
  const std::string method = q->value("quant_method", std::string());
  if (method == "fp8") {
    d.format = CheckpointFormat::fp8;
    if (const auto b = q->find("weight_block_size"); b != q->end() && !b->is_null()) {
      d.block = read_pair(*b);
      if (!d.block) fail(config_file, "", "quantization_config.weight_block_size ", b->dump(), " is not [rows, cols]");
    }
    d.ue8m0 = q->value("scale_fmt", std::string()) == "ue8m0";
  } else if (method == "fbgemm_fp8") {
    d.format = CheckpointFormat::fbgemm;
  } else if (method == "compressed-tensors") {
    d.format = CheckpointFormat::compressed_tensors;
    const auto groups = q->find("config_groups");
    if (groups != q->end() && groups->is_object()) {
      for (const auto& [name, g] : groups->items()) {
        if (!g.is_object() || !g.contains("weights") || !g["weights"].is_object()) continue;
        const Json& w = g["weights"];
        if (w.value("type", std::string()) != "float" || w.value("num_bits", 0) != 8) {
          fail(config_file, "", "compressed-tensors group '", name, "' is not 8-bit float quantization (", w.dump(), ")");
        }
        if (const auto b = w.find("block_structure"); b != w.end() && !b->is_null()) d.block = read_pair(*b);
        if (const auto g2 = w.find("group_size"); g2 != w.end() && g2->is_number_integer()) {
          d.group_size = g2->get<int64_t>();
        }
      }
    }
  } else {
    fail(config_file, "", "quantization_config.quant_method \"", method,
         "\" is not an FP8 format this tool reads (fp8, compressed-tensors, fbgemm_fp8)");
  }
  return d;
}

DetectedFormat detect_checkpoint_format(const InputCheckpoint& in) {
  const std::string config_file = (in.directory() / "config.json").string();
  if (in.config() && (in.config()->contains("quantization_config") || in.config()->contains("compression_config"))) {
    return detect_format(in.config(), config_file);
  }
  const auto& meta = in.shard(0).metadata();
  const auto it = meta.find(kMetadataQuantizationKey);
  if (it == meta.end()) return {};
  const std::string source = in.shard(0).path() + " __metadata__";
  Json wrapped = Json::object();
  wrapped["quantization_config"] = parse_strict_json(it->second, source, 16);
  return detect_format(wrapped, source);
}

std::vector<std::string> scale_names_of(const std::string& weight_name) {
  return {weight_name + "_scale_inv", weight_name + "_scale"};
}

ScaleFit fit_scale(const std::vector<int64_t>& shape, int64_t rows, int64_t cols, const DetectedFormat& hint) {
  ScaleFit f;
  int64_t numel = 1;
  for (const int64_t d : shape) numel *= d;
  auto block = [&](int64_t br, int64_t bc) {
    f.spec = ScaleSpec::block(br, bc);
    f.scheme = br == 1 ? detail::concat("group 1x", bc) : detail::concat("block ", br, "x", bc);
    return f;
  };
  const bool two_d = shape.size() == 2;
  auto fits = [&](int64_t br, int64_t bc) {
    return two_d && br >= 1 && bc >= 1 && cdiv(rows, br) == shape[0] && cdiv(cols, bc) == shape[1];
  };
  // One scale for the whole weight (also a 1x1 block grid or a 1-row weight's row scale: the same
  // arithmetic).
  if (numel == 1 && shape.size() <= 2) {
    f.spec = ScaleSpec::per_tensor();
    f.scheme = "tensor";
    return f;
  }
  if (hint.block && fits(hint.block->first, hint.block->second)) return block(hint.block->first, hint.block->second);
  if (hint.group_size && fits(1, *hint.group_size)) return block(1, *hint.group_size);
  if ((shape.size() == 1 && shape[0] == rows) || (two_d && shape[0] == rows && shape[1] == 1)) {
    f.spec = ScaleSpec::per_row();
    f.scheme = "channel";
    return f;
  }
  if (!hint.block && fits(128, 128)) return block(128, 128);
  // Without a configured block size, a grid that divides the weight exactly into square blocks is
  // read as such (what transformers' Fp8Dequantize does); anything else is ambiguous.
  if (!hint.block && two_d && shape[0] > 0 && shape[1] > 0 && rows % shape[0] == 0 && cols % shape[1] == 0 &&
      rows / shape[0] == cols / shape[1]) {
    return block(rows / shape[0], cols / shape[1]);
  }
  f.problem = detail::concat("scale grid ", shape_string(shape), " does not fit a [", rows, ", ", cols, "] weight",
                             hint.block ? detail::concat(" with the config's ", hint.block->first, "x",
                                                         hint.block->second, " blocks")
                                        : std::string(" (not per-tensor, per-channel, 128x128 blocks or exact square "
                                                      "blocks; give weight_block_size in config.json)"));
  return f;
}

}  // namespace fp8kit::checkpoint
