#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs every test: C++ via ctest, the fp8kit
# command-line tests and the Python package via pytest. GPU tests skip, saying so, on machines without a
# GPU. This is the command CI runs (.ci/run).
# The Python part installs the package with `pip install .` as a user would, CPU-only (FP8KIT_CUDA=OFF:
# the CUDA code is compiled by the C++ build above, extension included); FP8KIT_PYTHON=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
python_on=${FP8KIT_PYTHON:-1}
if [[ "$python_on" != "0" ]]; then
  bash scripts/build.sh -DFP8KIT_BUILD_PYTHON=ON
else
  bash scripts/build.sh -DFP8KIT_BUILD_PYTHON=OFF
fi
echo "== C++ tests (ctest)"
ctest --test-dir build --output-on-failure --parallel "$(nproc)"
echo "== fp8kit command-line tests (pytest)"
bash tests/cli/run.sh
if [[ "$python_on" != "0" ]]; then
  python=${PYTHON:-python3}
  echo "== Python package (pip install ., CPU-only build)"
  FP8KIT_CUDA=OFF "$python" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    --no-build-isolation --no-deps .
  echo "== Python tests (pytest)"
  "$python" -m pytest -q -p no:cacheprovider tests/python
fi
