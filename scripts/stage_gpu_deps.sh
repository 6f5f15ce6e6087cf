#!/usr/bin/env bash
# Copies the third-party sources the build needs into .deps/ (git-ignored), for the GPU machine, which
# has CUDA, CMake and Python but no Debian packages: googletest sources and the nlohmann-json headers.
# The device call carries .deps and configures with -DFP8KIT_DEPS_DIR=$PWD/.deps.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps
rm -rf .deps/googletest && cp -r /usr/src/googletest .deps/googletest
mkdir -p .deps/include
rm -rf .deps/include/nlohmann && cp -r /usr/include/nlohmann .deps/include/nlohmann
du -sh .deps
