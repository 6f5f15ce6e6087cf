#!/usr/bin/env bash
# Installs what is needed, builds fp8kit and runs its main job on the built-in default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
./build/tools/fp8kit/fp8kit doctor
./build/tools/fp8kit/fp8kit selftest
