// cli_options.h: option parsing shared by the checkpoint verbs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "checkpoint/quant_settings.h"
#include "checkpoint/tensor_engine.h"
#include "commands.h"

namespace fp8kit::cli {

/// Thrown for a malformed command line; main-style handlers print it and exit with status 2.
struct UsageError {
  std::string message;
};

/// Walks a verb's arguments: options (with values) and positionals.
class ArgCursor {
 public:
  explicit ArgCursor(const Args& args) : args_(args) {}
  bool done() const { return i_ >= args_.size(); }
  const std::string& next() { return args_[i_++]; }
  /// The value of the option just read (`--opt VALUE` or `--opt=VALUE` split by the caller).
  const std::string& value(const std::string& option);

 private:
  const Args& args_;
  size_t i_ = 0;
};

/// Consumes one quantization option (--format --scheme --block --fmt --scale-format --include
/// --exclude) into `s`; false if `opt` is not one of them. The settings' consistency is checked
/// once all options are read (check_quantize_settings).
bool parse_quantize_option(const std::string& opt, ArgCursor& cur, checkpoint::QuantizeSettings& s);

/// UsageError unless the settings can be written (checkpoint::check_settings) and every --include /
/// --exclude is a valid regular expression.
void check_quantize_settings(const checkpoint::QuantizeSettings& s);

/// --device auto|cpu|cuda
checkpoint::DeviceChoice parse_device_option(const std::string& value);

/// --threads N: a positive integer (at most 4096).
int parse_threads_option(const std::string& value);

/// Sets FP8KIT_NUM_THREADS from --threads before the library first reads it (nothing when unset).
void apply_threads(const std::optional<int>& threads);

/// An integer option value in [min, max], else UsageError naming the option and the range.
int64_t parse_int_option(const std::string& option, const std::string& value, int64_t min, int64_t max);

/// Runs a verb body: UsageError -> message + exit 2; the rest propagates to main (exit 1).
template <typename F>
int run_verb(const char* verb, F&& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "fp8kit %s: %s (see fp8kit %s --help)\n", verb, e.message.c_str(), verb);
    return 2;
  }
}

/// Help text for the quantization options (shared by quantize and inspect).
extern const char* const kQuantizeOptionsHelp;

}  // namespace fp8kit::cli
