#!/usr/bin/env bash
# The one GPU job: builds fp8kit on the GPU machine, runs the GPU tests, the selftest and the
# benchmarks, and prints a short table last. Logs and CSVs go to $OUT (the device tool's folder) or
# build-gpu/logs.
#
#   bash scripts/gpu_check.sh tests     build, doctor, every GPU test, selftest
#   bash scripts/gpu_check.sh bench     build, quantization + GEMM benchmarks
#   bash scripts/gpu_check.sh all       both (default)
#   bash scripts/gpu_check.sh sanitize  small shapes of every kernel under compute-sanitizer (memcheck
#                                       racecheck initcheck synccheck; SANITIZE_TOOLS picks some)
#   bash scripts/gpu_check.sh ptx80     quantization tests from a compute_80 PTX-only build (driver JIT)
#   bash scripts/gpu_check.sh python    pip install . with CUDA, the pytest suite on the GPU, bench_ops.py
#   bash scripts/gpu_check.sh quant     quantization only: build, the quantize/dequantize/SiLU GPU tests,
#                                       the quantization benchmark (twice, to show the run-to-run spread);
#                                       QUANT_BASELINE=DIR also builds DIR's quantization benchmark (the
#                                       code before a change) and runs it in the same session, same card;
#                                       QUANT_SANITIZE=1 adds short racecheck and memcheck runs
#   bash scripts/gpu_check.sh checkpoint  build the CLI, scripts/bench_checkpoint.sh on the CPU and with
#                                       --device cuda (2.8 GB bf16 model in /tmp, about 2 minutes)
#
# Needs .deps/ (scripts/stage_gpu_deps.sh, carried to the machine) where GoogleTest is not installed.
# Builds with /usr/bin/g++, also as nvcc's host compiler (the machine's default CXX links libstdc++
# statically, which breaks beside torch).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
export PATH=/usr/local/cuda/bin:$PATH
export CXX=/usr/bin/g++ CC=/usr/bin/gcc CUDAHOSTCXX=/usr/bin/g++
logs=${OUT:-build-gpu/logs}
mkdir -p "$logs"
status=0
summary=()

build() {  # dir, cuda archs, targets...
  local dir=$1 archs=$2
  shift 2
  local t0=$SECONDS
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP8KIT_CUDA=ON -DFP8KIT_CUDA_ARCHS="$archs" \
    -DCMAKE_CUDA_ARCHITECTURES="$archs" -DFP8KIT_DEPS_DIR="$PWD/.deps" -DFP8KIT_BUILD_BENCHMARKS=ON \
    >"$dir.configure.log" 2>&1 || { tail -30 "$dir.configure.log"; exit 1; }
  cmake --build "$dir" --parallel "$(nproc)" --target "$@" >"$dir.build.log" 2>&1 || { grep -E "error|Error" "$dir.build.log" | head -40; exit 1; }
  summary+=("build $dir ($archs): $((SECONDS - t0)) s")
}

build_baseline() {  # source dir: its quantization benchmark only, in build-gpu-baseline
  local t0=$SECONDS
  cmake -S "$1" -B build-gpu-baseline -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP8KIT_CUDA=ON -DFP8KIT_CUDA_ARCHS=90a-real \
    -DCMAKE_CUDA_ARCHITECTURES=90a-real -DFP8KIT_DEPS_DIR="$PWD/.deps" -DFP8KIT_BUILD_TESTS=OFF -DFP8KIT_BUILD_TOOLS=OFF \
    -DFP8KIT_BUILD_BENCHMARKS=ON >build-gpu-baseline.configure.log 2>&1 &&
    cmake --build build-gpu-baseline --parallel "$(nproc)" --target fp8kit_bench_quantize >build-gpu-baseline.build.log 2>&1 ||
    { echo "baseline build failed:"; tail -20 build-gpu-baseline.*.log; return 1; }
  echo "build build-gpu-baseline ($1): $((SECONDS - t0)) s"
}

