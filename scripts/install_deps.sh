#!/usr/bin/env bash
# Installs the system packages fp8kit builds and tests with (Debian/Ubuntu). The CUDA toolkit is optional:
# with nvcc on PATH the CUDA backends are built too. Safe to re-run: installs only what is missing.
# Python (FP8KIT_PYTHON=0 skips it): nanobind and scikit-build-core (to build fp8kit._C), numpy, ml_dtypes,
# pytest, and torch for the torch layer's tests (FP8KIT_TORCH, default torch==2.11.0: the CUDA wheel with
# its CUDA libraries, about a minute from PyPI; FP8KIT_TORCH=none skips it and the torch tests skip).
set -euo pipefail

# clang: the sanitizer and fuzzing build (scripts/test_sanitizers.sh, scripts/fuzz.sh).
packages=(cmake ninja-build g++ clang libgtest-dev libbenchmark-dev nlohmann-json3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# clang's sanitizer and libFuzzer runtimes are a separate package on Debian 12 (libclang-rt-N-dev).
if [[ "${FP8KIT_SANITIZERS:-1}" != "0" ]] && command -v clang >/dev/null 2>&1 &&
   [[ ! -f "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]]; then
  rt="libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
  echo "installing: $rt"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$rt" >/dev/null
fi
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  echo "note: nvcc is at /usr/local/cuda/bin; the build adds it to PATH"
fi

# --- Python ---------------------------------------------------------------------------------------
if [[ "${FP8KIT_PYTHON:-1}" != "0" ]]; then
  python=${PYTHON:-python3}
  want=()
  for spec in "nanobind>=2.10.1:nanobind" "scikit-build-core>=0.10:scikit_build_core" "numpy:numpy" \
              "ml_dtypes:ml_dtypes" "pytest:pytest"; do
    "$python" -c "import ${spec#*:}" 2>/dev/null || want+=("${spec%%:*}")
  done
  torch_spec=${FP8KIT_TORCH:-torch==2.11.0}
  if [[ "$torch_spec" != "none" ]] && ! "$python" -c "import torch" 2>/dev/null; then
    want+=("$torch_spec")
  fi
  if ((${#want[@]})); then
    echo "pip installing: ${want[*]}"
    "$python" -m pip install -q --disable-pip-version-check --root-user-action=ignore "${want[@]}"
  fi
fi
