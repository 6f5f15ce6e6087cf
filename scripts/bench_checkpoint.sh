#!/usr/bin/env bash
# Times `fp8kit quantize` against `cp` of the same files on a generated multi-GB bf16 checkpoint
# (warm page cache, same run, same machine, best of 3) and reports the ratio, throughput and peak
# resident memory (the child's ru_maxrss, GNU time's "Maximum resident set size") of quantize and
# dequantize, and the time of the tool's I/O path alone (quantize with every tensor excluded); last,
# one more run of each prints the tool's own account of its reading and converting time (with
# --device cuda on a GPU machine: the share of the copies to and from the GPU and the kernels).
#
#   scripts/bench_checkpoint.sh [WORKDIR] [fp8kit quantize options...]
#
# WORKDIR (default /tmp/fp8kit-bench) needs about 3x the model size free (model, copy, FP8 output).
# The model: Llama-shaped, 12 layers, hidden 3072, intermediate 8192, vocab 32000: 2.8 GB bf16 in
# 1 GB shards (override with FP8KIT_BENCH_LAYERS / FP8KIT_BENCH_HIDDEN / FP8KIT_BENCH_INTERMEDIATE).
set -euo pipefail
cd "$(dirname "$0")/.."
FP8KIT="${FP8KIT_BIN:-$PWD/build/tools/fp8kit/fp8kit}"
WORK="${1:-/tmp/fp8kit-bench}"
shift || true
[[ -x "$FP8KIT" ]] || { echo "build first (scripts/build.sh): $FP8KIT not found" >&2; exit 1; }

model="$WORK/model"
mkdir -p "$WORK"
if [[ ! -f "$model/config.json" ]]; then
  rm -rf "$model"
  "$FP8KIT" generate "$model" --layers "${FP8KIT_BENCH_LAYERS:-12}" --hidden "${FP8KIT_BENCH_HIDDEN:-3072}" \
    --intermediate "${FP8KIT_BENCH_INTERMEDIATE:-8192}" --vocab 32000 --heads 24 --kv-heads 8 --shard-size 1G --quiet
fi
bytes=$(du -sb "$model" | cut -f1)
cat "$model"/*.safetensors > /dev/null  # warm the page cache

best() {  # best wall time in seconds of 3 runs of "$@", each after `rm -rf` of the output ($out)
  local b=""
  for _ in 1 2 3; do
    rm -rf "$out"
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null
    t1=$(date +%s.%N)
    b=$(python3 -c "print(min(float('${b:-1e9}'), $t1 - $t0))")
  done
  echo "$b"
}
peak_rss_mb() {  # peak RSS in MB of one run of "$@" (the child's ru_maxrss, in kB on Linux)
  rm -rf "$out"
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))' "$@"
}

out="$WORK/copy"
t_cp=$(best cp -r "$model" "$out")
out="$WORK/io"
t_io=$(best "$FP8KIT" quantize "$model" -o "$out" --quiet --exclude .)  # the I/O path alone
out="$WORK/fp8"
t_q=$(best "$FP8KIT" quantize "$model" -o "$out" --quiet "$@")
rss_q=$(peak_rss_mb "$FP8KIT" quantize "$model" -o "$out" --quiet "$@")
out="$WORK/bf16"
t_d=$(best "$FP8KIT" dequantize "$WORK/fp8" -o "$out" --quiet)
rss_d=$(peak_rss_mb "$FP8KIT" dequantize "$WORK/fp8" -o "$out" --quiet)
largest=$(python3 - "$model" <<'PY'
import json, struct, sys, pathlib
m = 0
for f in pathlib.Path(sys.argv[1]).glob("*.safetensors"):
    with open(f, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        h = json.loads(fh.read(n))
    m = max([m] + [v["data_offsets"][1] - v["data_offsets"][0] for k, v in h.items() if k != "__metadata__"])
print(m // 1000000)
PY
)
rm -rf "$WORK/copy" "$WORK/io" "$WORK/bf16"

python3 - "$bytes" "$t_cp" "$t_q" "$t_d" "$t_io" "$rss_q" "$rss_d" "$largest" "$(nproc)" <<'PY'
import sys
b, cp, q, d, io = int(sys.argv[1]), *map(float, sys.argv[2:6])
rss_q, rss_d, largest, cores = sys.argv[6:]
print(f"checkpoint: {b / 1e9:.2f} GB bf16, largest tensor {largest} MB, {cores} CPU cores")
print(f"cp -r:       {cp:7.2f} s  {b / cp / 1e9:6.2f} GB/s")
print(f"fp8kit I/O:  {io:7.2f} s  {b / io / 1e9:6.2f} GB/s  (quantize --exclude .: nothing converted)  ratio to cp {io / cp:.2f}x")
print(f"quantize:    {q:7.2f} s  {b / q / 1e9:6.2f} GB/s  peak RSS {rss_q} MB  ratio to cp {q / cp:.2f}x")
print(f"dequantize:  {d:7.2f} s  peak RSS {rss_d} MB")
PY
# One more run of each, not timed here: the tool's own account of where its time went (reading and
# converting the converted tensors on the main thread; the writer thread and kept tensors overlap).
out="$WORK/fp8-account"
rm -rf "$out" "$WORK/bf16-account"
"$FP8KIT" quantize "$model" -o "$out" "$@" 2>/dev/null | grep '^quantized'
"$FP8KIT" dequantize "$WORK/fp8" -o "$WORK/bf16-account" 2>/dev/null | grep '^dequantized'
rm -rf "$out" "$WORK/bf16-account"
