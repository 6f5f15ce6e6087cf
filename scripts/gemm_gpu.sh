#!/usr/bin/env bash
# GPU check of the GEMM backends in one call: builds, prints `fp8kit doctor`, runs the GPU GEMM tests and
# the GEMM benchmark. Logs and the benchmark CSV go to $1 (default: $OUT, else build/gemm_gpu).
#   bash scripts/gemm_gpu.sh [outdir]
#   FP8KIT_SANITIZE_GEMM=1 bash scripts/gemm_gpu.sh   also runs the small GEMM tests under compute-sanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-build/gemm_gpu}}"
mkdir -p "$out"
[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH="/usr/local/cuda/bin:$PATH"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >"$out/configure.txt"
cmake --build build --parallel --target fp8kit_cuda_tests fp8kit_bench_gemm fp8kit_cli >"$out/build.txt"

build/tools/fp8kit/fp8kit doctor | tee "$out/doctor.txt"
echo "== GPU GEMM tests"
status=0
build/tests/fp8kit_cuda_tests --gtest_filter='*Gemm*' >"$out/gemm_tests.txt" 2>&1 || status=$?
grep -E '^\[ +(OK|FAILED|SKIPPED) +\]|^\[ refused  \]|Failure|relative Frobenius|refused every case|^  [0-9]+x ' \
  "$out/gemm_tests.txt" | head -200
tail -3 "$out/gemm_tests.txt"
if [[ "${FP8KIT_SANITIZE_GEMM:-0}" == 1 ]]; then
  echo "== compute-sanitizer (memcheck, then racecheck) on the small GEMM tests"
  small='Backends/GemmCudaBackend.OperandLayouts/*:Backends/GemmCudaBackend.RowScaling/*:Backends/GemmCudaBackend.NanGroupPoisonsItsRowOnly/*'
  compute-sanitizer --tool memcheck --error-exitcode 9 build/tests/fp8kit_cuda_tests --gtest_filter="$small" \
    >"$out/memcheck.txt" 2>&1 || status=$?
  tail -3 "$out/memcheck.txt"
  compute-sanitizer --tool racecheck --error-exitcode 9 build/tests/fp8kit_cuda_tests \
    --gtest_filter='Backends/GemmCudaBackend.OperandLayouts/cuda_*' >"$out/racecheck.txt" 2>&1 || status=$?
  tail -3 "$out/racecheck.txt"
fi
echo "== GEMM benchmark"
build/benchmarks/fp8kit_bench_gemm --csv "$out/gemm.csv" 2>&1 | tee "$out/bench_gemm.txt"
exit "$status"
