// command_line.cpp: parsing of every verb's command line (see command_line.h).
#include "command_line.h"

#include <charconv>
#include <limits>

namespace fp8kit::cli {
namespace {

bool is_help(const std::string& a) { return a == "--help" || a == "-h"; }

/// The positional argument `a` into `slot` (the first free one), else "unexpected argument".
void positional(const std::string& a, std::string& slot) {
  if (a.starts_with("-")) throw UsageError{"unknown option '" + a + "'"};
  if (!slot.empty()) throw UsageError{"unexpected argument '" + a + "'"};
  if (a.empty()) throw UsageError{"an empty path was given"};
  slot = a;
}

/// "--shard-size S": bytes with an optional k / M / G suffix (powers of 1000).
uint64_t parse_size(const std::string& option, std::string v) {
  uint64_t mult = 1;
  if (!v.empty()) {
    const char c = v.back();
    if (c == 'k' || c == 'K') mult = 1000;
    else if (c == 'M') mult = 1000 * 1000;
    else if (c == 'G') mult = 1000ull * 1000 * 1000;
    if (mult != 1) v.pop_back();
  }
  const auto n = static_cast<uint64_t>(parse_int_option(option, v, 0, std::numeric_limits<int64_t>::max()));
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n, mult, &bytes)) throw UsageError{option + " is too large"};
  return bytes;
}

DType parse_dtype_option(const std::string& v) {
  if (v == "bf16" || v == "bfloat16") return DType::bf16;
  if (v == "fp16" || v == "f16" || v == "float16") return DType::f16;
  if (v == "fp32" || v == "f32" || v == "float32") return DType::f32;
  throw UsageError{"--dtype must be bf16, fp16 or fp32, got '" + v + "'"};
}

/// The options both conversion verbs take (-o, --device, --threads, --force, --quiet); false for others.
bool parse_conversion_option(const std::string& a, ArgCursor& cur, std::string& out, checkpoint::ConvertOptions& options,
                             std::optional<int>& threads) {
  if (a == "-o" || a == "--output") out = cur.value(a);
  else if (a == "--device") options.device = parse_device_option(cur.value(a));
  else if (a == "--threads") threads = parse_threads_option(cur.value(a));
  else if (a == "--force") options.force = true;
  else if (a == "--quiet" || a == "-q") options.quiet = true;
  else return false;
  return true;
}

}  // namespace

std::optional<QuantizeCommand> parse_quantize_command(const Args& args) {
  QuantizeCommand c;
  ArgCursor cur(args);
  while (!cur.done()) {
    const std::string a = cur.next();
    if (is_help(a)) return std::nullopt;
    if (parse_quantize_option(a, cur, c.settings) || parse_conversion_option(a, cur, c.out, c.options, c.threads)) continue;
    positional(a, c.in);
  }
  if (c.in.empty() || c.out.empty()) throw UsageError{"needs an input and -o OUT"};
  check_quantize_settings(c.settings);
  return c;
}

std::optional<DequantizeCommand> parse_dequantize_command(const Args& args) {
  DequantizeCommand c;
  ArgCursor cur(args);
  while (!cur.done()) {
    const std::string a = cur.next();
    if (is_help(a)) return std::nullopt;
    if (parse_conversion_option(a, cur, c.out, c.options, c.threads)) continue;
    if (a == "--dtype") c.dtype = parse_dtype_option(cur.value(a));
    else positional(a, c.in);
  }
  if (c.in.empty() || c.out.empty()) throw UsageError{"needs an input and -o OUT"};
  return c;
}

std::optional<InspectCommand> parse_inspect_command(const Args& args) {
  InspectCommand c;
  ArgCursor cur(args);
  while (!cur.done()) {
    const std::string a = cur.next();
    if (is_help(a)) return std::nullopt;
    if (parse_quantize_option(a, cur, c.settings)) continue;
    if (a == "--error") c.error = true;
    else if (a == "--json") c.json = true;
    else if (a == "--quiet" || a == "-q") c.quiet = true;
    else if (a == "--device") c.device = parse_device_option(cur.value(a));
    else if (a == "--threads") c.threads = parse_threads_option(cur.value(a));
    else positional(a, c.in);
  }
  if (c.in.empty()) throw UsageError{"needs an input"};
  check_quantize_settings(c.settings);
  return c;
}

std::optional<GenerateCommand> parse_generate_command(const Args& args) {
  using checkpoint::kMaxSyntheticDim;
  GenerateCommand c;
  ArgCursor cur(args);
  while (!cur.done()) {
    const std::string a = cur.next();
    if (is_help(a)) return std::nullopt;
    if (a == "--layers") c.spec.layers = static_cast<int>(parse_int_option(a, cur.value(a), 0, checkpoint::kMaxSyntheticLayers));
    else if (a == "--hidden") c.spec.hidden = parse_int_option(a, cur.value(a), 1, kMaxSyntheticDim);
    else if (a == "--intermediate") c.spec.intermediate = parse_int_option(a, cur.value(a), 1, kMaxSyntheticDim);
    else if (a == "--vocab") c.spec.vocab = parse_int_option(a, cur.value(a), 1, kMaxSyntheticDim);
    else if (a == "--heads") c.spec.heads = parse_int_option(a, cur.value(a), 1, kMaxSyntheticDim);
    else if (a == "--kv-heads") c.spec.kv_heads = parse_int_option(a, cur.value(a), 1, kMaxSyntheticDim);
    else if (a == "--shard-size") c.spec.shard_bytes = parse_size(a, cur.value(a));
    else if (a == "--seed") c.spec.seed = static_cast<uint32_t>(parse_int_option(a, cur.value(a), 0, UINT32_MAX));
    else if (a == "--quiet" || a == "-q") c.quiet = true;
    else if (a == "--dtype") {
      const DType t = parse_dtype_option(cur.value(a));
      c.spec.dtype = t == DType::bf16 ? checkpoint::StDType::BF16
                     : t == DType::f16 ? checkpoint::StDType::F16
                                       : checkpoint::StDType::F32;
    } else {
      positional(a, c.out);
    }
  }
  if (c.out.empty()) throw UsageError{"needs an output directory"};
  if (const Verdict v = checkpoint::check_synthetic_spec(c.spec); !v) throw UsageError{v.reason};
  return c;
}

std::optional<SelftestCommand> parse_selftest_command(const Args& args) {
  SelftestCommand c;
  ArgCursor cur(args);
  while (!cur.done()) {
    const std::string a = cur.next();
    if (is_help(a)) return std::nullopt;
    if (a == "--rows") c.rows = parse_int_option(a, cur.value(a), 1, kMaxSelftestElements);
    else if (a == "--cols") c.cols = parse_int_option(a, cur.value(a), 1, kMaxSelftestElements);
    else if (a == "--seed") c.seed = static_cast<uint32_t>(parse_int_option(a, cur.value(a), 0, UINT32_MAX));
    else throw UsageError{"unknown option '" + a + "'"};
  }
  if (c.rows * c.cols > kMaxSelftestElements) {  // both <= 2^28: the product fits
    throw UsageError{"--rows x --cols must be at most " + std::to_string(kMaxSelftestElements) + " elements, got " +
                     std::to_string(c.rows) + " x " + std::to_string(c.cols)};
  }
  return c;
}

std::optional<DoctorCommand> parse_doctor_command(const Args& args) {
  for (const std::string& a : args) {
    if (is_help(a)) return std::nullopt;
    throw UsageError{"unknown option '" + a + "'"};
  }
  return DoctorCommand{};
}

}  // namespace fp8kit::cli
