// quant_settings.cpp: names and consistency of the quantize settings.
#include "checkpoint/quant_settings.h"

#include <charconv>

namespace fp8kit::checkpoint {

std::string_view format_name(CheckpointFormat f) {
  switch (f) {
    case CheckpointFormat::fp8: return "fp8";
    case CheckpointFormat::compressed_tensors: return "compressed-tensors";
    case CheckpointFormat::fbgemm: return "fbgemm";
  }
  return "?";
}

std::optional<CheckpointFormat> parse_format(std::string_view s) {
  if (s == "fp8") return CheckpointFormat::fp8;
  if (s == "compressed-tensors") return CheckpointFormat::compressed_tensors;
  if (s == "fbgemm" || s == "fbgemm_fp8") return CheckpointFormat::fbgemm;
  return std::nullopt;
}

std::string_view scheme_name(WeightScheme s) {
  switch (s) {
    case WeightScheme::block: return "block";
    case WeightScheme::channel: return "channel";
    case WeightScheme::tensor: return "tensor";
  }
  return "?";
}

std::optional<WeightScheme> parse_scheme(std::string_view s) {
  if (s == "block") return WeightScheme::block;
  if (s == "channel" || s == "row") return WeightScheme::channel;
  if (s == "tensor") return WeightScheme::tensor;
  return std::nullopt;
}

WeightScheme QuantizeSettings::effective_scheme() const {
  if (scheme) return *scheme;
  return format == CheckpointFormat::fbgemm ? WeightScheme::channel : WeightScheme::block;
}

Verdict check_settings(const QuantizeSettings& s) {
  const WeightScheme scheme = s.effective_scheme();
  if (s.format == CheckpointFormat::fp8 && scheme == WeightScheme::channel) {
    return Verdict::no("the fp8 format has block and per-tensor layouts only (its loaders have no per-channel "
                       "weight_scale_inv); use --format fbgemm or compressed-tensors for channel scales");
  }
  if (s.format == CheckpointFormat::fbgemm && scheme != WeightScheme::channel) {
    return Verdict::no(detail::concat("the fbgemm format is row-wise (one scale per output channel); --scheme ",
                                      scheme_name(scheme), " has no fbgemm layout"));
  }
  if (s.fmt == Fp8Format::e5m2 && s.format != CheckpointFormat::fp8) {
    return Verdict::no(detail::concat("--fmt e5m2: ", format_name(s.format),
                                      " loaders read weights as e4m3 only; use --format fp8 for e5m2"));
  }
  if (scheme == WeightScheme::block && (s.block_rows < 1 || s.block_cols < 1)) {
    return Verdict::no(detail::concat("--block must be positive, got ", s.block_rows, "x", s.block_cols));
  }
  return Verdict::yes();
}

std::string describe_settings(const QuantizeSettings& s) {
  const WeightScheme scheme = s.effective_scheme();
  std::string out = detail::concat(format_name(s.format), " ", scheme_name(scheme));
  if (scheme == WeightScheme::block) out += detail::concat(" ", s.block_rows, "x", s.block_cols);
  out += detail::concat(" ", s.fmt == Fp8Format::e4m3fn ? "e4m3" : "e5m2", s.ue8m0 ? " ue8m0-scales" : " fp32-scales");
  return out;
}

std::optional<std::pair<int64_t, int64_t>> parse_block(std::string_view s) {
  auto number = [](std::string_view t, int64_t& v) {
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc() && p == t.data() + t.size() && v > 0;
  };
  const size_t x = s.find('x');
  int64_t r = 0, c = 0;
  if (x == std::string_view::npos) {
    if (!number(s, r)) return std::nullopt;
    return std::make_pair(r, r);
  }
  if (!number(s.substr(0, x), r) || !number(s.substr(x + 1), c)) return std::nullopt;
  return std::make_pair(r, c);
}

}  // namespace fp8kit::checkpoint
