// commands.h: the verbs of the fp8kit program. Each verb lives in commands/<verb>.cpp, takes the
// arguments after its name and returns the process exit status (0 ok, 1 failure, 2 usage error).
#pragma once

#include <string>
#include <vector>

namespace fp8kit::cli {

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};

int run_doctor(const Args& args);
int run_selftest(const Args& args);
int run_quantize(const Args& args);
int run_dequantize(const Args& args);
int run_inspect(const Args& args);
int run_generate(const Args& args);

/// Every verb, in the order --help lists them.
const std::vector<Command>& commands();

}  // namespace fp8kit::cli