run() {  # label, log name, command...
  local label=$1 log=$2
  shift 2
  local t0=$SECONDS rc=0
  echo "== $label"
  "$@" >"$logs/$log" 2>&1 || rc=$?
  ((rc)) && status=1
  summary+=("$label: $([[ $rc == 0 ]] && echo ok || echo "FAILED rc=$rc") ($((SECONDS - t0)) s)")
  return $rc
}

nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv,noheader | tee "$logs/gpu.txt"
case "$mode" in
  tests | all | bench)
    build build-gpu 90a-real fp8kit_cuda_tests fp8kit_cli fp8kit_bench_quantize fp8kit_bench_gemm ;;
  sanitize) build build-gpu 90a-real fp8kit_cuda_tests ;;
  ptx80) build build-gpu-ptx80 80-virtual fp8kit_cuda_tests ;;
  python) ;;
  checkpoint) build build-gpu 90a-real fp8kit_cli ;;
  quant)
    [[ -n ${QUANT_BASELINE:-} ]] && { build_baseline "$QUANT_BASELINE" >"$logs/build_baseline.txt" 2>&1 & }
    build build-gpu 90a-real fp8kit_cuda_tests fp8kit_bench_quantize
    wait
    [[ -n ${QUANT_BASELINE:-} ]] && summary+=("$(tail -1 "$logs/build_baseline.txt")") ;;
  *) echo "usage: $0 [tests|bench|all|sanitize|ptx80|python|quant|checkpoint]" >&2; exit 2 ;;
esac

if [[ $mode == tests || $mode == all ]]; then
  build-gpu/tools/fp8kit/fp8kit doctor >"$logs/doctor.txt" 2>&1
  head -40 "$logs/doctor.txt"
  run "GPU tests" tests.txt build-gpu/tests/fp8kit_cuda_tests --gtest_brief=1
  grep -E "FAILED|Failure|Expected|mismatch|seed" "$logs/tests.txt" | head -40
  tail -4 "$logs/tests.txt"
  run "selftest" selftest.txt build-gpu/tools/fp8kit/fp8kit selftest
  tail -20 "$logs/selftest.txt"
  # the checkpoint tool on the GPU must write the same bytes as on the CPU (system python: no network there)
  export FP8KIT_BIN=$PWD/build-gpu/tools/fp8kit/fp8kit
  run "checkpoint tool on the GPU" cli_device.txt \
    python3 -m pytest -q -rs -p no:cacheprovider tests/cli -k device
  tail -3 "$logs/cli_device.txt"
fi
if [[ $mode == ptx80 ]]; then
  run "GPU tests, compute_80 PTX build" tests_ptx80.txt build-gpu-ptx80/tests/fp8kit_cuda_tests --gtest_brief=1 \
    --gtest_filter='*Quantize*:*Dequantize*:*SiluMul*'
  tail -4 "$logs/tests_ptx80.txt"
fi
if [[ $mode == bench || $mode == all ]]; then
  run "quantization benchmark" bench_quantize.txt build-gpu/benchmarks/fp8kit_bench_quantize
  tail -30 "$logs/bench_quantize.txt"
  run "GEMM benchmark" bench_gemm.txt build-gpu/benchmarks/fp8kit_bench_gemm \
    --max-seconds "${GEMM_BENCH_SECONDS:-240}"
  tail -45 "$logs/bench_gemm.txt"
