#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/seed-*), deterministically and
with the standard library only: small but real-looking safetensors files (bf16 / fp32 models, FP8
checkpoints in the fp8, compressed-tensors and fbgemm layouts with F32 / BF16 / E8M0 scales, files as
fp8kit itself writes them) and malformed ones (each rule of the validator broken once), shard indexes,
and command lines of every verb. Reproducers of findings are kept beside them as regress-* files and are
not touched by this script. Run it from anywhere: python3 tests/fuzz/make_seed_corpus.py"""
import json
import pathlib
import random
import struct

HERE = pathlib.Path(__file__).resolve().parent
rng = random.Random(7)


def bf16(values):
    return b"".join(struct.pack("<f", v)[2:] for v in values)


def f32(values):
    return b"".join(struct.pack("<f", v) for v in values)


def f16(values):
    return b"".join(struct.pack("<e", v) for v in values)


def normal(n, scale=0.02):
    return [rng.gauss(0.0, scale) for _ in range(n)]


def fp8_codes(n):
    return bytes(rng.choice([c for c in range(256) if c not in (0x7F, 0xFF)]) for _ in range(n))


def safetensors(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape, bytes)] in file order."""
    header, offset, buffer = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        buffer += data
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + buffer


def raw(header_text, buffer=b"", length=None):
    h = header_text.encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + buffer


FP8_CONFIG = json.dumps({"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                         "weight_block_size": [4, 8], "modules_to_not_convert": ["lm_head"]})
CT_CONFIG = json.dumps({"quant_method": "compressed-tensors", "format": "float-quantized",
                        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
                            "num_bits": 8, "type": "float", "strategy": "group", "group_size": 8}}}})


