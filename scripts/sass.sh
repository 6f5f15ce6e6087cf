#!/usr/bin/env bash
# SASS of compiled CUDA objects on a machine without a GPU or cuobjdump (the CUDA toolkit here has
# nvcc and ptxas only): installs NVIDIA's cuobjdump and nvdisasm wheels from PyPI into a cache folder
# once, then dumps the SASS of each object, optionally only the kernels whose mangled name matches a
# regular expression, with a per-kernel instruction count (static) and the opcode histogram.
#
#   bash scripts/sass.sh OBJECT... [--kernel REGEX] [--full]
#   bash scripts/sass.sh build/src/cuda/sm90/CMakeFiles/fp8kit_sm90_kernels.dir/sm90_fp8_gemm_tile_256x128.cu.o --full
#
# Reading SASS here instead of on the GPU machine saves device time: register counts, spills, where the
# loads sit relative to the barriers, and which instruction an address reported by compute-sanitizer is.
set -euo pipefail
tools=${FP8KIT_SASS_TOOLS:-$HOME/.cache/fp8kit-sass-tools}
if [[ ! -x "$tools/bin/cuobjdump" ]]; then
  mkdir -p "$tools/wheels" "$tools/bin"
  python3 -m pip download --quiet --no-deps -d "$tools/wheels" nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm
  for w in "$tools"/wheels/*.whl; do python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$w" "$tools/x"; done
  find "$tools/x" -type f \( -name cuobjdump -o -name nvdisasm \) -exec cp {} "$tools/bin/" \;
  chmod +x "$tools/bin/"*
fi
export PATH="$tools/bin:$PATH"

objects=() kernel="" full=0
while (($#)); do
  case "$1" in
    --kernel) kernel=$2; shift 2 ;;
    --full) full=1; shift ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) objects+=("$1"); shift ;;
  esac
done
((${#objects[@]})) || { echo "usage: $0 OBJECT... [--kernel REGEX] [--full]" >&2; exit 2; }
for o in "${objects[@]}"; do
  cuobjdump -sass "$o" | python3 -c '
import collections, re, sys
kernel, full = sys.argv[1], sys.argv[2] == "1"
for f in re.split(r"\n\s*Function : ", sys.stdin.read())[1:]:
    name = f.split("\n", 1)[0].strip()
    if kernel and not re.search(kernel, name):
        continue
    lines = [l for l in f.split("\n") if re.search(r"/\*[0-9a-f]{4}\*/", l)]
    ops = [re.sub(r"^@!?U?P\w+\s+", "", re.sub(r"^\s*/\*[0-9a-f]+\*/\s*", "", l)).split()[0].split(".")[0] for l in lines]
    print(f"== {name}: {len(ops)} instructions")
    print("   " + ", ".join(f"{k} {v}" for k, v in collections.Counter(ops).most_common(16)))
    if full:
        print("\n".join(re.sub(r"\s*/\*\s*0x[0-9a-f]+\s*\*/\s*$", "", l) for l in lines))
' "$kernel" "$full"
done
