#!/usr/bin/env bash
# Builds and runs the CUDA quantization kernels' GPU tests, selftest and benchmark on a GPU machine in
# one call (issue 3). Test, selftest, benchmark and sanitizer logs and the benchmark CSV go to $OUT when
# it is set (at most 5 files per mode), else to build-gpu/logs; build logs stay in the build folders.
#
#   scripts/gpu_quantize.sh            tests twice (the sm_90a build, whose kernels use the hardware FP8
#                                      conversions, and a compute_80 PTX-only build, JIT-compiled by the
#                                      driver, whose kernels use numerics.h's software encoder), the
#                                      CLI selftest, then the benchmark
#   scripts/gpu_quantize.sh tests      only the tests and the selftest
#   scripts/gpu_quantize.sh bench      only the benchmark
#   scripts/gpu_quantize.sh sanitize [TOOL...]
#                                      the tests under compute-sanitizer, by default memcheck, racecheck,
#                                      initcheck and synccheck (the 2^31-offset test is skipped there: 8 GiB)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
shift || true
tools=("$@")
((${#tools[@]})) || tools=(memcheck racecheck initcheck synccheck)
export PATH=/usr/local/cuda/bin:$PATH
export CXX=${CXX:-/usr/bin/g++} CC=${CC:-/usr/bin/gcc}
logs=${OUT:-build-gpu/logs}
mkdir -p "$logs"

build() {  # build dir, CUDA targets, targets...
  local dir=$1 archs=$2
  shift 2
  mkdir -p "$dir"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP8KIT_CUDA=ON -DFP8KIT_CUDA_ARCHS="$archs" \
    -DCMAKE_CUDA_ARCHITECTURES="$archs" >"$dir/configure.log"
  cmake --build "$dir" --parallel "$(nproc)" --target "$@" >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; exit 1; }
}

run_tests() {  # build dir, label
  echo "== GPU tests ($2)"
  "$1/tests/fp8kit_cuda_tests" --gtest_brief=1 2>&1 | tee "$logs/tests-$2.log" | tail -25
}

status=0
case "$mode" in all | tests | bench | sanitize) ;; *)
  echo "usage: $0 [all|tests|bench|sanitize]" >&2
  exit 2
  ;;
esac
if [[ $mode == all || $mode == tests ]]; then
  build build-gpu 90a-real fp8kit_cuda_tests fp8kit_cli fp8kit_bench_quantize
  run_tests build-gpu sm90a || status=1
  build build-gpu-ptx80 80-virtual fp8kit_cuda_tests
  run_tests build-gpu-ptx80 compute80-jit || status=1
  echo "== fp8kit selftest"
  build-gpu/tools/fp8kit/fp8kit selftest 2>&1 | tee "$logs/selftest.log" || status=1
fi
if [[ $mode == all || $mode == bench ]]; then
  [[ -x build-gpu/benchmarks/fp8kit_bench_quantize ]] || build build-gpu 90a-real fp8kit_bench_quantize
  echo "== benchmark"
  build-gpu/benchmarks/fp8kit_bench_quantize --csv "$logs/bench_quantize.csv" 2>&1 | tee "$logs/bench.log" || status=1
fi
if [[ $mode == sanitize ]]; then
  build build-gpu 90a-real fp8kit_cuda_tests
  for tool in "${tools[@]}"; do
    echo "== compute-sanitizer --tool $tool"
    compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 20 \
      build-gpu/tests/fp8kit_cuda_tests --gtest_brief=1 --gtest_filter=-QuantizeCuda.OffsetsBeyond32Bits \
      >"$logs/sanitize-$tool.log" 2>&1 || status=1
    tail -6 "$logs/sanitize-$tool.log"
  done
fi
exit $status
