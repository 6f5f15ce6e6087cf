#!/usr/bin/env bash
# Runs the fp8kit command-line tests (pytest, tests/cli/test_*.py) against build/tools/fp8kit/fp8kit
# (or $FP8KIT_BIN), in the project's virtual environment .venv, which this script creates and fills
# with what the tests read checkpoints with: numpy, ml_dtypes, safetensors, pytest, and transformers
# (configuration classes only, no torch) for the quantization_config checks, which skip without it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv || { echo "error: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
.venv/bin/python -m pip install -q --disable-pip-version-check numpy ml_dtypes safetensors pytest
.venv/bin/python -m pip install -q --disable-pip-version-check transformers ||
  echo "note: transformers could not be installed; its config checks will be skipped"
export FP8KIT_BIN="${FP8KIT_BIN:-$PWD/build/tools/fp8kit/fp8kit}"
exec .venv/bin/python -m pytest -q -rs -p no:cacheprovider tests/cli
