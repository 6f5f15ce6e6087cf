// command_line.h: the command lines of the fp8kit verbs, parsed into plain structs with every check
// that needs no file (option values, settings consistency, regular expressions, size limits) and no
// side effect: nothing is printed, no environment variable is set, nothing exits. The verbs
// (commands/*.cpp) act on the result; the command-line fuzzer (tests/fuzz/fuzz_cli_args.cpp) drives
// these functions with arbitrary argument vectors.
//
// Each parse_* returns nullopt when --help / -h was given (the verb prints its help) and throws
// UsageError (exit status 2) naming the problem for a malformed command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "checkpoint/conversion.h"
#include "checkpoint/quant_settings.h"
#include "checkpoint/synthetic_checkpoint.h"
#include "cli_options.h"
#include "commands.h"

namespace fp8kit::cli {

struct QuantizeCommand {
  std::string in, out;
  checkpoint::QuantizeSettings settings;
  checkpoint::ConvertOptions options;
  std::optional<int> threads;
};

struct DequantizeCommand {
  std::string in, out;
  DType dtype = DType::bf16;
  checkpoint::ConvertOptions options;
  std::optional<int> threads;
};

struct InspectCommand {
  std::string in;
  checkpoint::QuantizeSettings settings;
  checkpoint::DeviceChoice device = checkpoint::DeviceChoice::automatic;
  bool error = false, json = false, quiet = false;
  std::optional<int> threads;
};

struct GenerateCommand {
  std::string out;
  checkpoint::SyntheticSpec spec;
  bool quiet = false;
};

/// selftest sizes: rows * cols at most this many elements (the largest buffer is 4 bytes each).
inline constexpr int64_t kMaxSelftestElements = int64_t{1} << 28;

struct SelftestCommand {
  int64_t rows = 257, cols = 1000;
  uint32_t seed = 0;  // 0: a fresh random seed
};

struct DoctorCommand {};

std::optional<QuantizeCommand> parse_quantize_command(const Args& args);
std::optional<DequantizeCommand> parse_dequantize_command(const Args& args);
std::optional<InspectCommand> parse_inspect_command(const Args& args);
std::optional<GenerateCommand> parse_generate_command(const Args& args);
std::optional<SelftestCommand> parse_selftest_command(const Args& args);
std::optional<DoctorCommand> parse_doctor_command(const Args& args);

}  // namespace fp8kit::cli
