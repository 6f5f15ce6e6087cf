// cli_options.cpp: parsing of the checkpoint verbs' shared options.
#include "cli_options.h"

#include <charconv>
#include <cstdlib>

#include "checkpoint/quant_policy.h"

namespace fp8kit::cli {

const char* const kQuantizeOptionsHelp =
    "  --format F          fp8 (DeepSeek/HF weight_scale_inv, default), compressed-tensors, fbgemm\n"
    "  --scheme S          block (default), channel (default for fbgemm), tensor\n"
    "  --block RxC         block size for --scheme block (default 128x128)\n"
    "  --fmt e4m3|e5m2     FP8 format of the weights (default e4m3; e5m2 only with --format fp8)\n"
    "  --scale-format F    fp32 (default) or ue8m0: power-of-two scales, stored as power-of-two values\n"
    "                      in the format's scale dtype (fp8 adds \"scale_fmt\": \"ue8m0\" to the config)\n"
    "  --include RE        also quantize 1-D/2-D float tensors whose name matches RE (repeatable)\n"
    "  --exclude RE        never quantize tensors whose name matches RE (repeatable; wins over --include)\n";

const std::string& ArgCursor::value(const std::string& option) {
  if (done()) throw UsageError{"option " + option + " needs a value"};
  return next();
}

bool parse_quantize_option(const std::string& opt, ArgCursor& cur, checkpoint::QuantizeSettings& s) {
  using namespace checkpoint;
  if (opt == "--format") {
    const std::string& v = cur.value(opt);
    const auto f = parse_format(v);
    if (!f) throw UsageError{"--format must be fp8, compressed-tensors or fbgemm, got '" + v + "'"};
    s.format = *f;
  } else if (opt == "--scheme") {
    const std::string& v = cur.value(opt);
    const auto sc = parse_scheme(v);
    if (!sc) throw UsageError{"--scheme must be block, channel or tensor, got '" + v + "'"};
    s.scheme = *sc;
  } else if (opt == "--block") {
    const std::string& v = cur.value(opt);
    const auto b = parse_block(v);
    if (!b) throw UsageError{"--block must be RxC with positive integers (e.g. 128x128), got '" + v + "'"};
    s.block_rows = b->first;
    s.block_cols = b->second;
  } else if (opt == "--fmt") {
    const std::string& v = cur.value(opt);
    if (v == "e4m3" || v == "e4m3fn") s.fmt = Fp8Format::e4m3fn;
    else if (v == "e5m2") s.fmt = Fp8Format::e5m2;
    else throw UsageError{"--fmt must be e4m3 or e5m2, got '" + v + "'"};
  } else if (opt == "--scale-format") {
    const std::string& v = cur.value(opt);
    if (v == "fp32" || v == "float") s.ue8m0 = false;
    else if (v == "ue8m0") s.ue8m0 = true;
    else throw UsageError{"--scale-format must be fp32 or ue8m0, got '" + v + "'"};
  } else if (opt == "--include") {
    s.include.push_back(cur.value(opt));
  } else if (opt == "--exclude") {
    s.exclude.push_back(cur.value(opt));
  } else {
    return false;
  }
  return true;
}

checkpoint::DeviceChoice parse_device_option(const std::string& value) {
  const auto d = checkpoint::parse_device(value);
  if (!d) throw UsageError{"--device must be auto, cpu or cuda, got '" + value + "'"};
  return *d;
}

int64_t parse_int_option(const std::string& option, const std::string& value, int64_t min, int64_t max) {
  int64_t n = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || p != value.data() + value.size() || n < min || n > max) {
    throw UsageError{option + " needs an integer in " + std::to_string(min) + ".." + std::to_string(max) + ", got '" +
                     value + "'"};
  }
  return n;
}

int parse_threads_option(const std::string& value) {
  return static_cast<int>(parse_int_option("--threads", value, 1, 4096));
}

void apply_threads(const std::optional<int>& threads) {
  // The CPU backend reads FP8KIT_NUM_THREADS once, on first use; no library call has run yet.
  if (threads) ::setenv("FP8KIT_NUM_THREADS", std::to_string(*threads).c_str(), 1);
}

void check_quantize_settings(const checkpoint::QuantizeSettings& s) {
  if (const Verdict v = checkpoint::check_settings(s); !v) throw UsageError{v.reason};
  try {
    const checkpoint::QuantPolicy policy(s);
  } catch (const Error& e) {
    throw UsageError{e.what()};
  }
}

}  // namespace fp8kit::cli
