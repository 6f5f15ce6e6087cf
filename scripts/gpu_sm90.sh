#!/usr/bin/env bash
# One call on an H100/H200: builds the Hopper GEMM targets (sm_90a), runs their GPU tests, checks the SASS
# (QGMMA present, no local-memory traffic), runs the benchmark against cuBLASLt and prints a short table
# last. Logs go to $OUT (default /tmp/fp8kit_sm90). Where GoogleTest is not installed, pass the folder of
# staged sources as FP8KIT_DEPS_DIR (scripts/stage_gpu_deps.sh on the main branch). FP8KIT_SM90_PROFILE,
# a ';'-separated list of "M N K plan-prefix", profiles those plans with Nsight Compute first;
# FP8KIT_SM90_STAGES, the same kind of list, times those plans at every pipeline depth with M-major and
# row-major A scales (TMA vs cp.async) after the tests; FP8KIT_SM90_TRACE, the same kind of list, prints
# where those plans' launches spend their time (per-CTA timer stamps, and the same launch with no tiles).
# FP8KIT_SM90_BASELINE, a source tree of the code before a change (here: `git archive REV | tar -x -C .base`,
# carried to the machine), is built beside: its traces print under the change's, and the benchmark runs
# without the sweep, baseline and change interleaved twice, then scripts/compare_sm90_bench.py's table.
#   bash scripts/gpu_sm90.sh [--no-sweep]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/fp8kit_sm90}
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
SWEEP=--sweep
[[ "${1:-}" == "--no-sweep" ]] && SWEEP=

nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit,temperature.gpu --format=csv,noheader
deps=()
[[ -n "${FP8KIT_DEPS_DIR:-}" ]] && deps=(-DFP8KIT_DEPS_DIR="$FP8KIT_DEPS_DIR")
configure() {  # source dir, build dir
  CXX=/usr/bin/g++ CC=/usr/bin/gcc cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DFP8KIT_CUDA_ARCHS=90a-real -DFP8KIT_BUILD_PYTHON=OFF -DFP8KIT_BUILD_TOOLS=OFF "${deps[@]}"
}
baseline=${FP8KIT_SM90_BASELINE:-}
start=$SECONDS
if [[ -n $baseline ]]; then  # built beside, in the background, with half the cores
  (configure "$baseline" build-baseline && ninja -C build-baseline -j8 fp8kit_bench_sm90_gemm) \
    >"$OUT/build_baseline.log" 2>&1 &
  baseline_pid=$!
fi
if ! configure . build >"$OUT/configure.log" 2>&1; then
  tail -30 "$OUT/configure.log"
  exit 1
fi
if ! ninja -C build -j"$([[ -n $baseline ]] && echo 8 || echo 16)" fp8kit_cuda_tests fp8kit_bench_sm90_gemm \
    fp8kit_bench_wgmma_ceiling >"$OUT/build.log" 2>&1; then
  grep -E "error|warning" -A3 "$OUT/build.log" | head -60
  exit 1
fi
if [[ -n $baseline ]] && ! wait "$baseline_pid"; then
  echo "baseline build failed:"; grep -E "error" -A3 "$OUT/build_baseline.log" | head -30
  exit 1
fi
echo "build: $((SECONDS - start)) s"

# R2UR moves a per-thread value into a uniform register: a jump in its count has meant the K loop's pipeline
# position and wgmma descriptors left the uniform datapath (4-20% slower; BENCHMARKS.md Hopper v7, v12).
echo "== SASS (per tile object, both instantiations: QGMMA, LDL/STL, R2UR counts)"
for o in $(find build -name 'sm90_fp8_gemm_tile_*.cu.o' | sort); do
  cuobjdump --dump-sass "$o" >"$OUT/sass.tmp"
  echo "$(basename "$o" .cu.o): QGMMA $(grep -c QGMMA "$OUT/sass.tmp") LDL/STL $(grep -cE '\b(LDL|STL)\b' "$OUT/sass.tmp") R2UR $(grep -c R2UR "$OUT/sass.tmp")"
done
rm -f "$OUT/sass.tmp"

