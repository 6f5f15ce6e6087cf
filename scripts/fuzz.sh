#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + AddressSanitizer + UndefinedBehaviorSanitizer,
# CPU-only, in build-sanitize/) and runs each for a fixed time; prints executions, coverage and
# findings per target. Exit status 1 when any target found a crash, leak, timeout or out-of-memory.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Each target starts from its seed corpus (tests/fuzz/corpus/<target>, read only) plus what earlier
# runs found (build-sanitize/fuzz/corpus/<target>); findings go to build-sanitize/fuzz/findings/<target>/
# (crash-*, leak-*, timeout-*, oom-*). To keep a reproducer, fix the bug, then copy the file to
# tests/fuzz/corpus/<target>/regress-<what> so ctest replays it in every build.
# FUZZ_JOBS (default: the number of cores) targets run at once, one process each.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(safetensors_header checkpoint_file shard_index cli_args)
build=build-sanitize
jobs=${FUZZ_JOBS:-$(nproc)}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ is missing (scripts/install_deps.sh installs clang and its sanitizer runtimes)" >&2
  exit 2
fi
CXX=clang++ CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFP8KIT_CUDA=OFF \
  -DFP8KIT_SANITIZE=ON -DFP8KIT_BUILD_FUZZERS=ON -DFP8KIT_BUILD_BENCHMARKS=OFF -DFP8KIT_BUILD_PYTHON=OFF >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]/#/fp8kit_fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logs=$build/fuzz/logs
mkdir -p "$logs"

fuzz_one() {  # target
  local t=$1 dict=()
  rm -rf "$build/fuzz/findings/$t"  # this run's findings only
  mkdir -p "$build/fuzz/corpus/$t" "$build/fuzz/findings/$t"
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
  "$build/tests/fuzz/fp8kit_fuzz_$t" "$build/fuzz/corpus/$t" "tests/fuzz/corpus/$t" "${dict[@]}" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz/findings/$t/" >"$logs/$t.log" 2>&1 || true
}

pids=()
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  pids+=($!)
  if ((${#pids[@]} >= jobs)); then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
wait

status=0
printf '%-20s %12s %10s %8s %8s %9s  %s\n' target executions exec/s cov features corpus findings
for t in "${targets[@]}"; do
  log=$logs/$t.log
  execs=$(awk '/stat::number_of_executed_units/ {n = $2} END {print n + 0}' "$log")
  rate=$(awk '/stat::average_exec_per_sec/ {n = $2} END {print n + 0}' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo 0)
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo 0)
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo 0)
  found=$(find "$build/fuzz/findings/$t" -type f | wc -l)
  printf '%-20s %12s %10s %8s %8s %9s  %s\n' "$t" "$execs" "$rate" "$cov" "$ft" "$corp" "$found"
  if ((found > 0)); then
    status=1
    find "$build/fuzz/findings/$t" -type f | head -5
    grep -m1 -E 'ERROR|runtime error|fuzz property failed|Timeout|out-of-memory' "$log" || true
  fi
done
exit $status