def header_seeds():
    pt = {"format": "pt"}
    w = "model.layers.0.mlp.down_proj.weight"
    return {
        "bf16-llama": safetensors([
            ("model.embed_tokens.weight", "BF16", [4, 16], bf16(normal(64))),
            ("model.layers.0.input_layernorm.weight", "BF16", [16], bf16([1.0 + x for x in normal(16, 0.05)])),
            (w, "BF16", [8, 16], bf16(normal(128))),
            ("model.layers.0.mlp.gate.weight", "BF16", [2, 16], bf16(normal(32))),
            ("lm_head.weight", "BF16", [4, 16], bf16(normal(64))),
        ], pt),
        "f32-mixed": safetensors([
            ("encoder.layer.0.attention.self.query.weight", "F32", [4, 8], f32(normal(32))),
            ("encoder.layer.0.attention.self.query.bias", "F32", [4], f32(normal(4))),
            ("position_ids", "I64", [1, 3], struct.pack("<3q", 0, 1, 2)),
            ("scalar", "F32", [], f32([3.5])),
            ("empty.weight", "F16", [0, 4], b""),
        ], pt),
        "f16-outliers": safetensors([("l.weight", "F16", [4, 8], f16([0.0] * 8 + normal(22) + [60000.0, -1e-7]))]),
        "fp8-block": safetensors([
            (w, "F8_E4M3", [8, 16], fp8_codes(128)),
            (w + "_scale_inv", "F32", [2, 2], f32([0.01, 0.02, 1.0, 2.0 ** -20])),
            ("lm_head.weight", "BF16", [2, 16], bf16(normal(32))),
        ], {"format": "pt", "quantization_config": FP8_CONFIG}),
        "fp8-tensor-scalar": safetensors([
            ("l.weight", "F8_E4M3", [4, 8], fp8_codes(32)), ("l.weight_scale_inv", "F32", [], f32([0.003])),
        ], pt),
        "fp8-e5m2-bf16-scales": safetensors([
            ("l.weight", "F8_E5M2", [5, 9], fp8_codes(45)),
            ("l.weight_scale_inv", "BF16", [1, 1], bf16([0.25])),
        ], pt),
        "fp8-e8m0-scales": safetensors([
            ("l.weight", "F8_E4M3", [8, 16], fp8_codes(128)),
            ("l.weight_scale_inv", "F8_E8M0", [2, 2], bytes([120, 127, 130, 0])),
        ], {"format": "pt", "quantization_config": json.dumps({"quant_method": "fp8", "weight_block_size": [4, 8],
                                                               "scale_fmt": "ue8m0"})}),
        "compressed-tensors-channel": safetensors([
            ("q_proj.weight", "F8_E4M3", [4, 8], fp8_codes(32)),
            ("q_proj.weight_scale", "BF16", [4, 1], bf16([0.01, 0.02, 0.03, 1.0])),
            ("q_proj.weight_zero_point", "I8", [4, 1], bytes(4)),
            ("q_proj.input_scale", "F32", [1], f32([0.5])),
        ], {"format": "pt", "quantization_config": CT_CONFIG}),
        "fbgemm-rows": safetensors([
            ("o_proj.weight", "F8_E4M3", [3, 8], fp8_codes(24)),
            ("o_proj.weight_scale", "F32", [3, 1], f32([0.1, 0.2, 0.3])),
            ("o_proj.input_scale_ub", "F32", [1], f32([1200.0])),
        ], pt),
        "ragged-block": safetensors([
            ("l.weight", "F8_E4M3", [5, 9], fp8_codes(45)),
            ("l.weight_scale_inv", "F32", [2, 2], f32([1.0, 2.0, 3.0, 4.0])),
        ], {"format": "pt", "quantization_config": json.dumps({"quant_method": "fp8", "weight_block_size": [4, 8]})}),
        "every-dtype": safetensors([
            (f"t{i}.{d}", d, shape, bytes(n)) for i, (d, shape, n) in enumerate([
                ("BOOL", [2], 2), ("F4", [4], 2), ("F6_E2M3", [4], 3), ("F6_E3M2", [4], 3), ("U8", [2], 2),
                ("I8", [2], 2), ("F8_E5M2", [2], 2), ("F8_E4M3", [2], 2), ("F8_E8M0", [2], 2),
                ("F8_E4M3FNUZ", [2], 2), ("F8_E5M2FNUZ", [2], 2), ("I16", [2], 4), ("U16", [2], 4), ("F16", [2], 4),
                ("BF16", [2], 4), ("I32", [2], 8), ("U32", [2], 8), ("F32", [2], 8), ("C64", [1], 8),
                ("F64", [1], 8), ("I64", [1], 8), ("U64", [1], 8)])
        ]),
        "metadata-only": safetensors([], {"format": "pt", "note": "no tensors"}),
        "unpadded": safetensors([("a", "F32", [1], f32([1.0]))], None, pad=False),
        # malformed: each one rule broken
        "bad-length-huge": struct.pack("<Q", 1 << 62) + b"{}",
        "bad-length-past-end": raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32([1]), length=4096),
        "bad-not-object": raw('["a"]'),
        "bad-no-brace": raw(' {"a":1}'),
        "bad-json": raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', f32([1])),
        "bad-duplicate-key": raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                 '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32([1, 2])),
        "bad-deep": raw('{"a":{"dtype":[[["F32"]]],"shape":[1],"data_offsets":[0,4]}}', f32([1])),
        "bad-dtype": raw('{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}', b"\0"),
        "bad-shape-negative": raw('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32([1])),
        "bad-shape-float": raw('{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', f32([1])),
        "bad-shape-overflow": raw('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}', f32([1])),
        "bad-size-mismatch": raw('{"a":{"dtype":"BF16","shape":[4,4],"data_offsets":[0,8]}}', bytes(8)),
        "bad-subbyte": raw('{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', bytes(2)),
        "bad-overlap": raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                           '"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', bytes(8)),
        "bad-hole": raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', bytes(8)),
        "bad-trailing": raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', bytes(12)),
        "bad-truncated": raw('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', bytes(9)),
        "bad-offsets-reversed": raw('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', bytes(8)),
        "bad-metadata-value": raw('{"__metadata__":{"format":1}}'),
        "bad-short-file": b"\x10\x00\x00",
    }


