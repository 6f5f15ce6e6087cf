#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs every test (C++ via ctest, the fp8kit
# command-line tests via pytest). GPU tests skip, saying so, on machines without a GPU. This is the
# command CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
echo "== C++ tests (ctest)"
ctest --test-dir build --output-on-failure --parallel "$(nproc)"
echo "== fp8kit command-line tests (pytest)"
bash tests/cli/run.sh
