// inspect.cpp: `fp8kit inspect IN [--error] [--json]`: the tensors of a checkpoint, their detected FP8
// scheme and scale range, and with --error the quantization error a scheme would cause per tensor.
#include <cmath>
#include <cstdio>

#include "checkpoint/inspect.h"
#include "checkpoint/progress.h"
#include "cli_options.h"
#include "command_line.h"
#include "commands.h"

namespace fp8kit::cli {
namespace {

using checkpoint::InspectReport;
using checkpoint::Json;

void print_help() {
  std::printf(
      "usage: fp8kit inspect IN [--error] [--json] [quantization options]\n\n"
      "Lists the tensors of a safetensors file or model directory: name, dtype, shape, the FP8 scheme\n"
      "detected from the scale shapes (FP8 checkpoints) or what quantize would do (high-precision ones),\n"
      "and the range of the scales. --error quantizes each selected tensor of a high-precision checkpoint\n"
      "in memory with the chosen scheme and reports SQNR (dB, higher is better), the largest error\n"
      "relative to the tensor's max |x|, and the share of non-zero values that became zero. Nothing is\n"
      "written.\n\n"
      "options:\n"
      "  --error             measure the quantization error per tensor\n"
      "  --json              machine-readable output on stdout\n"
      "  --device D          auto (default), cpu, cuda (for --error)\n"
      "  --threads N         CPU threads\n"
      "  --quiet             no progress output\n"
      "quantization options (the scheme --error evaluates):\n%s",
      kQuantizeOptionsHelp);
}

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json to_json(const InspectReport& r) {
  Json tensors = Json::array();
  for (const auto& t : r.tensors) {
    Json j = {{"name", t.name}, {"dtype", t.dtype}, {"shape", Json::parse(t.shape)}, {"file", t.file},
              {"bytes", t.bytes}};
    if (!t.scheme.empty()) j["scheme"] = t.scheme;
    if (!t.action.empty()) j["action"] = t.action;
    if (t.scale_range) j["scale_range"] = {t.scale_range->first, t.scale_range->second};
    if (t.error) {
      j["sqnr_db"] = number_or_null(t.error->sqnr_db);
      j["max_rel_err"] = t.error->max_rel_err;
      j["underflow"] = t.error->underflow;
    }
    tensors.push_back(std::move(j));
  }
  Json summary = {{"tensors", r.tensors.size()}, {"tensor_bytes", r.tensor_bytes}, {"file_bytes", r.file_bytes},
                  {"fp8_weights", r.fp8_weights}};
  if (r.format == "high precision") {
    summary["would_quantize"] = r.would_quantize;
    summary["quantized_tensor_bytes"] = r.quantized_tensor_bytes;
    if (!r.worst_tensor.empty()) {
      summary["overall_sqnr_db"] = number_or_null(r.overall_sqnr_db);
      summary["min_sqnr_db"] = number_or_null(r.min_sqnr_db);
      summary["worst_tensor"] = r.worst_tensor;
      summary["max_rel_err"] = r.max_rel_err;
    }
  }
  Json root = {{"path", r.path}, {"format", r.format}, {"tensors", tensors}, {"summary", summary}};
  if (!r.settings.empty()) root["settings"] = r.settings;
  return root;
}

void print_table(const InspectReport& r, bool with_error) {
  size_t w = 4;
  for (const auto& t : r.tensors) w = std::max(w, t.name.size());
  w = std::min<size_t>(w, 64);
  std::printf("%-*s %-8s %-14s %-24s %-21s", static_cast<int>(w), "name", "dtype", "shape", "scheme / action",
              "scale range");
  if (with_error) std::printf(" %9s %12s %9s", "SQNR dB", "max|err|/amax", "underflow");
  std::printf("\n");
  for (const auto& t : r.tensors) {
    const std::string what = !t.scheme.empty() && t.action.empty() ? t.scheme : t.action;
    char range[48] = "-";
    if (t.scale_range) std::snprintf(range, sizeof range, "%.3g..%.3g", t.scale_range->first, t.scale_range->second);
    std::printf("%-*s %-8s %-14s %-24s %-21s", static_cast<int>(w), t.name.c_str(), t.dtype.c_str(), t.shape.c_str(),
                what.c_str(), range);
    if (with_error && t.error) {
      std::printf(" %9.2f %12.4f %8.3f%%", t.error->sqnr_db, t.error->max_rel_err, 100.0 * t.error->underflow);
    }
    std::printf("\n");
  }
  std::printf("\n%zu tensors, %s of tensor data in %s; format: %s\n", r.tensors.size(),
              checkpoint::human_bytes(r.tensor_bytes).c_str(), r.path.c_str(), r.format.c_str());
  if (r.format == "high precision") {
    std::printf("quantize (%s) would convert %zu tensors: tensor data %s -> %s (%.2fx smaller)\n", r.settings.c_str(),
                r.would_quantize, checkpoint::human_bytes(r.tensor_bytes).c_str(),
                checkpoint::human_bytes(r.quantized_tensor_bytes).c_str(),
                r.quantized_tensor_bytes ? static_cast<double>(r.tensor_bytes) / static_cast<double>(r.quantized_tensor_bytes) : 0.0);
    if (with_error && !r.worst_tensor.empty()) {
      std::printf("error over the quantized tensors: SQNR %.2f dB overall, worst %.2f dB (%s); max |err|/amax %.4f\n",
                  r.overall_sqnr_db, r.min_sqnr_db, r.worst_tensor.c_str(), r.max_rel_err);
    }
  } else {
    std::printf("%zu FP8 weights\n", r.fp8_weights);
  }
}

}  // namespace

int run_inspect(const Args& args) {
  return run_verb("inspect", [&] {
    const std::optional<InspectCommand> c = parse_inspect_command(args);
    if (!c) {
      print_help();
      return 0;
    }
    apply_threads(c->threads);
    const InspectReport r = checkpoint::inspect_checkpoint(c->in, c->settings, c->error, c->device, c->quiet || c->json);
    if (c->json) {
      std::printf("%s\n", to_json(r).dump(2).c_str());
    } else {
      print_table(r, c->error);
    }
    return 0;
  });
}

}  // namespace fp8kit::cli