def index_seeds():
    good = {"metadata": {"total_size": 30}, "weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
        "c": "model-00002-of-00002.safetensors"}}
    seeds = {
        "good": json.dumps(good, indent=2),
        "no-metadata": json.dumps({"weight_map": good["weight_map"]}),
        "null-metadata": json.dumps({"metadata": None, "weight_map": good["weight_map"]}),
        "extra-metadata": json.dumps({"metadata": {"total_size": 30, "format": "pt", "nested": {"x": [1, 2.5, None]}},
                                      "weight_map": good["weight_map"]}),
        "missing-tensor": json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                                     "c": "model-00002-of-00002.safetensors"}}),
        "wrong-shard": json.dumps({"weight_map": {"a": "model-00002-of-00002.safetensors",
                                                  "b": "model-00001-of-00002.safetensors",
                                                  "c": "model-00002-of-00002.safetensors"}}),
        "unknown-tensor": json.dumps({"weight_map": dict(good["weight_map"], d="model-00002-of-00002.safetensors")}),
        "missing-shard-file": json.dumps({"weight_map": dict(good["weight_map"], c="model-00003-of-00003.safetensors")}),
        "traversal": json.dumps({"weight_map": {"a": "../model-00001-of-00002.safetensors"}}),
        "subdirectory": json.dumps({"weight_map": {"a": "sub/model.safetensors"}}),
        "not-safetensors": json.dumps({"weight_map": {"a": "pytorch_model.bin"}}),
        "non-string": json.dumps({"weight_map": {"a": 1}}),
        "empty-map": json.dumps({"weight_map": {}}),
        "no-map": json.dumps({"metadata": {"total_size": 0}}),
        "array": "[]",
        "duplicate-key": '{"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}}',
        "deep": '{"metadata": ' + "[" * 70 + "]" * 70 + ', "weight_map": {}}',
        "truncated": json.dumps(good)[:-7],
        "unicode-names": json.dumps({"weight_map": {"\u00e9\u4e2d.weight": "model-00001-of-00002.safetensors"}}),
    }
    return {k: v.encode() for k, v in seeds.items()}


def cli_seeds():
    verbs = {"quantize": 0, "dequantize": 1, "inspect": 2, "generate": 3, "selftest": 4, "doctor": 5}
    lines = {
        "quantize-default": ("quantize", ["model", "-o", "model-fp8"]),
        "quantize-ct-channel": ("quantize", ["m", "--output", "o", "--format", "compressed-tensors", "--scheme", "channel",
                                             "--device", "cpu", "--threads", "4", "--force", "--quiet"]),
        "quantize-block-regex": ("quantize", ["m.safetensors", "-o", "o.safetensors", "--block", "128x64", "--fmt", "e5m2",
                                              "--scale-format", "ue8m0", "--include", r"layers\.[0-3]\.", "--exclude",
                                              "lm_head|embed"]),
        "quantize-fbgemm": ("quantize", ["m", "-o", "o", "--format", "fbgemm"]),
        "quantize-bad-scheme": ("quantize", ["m", "-o", "o", "--format", "fp8", "--scheme", "channel"]),
        "quantize-bad-regex": ("quantize", ["m", "-o", "o", "--include", "(unclosed"]),
        "quantize-missing-value": ("quantize", ["m", "-o"]),
        "quantize-help": ("quantize", ["--help"]),
        "dequantize": ("dequantize", ["m-fp8", "-o", "m-bf16", "--dtype", "fp16", "--device", "auto", "-q"]),
        "dequantize-bad-dtype": ("dequantize", ["a", "-o", "b", "--dtype", "int8"]),
        "inspect": ("inspect", ["m", "--error", "--json", "--scheme", "tensor", "--device", "cuda"]),
        "inspect-two-inputs": ("inspect", ["a", "b"]),
        "generate": ("generate", ["out", "--layers", "4", "--hidden", "576", "--intermediate", "1536", "--vocab", "4096",
                                  "--heads", "9", "--kv-heads", "3", "--dtype", "fp32", "--shard-size", "10M",
                                  "--seed", "3", "--quiet"]),
        "generate-bad-heads": ("generate", ["out", "--hidden", "100", "--heads", "7"]),
        "generate-huge-size": ("generate", ["out", "--shard-size", "99999999999999999G"]),
        "selftest": ("selftest", ["--rows", "64", "--cols", "300", "--seed", "11"]),
        "selftest-too-big": ("selftest", ["--rows", "268435456", "--cols", "2"]),
        "doctor": ("doctor", []),
        "doctor-extra": ("doctor", ["--verbose"]),
    }
    return {k: bytes([verbs[verb]]) + b"\0".join(a.encode() for a in args) for k, (verb, args) in lines.items()}


def main():
    header = header_seeds()
    files = {"safetensors_header": header, "checkpoint_file": header, "shard_index": index_seeds(),
             "cli_args": cli_seeds()}
    for target, seeds in files.items():
        d = HERE / "corpus" / target
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("seed-*"):
            old.unlink()
        for name, data in seeds.items():
            (d / f"seed-{name}").write_bytes(data)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
