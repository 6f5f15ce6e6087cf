#!/usr/bin/env bash
# The Python package on a GPU machine, in steps that each fit a 10-minute command:
#   bash benchmarks/python/run_gpu.sh build   # pip install . with CUDA (CXX=/usr/bin/g++), check libstdc++ is dynamic
#   bash benchmarks/python/run_gpu.sh test    # the whole pytest suite, CUDA tests included
#   bash benchmarks/python/run_gpu.sh bench   # bench_ops.py on cuda:0 (ours vs plain PyTorch vs torch._scaled_mm)
#   bash benchmarks/python/run_gpu.sh kernel-time  # bench_gemm_kernel_time.py: the 18 GEMM cases, profiler time
#   bash benchmarks/python/run_gpu.sh tp      # torchrun 2-GPU tensor-parallel check (needs 2 GPUs)
#   bash benchmarks/python/run_gpu.sh all     # all of the above
# Logs and JSON go to $OUT (default /tmp/fp8kit-python-gpu). No network is needed: nanobind,
# scikit-build-core, torch and pytest must be installed (numpy/ml_dtypes tests skip without them).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/fp8kit-python-gpu}
mkdir -p "$out"
python=${PYTHON:-python3}
# The GPU machines set CXX to a compiler that links libstdc++ statically, which crashes beside torch: the
# system compiler whenever there is one (the build step also checks the result with readelf).
if [[ -x /usr/bin/g++ ]]; then
  export CXX=/usr/bin/g++ CC=/usr/bin/gcc CUDAHOSTCXX=/usr/bin/g++
fi
[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH="/usr/local/cuda/bin:$PATH"
status=0

build() {
  echo "== pip install . (CUDA when nvcc is found; CXX=$CXX, CUDAHOSTCXX=$CUDAHOSTCXX)"
  rm -rf build/python-*  # a cached configure keeps the previous host compiler's link directories
  "$python" -m pip install --no-build-isolation --no-deps . >"$out/build.log" 2>&1 || { tail -60 "$out/build.log"; return 1; }
  local so
  so=$("$python" -c "import fp8kit._C as m; print(m.__file__)") || return 1
  echo "$so"; readelf -d "$so" | grep NEEDED
  readelf -d "$so" | grep -q 'libstdc++.so.6' || { echo "FAIL: libstdc++ is not dynamic"; return 1; }
  "$python" -c "import fp8kit, json; print(json.dumps(fp8kit.capabilities(), indent=1))"
}

run_tests() {
  echo "== pytest tests/python"
  "$python" -m pytest -q -rs -p no:cacheprovider tests/python 2>&1 | tee "$out/pytest.log" | tail -60
  return "${PIPESTATUS[0]}"
}

bench() {
  echo "== bench_ops.py"
  "$python" benchmarks/python/bench_ops.py --json "$out/bench_ops.json" 2>&1 | tee "$out/bench_ops.txt"
  return "${PIPESTATUS[0]}"
}

kernel_time() {
  echo "== bench_gemm_kernel_time.py"
  "$python" benchmarks/python/bench_gemm_kernel_time.py --json "$out/gemm_kernel_time.json" 2>&1 | tee "$out/gemm_kernel_time.txt"
  return "${PIPESTATUS[0]}"
}

tp() {
  local gpus
  gpus=$("$python" -c "import torch; print(torch.cuda.device_count())")
  if ((gpus < 2)); then echo "== tp_check skipped: $gpus GPU(s), needs 2"; return 0; fi
  echo "== torchrun --nproc-per-node 2 tp_check.py"
  "$python" -m torch.distributed.run --nproc-per-node 2 benchmarks/python/tp_check.py 2>&1 | tee "$out/tp_check.txt"
  return "${PIPESTATUS[0]}"
}

for step in "${@:-all}"; do
  case "$step" in
    build) build || status=1 ;;
    test) run_tests || status=1 ;;
    bench) bench || status=1 ;;
    kernel-time) kernel_time || status=1 ;;
    tp) tp || status=1 ;;
    all) { build && { run_tests || status=1; bench || status=1; kernel_time || status=1; tp || status=1; }; } || status=1 ;;
    *) echo "unknown step '$step' (build, test, bench, kernel-time, tp, all)"; exit 2 ;;
  esac
done
exit "$status"
