// fuzz_cli_args.cpp: libFuzzer target for the fp8kit command-line parser (command_line.h).
//
// Input: byte 0 picks the verb (quantize, dequantize, inspect, generate, selftest, doctor); the rest,
// split at NUL bytes, is its argument vector. The verb's parser must return a command or nullopt
// (--help), or throw UsageError; any other exception, a crash or undefined behaviour is a finding.
// A parsed quantize or inspect command must hold settings that describe themselves
// (describe_settings) and whose regular expressions compile; a parsed generate command must plan.
#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/quant_policy.h"
#include "command_line.h"
#include "fuzz_support.h"

using namespace fp8kit::cli;
using fp8kit::fuzz::require;

namespace {

void check_parsed_settings(const fp8kit::checkpoint::QuantizeSettings& s) {
  require(fp8kit::checkpoint::check_settings(s).ok, "parsed settings are consistent");
  require(!fp8kit::checkpoint::describe_settings(s).empty(), "parsed settings describe themselves");
  const fp8kit::checkpoint::QuantPolicy policy(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Args args;
  std::string current;
  for (size_t i = 1; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (size > 1) args.push_back(current);
  try {
    switch (data[0] % 6) {
      case 0:
        if (const auto c = parse_quantize_command(args)) {
          require(!c->in.empty() && !c->out.empty(), "quantize has an input and an output");
          check_parsed_settings(c->settings);
        }
        break;
      case 1:
        if (const auto c = parse_dequantize_command(args)) {
          require(fp8kit::is_high_precision(c->dtype), "dequantize writes a high-precision dtype");
        }
        break;
      case 2:
        if (const auto c = parse_inspect_command(args)) check_parsed_settings(c->settings);
        break;
      case 3:
        if (const auto c = parse_generate_command(args)) {
          require(fp8kit::checkpoint::check_synthetic_spec(c->spec).ok, "a parsed model spec can be generated");
        }
        break;
      case 4:
        if (const auto c = parse_selftest_command(args)) {
          require(c->rows >= 1 && c->cols >= 1 && c->rows * c->cols <= kMaxSelftestElements, "selftest sizes are bounded");
        }
        break;
      default: parse_doctor_command(args); break;
    }
  } catch (const UsageError&) {
  }
  return 0;
}
