// iters_option.h: the `--iters N` command line of the ceiling benchmarks (their only option).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fp8kit::bench {

/// N from `--iters N` (`fallback` without it), or -1 after printing the usage for anything else or N < 1.
inline int iters_option(int argc, char** argv, int fallback) {
  int iters = fallback;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
      iters = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--iters N]\n", argv[0]);
      return -1;
    }
  }
  if (iters < 1) {
    std::fprintf(stderr, "%s: --iters must be at least 1 (got %d)\n", argv[0], iters);
    return -1;
  }
  return iters;
}

}  // namespace fp8kit::bench
