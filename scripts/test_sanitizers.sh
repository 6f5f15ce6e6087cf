#!/usr/bin/env bash
# The sanitizer part of CI (scripts/test.sh runs it last; FP8KIT_SANITIZERS=0 skips it): a CPU-only
# clang build with AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer coverage) of every
# target in build-sanitize/, then
#   1. the whole C++ suite under the sanitizers (ctest: library, CPU backends, checkpoint library,
#      and the replay of every fuzz seed and kept reproducer),
#   2. the fp8kit command-line tests (tests/cli, pytest) against the sanitized fp8kit program,
#   3. every fuzz target for FP8KIT_FUZZ_SECONDS seconds (default 20; 0 skips), scripts/fuzz.sh.
# Any sanitizer report fails the run: the programs exit with status 99 and print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-sanitize
fuzz_seconds=${FP8KIT_FUZZ_SECONDS:-20}
t0=$SECONDS
CXX=clang++ CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFP8KIT_CUDA=OFF \
  -DFP8KIT_SANITIZE=ON -DFP8KIT_BUILD_FUZZERS=ON -DFP8KIT_BUILD_BENCHMARKS=OFF -DFP8KIT_BUILD_PYTHON=OFF >/dev/null
cmake --build "$build" --parallel "$(nproc)"
echo "sanitizer build: $((SECONDS - t0)) s"

export ASAN_OPTIONS=detect_leaks=1:exitcode=99:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
t0=$SECONDS
echo "== C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer (ctest)"
ctest --test-dir "$build" --output-on-failure --parallel "$(nproc)"
echo "sanitized ctest: $((SECONDS - t0)) s"
t0=$SECONDS
echo "== fp8kit command-line tests against the sanitized program (pytest)"
FP8KIT_BIN="$PWD/$build/tools/fp8kit/fp8kit" bash tests/cli/run.sh
echo "sanitized command-line tests: $((SECONDS - t0)) s"
if ((fuzz_seconds > 0)); then
  echo "== fuzzing, $fuzz_seconds s per target (scripts/fuzz.sh)"
  bash scripts/fuzz.sh "$fuzz_seconds"
fi