if [[ -n "${FP8KIT_SM90_PROFILE:-}" ]]; then
  echo "== Nsight Compute"
  IFS=';' read -ra profiles <<<"$FP8KIT_SM90_PROFILE"
  i=0
  for spec in "${profiles[@]}"; do
    read -r m n k plan <<<"$spec"
    i=$((i + 1))
    kernel=fp8_gemm
    [[ $plan == cublaslt ]] && kernel=.
    timeout 40 ncu --clock-control none --kernel-name "regex:$kernel" --launch-skip 3 --launch-count 1 \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      --section WarpStateStats --section SchedulerStats --section Occupancy \
      ./build/benchmarks/fp8kit_bench_sm90_gemm --profile "$m" "$n" "$k" "$plan" >"$OUT/ncu$i.txt" 2>&1
    echo "-- $spec (rc=$?)"
    grep -E "profiled|\) ?x ?\(|Duration|SM Frequency|Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|DRAM Throughput|Shared Memory|Issue Slots Busy|Executed Ipc Active|Warp Cycles Per Issued|No Eligible|Active Warps Per|Stall|Tensor|pipe" "$OUT/ncu$i.txt" | head -24
  done
fi

echo "== tests"
start=$SECONDS
timeout 100 ./build/tests/fp8kit_cuda_tests --gtest_filter='Sm90Gemm.*' >"$OUT/test.log" 2>&1
rc=$?
echo "tests: rc=$rc in $((SECONDS - start)) s"
grep -E "^\[sm90\]|Failure|FAILED|error|Expected|Which is|relative|NaN|padding|seed=" "$OUT/test.log" | head -80
grep -E "^\[  (PASSED|FAILED|SKIPPED) " "$OUT/test.log"
if [[ $rc -eq 124 ]]; then
  echo "tests timed out (a hang?): skipping the benchmark"
  exit 1
fi

# Runs the benchmark's --MODE on each "M N K plan" of a ';'-separated list and keeps its result lines.
each_plan() {  # mode, list, title
  [[ -z "$2" ]] && return
  echo "== $3"
  IFS=';' read -ra specs <<<"$2"
  for spec in "${specs[@]}"; do
    read -r m n k plan <<<"$spec"
    timeout 60 ./build/benchmarks/fp8kit_bench_sm90_gemm "--$1" "$m" "$n" "$k" "$plan" 2>&1 | grep -E "^$1|no plan"
    if [[ -n $baseline ]]; then
      timeout 60 ./build-baseline/benchmarks/fp8kit_bench_sm90_gemm "--$1" "$m" "$n" "$k" "$plan" 2>&1 |
        grep -E "^$1|no plan" | sed "s/^/baseline: /"
    fi
  done
}
each_plan trace "${FP8KIT_SM90_TRACE:-}" "launch timelines"
each_plan stages "${FP8KIT_SM90_STAGES:-}" "pipeline depth and A-scale layout"

echo "== wgmma ceiling"
timeout 60 ./build/benchmarks/fp8kit_bench_wgmma_ceiling 2>&1 | tee "$OUT/ceiling.log"

echo "== benchmark"
if [[ -n $baseline ]]; then
  for round in 1 2; do
    for b in baseline change; do
      bin=./build/benchmarks/fp8kit_bench_sm90_gemm
      [[ $b == baseline ]] && bin=./build-baseline/benchmarks/fp8kit_bench_sm90_gemm
      timeout 200 "$bin" >"$OUT/bench_${b}_$round.log" 2>&1
      echo "bench $b round $round: rc=$?"
    done
  done
  grep -E "^(card|copy bandwidth)" "$OUT/bench_change_1.log"
  python3 scripts/compare_sm90_bench.py --base "$OUT"/bench_baseline_{1,2}.log --new "$OUT"/bench_change_{1,2}.log
  exit $?
fi
timeout 400 ./build/benchmarks/fp8kit_bench_sm90_gemm $SWEEP --csv "$OUT/sweep.csv" >"$OUT/bench.log" 2>&1
echo "bench: rc=$?"
grep -E "^(card|copy bandwidth)" "$OUT/bench.log"
sed -n '/^| M | N | K | cuBLASLt us | sm90 us |/,$p' "$OUT/bench.log"
