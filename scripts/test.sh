#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs every test: C++ via ctest, the fp8kit
# command-line tests and the Python package via pytest. GPU tests skip, saying so, on machines without a
# GPU. This is the command CI runs (.ci/run).
# The Python part installs the package with `pip install .` as a user would, CPU-only (FP8KIT_CUDA=OFF:
# the CUDA code is compiled by the C++ build above, extension included); FP8KIT_PYTHON=0 skips it.
# Last, scripts/test_sanitizers.sh: the C++ suite and the command-line tests under AddressSanitizer +
# UndefinedBehaviorSanitizer and a short fuzzing run (FP8KIT_SANITIZERS=0 skips it). Each stage prints
# its duration.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
stage=$SECONDS
lap() { echo "-- $1: $((SECONDS - stage)) s (total $((SECONDS - start)) s)"; stage=$SECONDS; }
bash scripts/install_deps.sh
lap "dependencies"
python_on=${FP8KIT_PYTHON:-1}
if [[ "$python_on" != "0" ]]; then
  bash scripts/build.sh -DFP8KIT_BUILD_PYTHON=ON
else
  bash scripts/build.sh -DFP8KIT_BUILD_PYTHON=OFF
fi
lap "build"
echo "== C++ tests (ctest)"
ctest --test-dir build --output-on-failure --parallel "$(nproc)"
lap "C++ tests"
echo "== fp8kit command-line tests (pytest)"
bash tests/cli/run.sh
lap "command-line tests"
if [[ "$python_on" != "0" ]]; then
  python=${PYTHON:-python3}
  echo "== Python package (pip install ., CPU-only build)"
  FP8KIT_CUDA=OFF "$python" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    --no-build-isolation --no-deps .
  echo "== Python tests (pytest)"
  "$python" -m pytest -q -p no:cacheprovider tests/python
  lap "Python package"
fi
if [[ "${FP8KIT_SANITIZERS:-1}" != "0" ]]; then
  bash scripts/test_sanitizers.sh
  lap "sanitizers and fuzzing"
fi