fi
if [[ $mode == quant ]]; then
  run "GPU tests (quantize, dequantize, SiLU)" tests_quant.txt timeout "${QUANT_TEST_SECONDS:-150}" \
    build-gpu/tests/fp8kit_cuda_tests --gtest_brief=1 --gtest_filter='*Quantize*:*Dequantize*:*SiluMul*:CudaBackendErrors*'
  grep -E "FAILED|Failure|Expected|mismatch|seed" "$logs/tests_quant.txt" | head -40
  tail -4 "$logs/tests_quant.txt"
  # no CSVs: the device tool brings back at most 8 files, and the logs hold every row
  run "quantization benchmark" bench_quantize.txt build-gpu/benchmarks/fp8kit_bench_quantize
  if [[ -n ${QUANT_BASELINE:-} && -x build-gpu-baseline/benchmarks/fp8kit_bench_quantize ]]; then
    run "quantization benchmark, baseline" bench_quantize_baseline.txt build-gpu-baseline/benchmarks/fp8kit_bench_quantize
  fi
  run "quantization benchmark, again" bench_quantize_again.txt build-gpu/benchmarks/fp8kit_bench_quantize
  for f in bench_quantize_baseline bench_quantize; do
    [[ -f $logs/$f.txt ]] && { echo "== $f"; sed -n '/^kernel /,$p' "$logs/$f.txt" | cut -c1-118; }
  done
  if [[ -n ${QUANT_SANITIZE:-} ]]; then  # short: racecheck on the block kernel's barriers, memcheck on the main paths
    run "compute-sanitizer racecheck (blocks)" sanitize_racecheck.txt timeout "${QUANT_SANITIZE_SECONDS:-60}" \
      compute-sanitizer --tool racecheck --error-exitcode 99 --print-limit 20 build-gpu/tests/fp8kit_cuda_tests \
      --gtest_brief=1 --gtest_filter='QuantizeCuda.Blocks'
    tail -3 "$logs/sanitize_racecheck.txt"
    run "compute-sanitizer memcheck" sanitize_memcheck.txt timeout "${QUANT_SANITIZE_SECONDS:-60}" \
      compute-sanitizer --tool memcheck --error-exitcode 99 --print-limit 20 build-gpu/tests/fp8kit_cuda_tests \
      --gtest_brief=1 --gtest_filter='QuantizeCuda.Group128EveryShape:QuantizeCuda.Blocks:DequantizeCuda.RowStridesAndUnalignedPointers'
    tail -3 "$logs/sanitize_memcheck.txt"
  fi
fi
if [[ $mode == sanitize ]]; then
  # Every kernel on small shapes (the *SmallShapesOfEveryKernel tests: each quantize path, dequantize,
  # both SiLU kernels, every GEMM backend's variants, every sm90 plan) plus the refusal tests, under each
  # tool; memcheck also runs the multi-thread, multi-stream test. The out-of-memory test is left out
  # (it takes the whole device memory, which the tools need). SANITIZE_FILTER replaces the filter.
  sweep='*SmallShapesOfEveryKernel*:CudaBadInputs.*:CudaBackendErrors.*:QuantizeCuda.EmptyTensorHasScaleOne'
  for tool in ${SANITIZE_TOOLS:-memcheck racecheck initcheck synccheck}; do
    filter=$sweep
    [[ $tool == memcheck ]] && filter="$sweep:CudaConcurrency.*"
    run "compute-sanitizer $tool" "sanitize_$tool.txt" compute-sanitizer --tool "$tool" --error-exitcode 99 \
      --print-limit 20 build-gpu/tests/fp8kit_cuda_tests --gtest_brief=1 --gtest_filter="${SANITIZE_FILTER:-$filter}"
    grep -E "ERROR SUMMARY|Hazard|Invalid|Uninitialized|Barrier|FAILED" "$logs/sanitize_$tool.txt" | head -8
    tail -3 "$logs/sanitize_$tool.txt"
  done
fi
if [[ $mode == checkpoint ]]; then
  export FP8KIT_BIN=$PWD/build-gpu/tools/fp8kit/fp8kit
  for device in cpu cuda; do
    run "checkpoint benchmark, --device $device" "bench_checkpoint_$device.txt" \
      bash scripts/bench_checkpoint.sh /tmp/fp8kit-bench --device "$device"
    echo "== --device $device"
    cat "$logs/bench_checkpoint_$device.txt"
  done
fi
if [[ $mode == python ]]; then
  OUT=$logs run "Python package on the GPU (build, pytest, bench_ops)" python_gpu.txt \
    bash benchmarks/python/run_gpu.sh build test bench
  tail -70 "$logs/python_gpu.txt"
fi
echo
echo "== summary ($(head -1 "$logs/gpu.txt"))"
printf '%s\n' "${summary[@]}"
exit $status
