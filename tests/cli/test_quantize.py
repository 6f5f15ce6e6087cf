"""fp8kit quantize: files written by our tool read back with the independent safetensors reader,
checked bit for bit against a numpy version of the numerics contract, and round-tripped."""
import json
import re

import ml_dtypes
import numpy as np
import pytest

from conftest import load, run, save, weights
from reference import deepseek_weight_dequant, quantize_block, scale_of, sqnr_db


def small_model(rng, dtype=ml_dtypes.bfloat16):
    return {
        "model.embed_tokens.weight": weights(rng, (64, 200), dtype),
        "model.layers.0.self_attn.q_proj.weight": weights(rng, (300, 200), dtype),  # ragged 128-blocks
        "model.layers.0.self_attn.q_proj.bias": weights(rng, (300,), dtype),
        "model.layers.0.mlp.down_proj.weight": weights(rng, (200, 130), dtype),
        "model.layers.0.mlp.gate.weight": weights(rng, (8, 200), dtype),  # MoE router: kept
        "model.layers.0.input_layernorm.weight": np.ones(200, dtype),
        "lm_head.weight": weights(rng, (64, 200), dtype),
        "position_ids": np.arange(16, dtype=np.int64).reshape(1, 16),
    }


def test_default_fp8_block_matches_the_contract_bit_for_bit(tmp_path, rng):
    src = small_model(rng)
    save(tmp_path / "in.safetensors", src, {"format": "pt"})
    run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "out.safetensors", "--quiet")
    out, meta = load(tmp_path / "out.safetensors")
    assert meta["format"] == "pt"
    assert json.loads(meta["quantization_config"])["weight_block_size"] == [128, 128]
    quantized = ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight"]
    assert set(out) == set(src) | {n + "_scale_inv" for n in quantized}
    for name in quantized:
        q_ref, s_ref = quantize_block(src[name], (128, 128))
        assert out[name].dtype == ml_dtypes.float8_e4m3fn and out[name].shape == src[name].shape
        assert out[name + "_scale_inv"].dtype == np.float32
        np.testing.assert_array_equal(out[name + "_scale_inv"].view(np.uint32), s_ref.view(np.uint32))
        np.testing.assert_array_equal(out[name].view(np.uint8), q_ref.view(np.uint8))
    for name in set(src) - set(quantized):
        np.testing.assert_array_equal(out[name].view(np.uint8), src[name].view(np.uint8))


def test_summaries_account_for_reading_and_converting(tmp_path, rng):
    """Both summaries split the converted tensors' time into reading and converting, within the total."""
    save(tmp_path / "in.safetensors", small_model(rng), {"format": "pt"})
    runs = [("quantized", "quantizing", run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "q.safetensors")),
            ("dequantized", "dequantizing", run("dequantize", tmp_path / "q.safetensors", "-o", tmp_path / "d.safetensors"))]
    for verb, stage, p in runs:
        m = re.search(rf"^{verb} 2 tensors .* in ([0-9.]+) s on .*\(reading ([0-9.]+) s, {stage} ([0-9.]+) s\)$", p.stdout, re.M)
        assert m, p.stdout
        total, reading, converting = map(float, m.groups())
        assert 0 <= reading and 0 <= converting and reading + converting <= total + 0.02, p.stdout


def test_header_alignment_and_padding(tmp_path, rng):
    save(tmp_path / "in.safetensors", small_model(rng))
    run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "out.safetensors", "--quiet")
    raw = (tmp_path / "out.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0
    header = json.loads(raw[8 : 8 + n])
    sizes = {"F32": 4, "BF16": 2, "I64": 8, "F8_E4M3": 1}
    for name, t in header.items():
        if name != "__metadata__":
            assert (8 + n + t["data_offsets"][0]) % sizes[t["dtype"]] == 0, name


def test_dequantize_of_quantize_matches_deepseek_fp8_cast_bf16(tmp_path, rng):
    src = small_model(rng, np.float32)
    save(tmp_path / "in.safetensors", src)
    run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "q.safetensors", "--quiet")
    run("dequantize", tmp_path / "q.safetensors", "-o", tmp_path / "dq.safetensors", "--quiet")
    q, _ = load(tmp_path / "q.safetensors")
    dq, meta = load(tmp_path / "dq.safetensors")
    assert meta == {"format": "pt"}
    assert not any(k.endswith("_scale_inv") for k in dq)
    for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight"]:
        assert dq[name].dtype == ml_dtypes.bfloat16
        want = deepseek_weight_dequant(q[name], q[name + "_scale_inv"])
        np.testing.assert_array_equal(dq[name].view(np.uint16), want.view(np.uint16))
        assert sqnr_db(src[name], dq[name]) > 25.0
    np.testing.assert_array_equal(dq["lm_head.weight"], src["lm_head.weight"])  # kept, still fp32


@pytest.mark.parametrize("dtype_flag,np_dtype", [("fp16", np.float16), ("fp32", np.float32)])
def test_dequantize_output_dtypes(tmp_path, rng, dtype_flag, np_dtype):
    src = small_model(rng)
    save(tmp_path / "in.safetensors", src)
    run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "q.safetensors", "--quiet")
    run("dequantize", tmp_path / "q.safetensors", "-o", tmp_path / "dq.safetensors", "--dtype", dtype_flag, "--quiet")
    q, _ = load(tmp_path / "q.safetensors")
    dq, _ = load(tmp_path / "dq.safetensors")
    name = "model.layers.0.self_attn.q_proj.weight"
    np.testing.assert_array_equal(dq[name], deepseek_weight_dequant(q[name], q[name + "_scale_inv"], out=np_dtype))


def test_ue8m0_scales_are_powers_of_two(tmp_path, rng):
    src = small_model(rng)
    save(tmp_path / "in.safetensors", src)
    run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "q.safetensors", "--scale-format", "ue8m0", "--quiet")
    q, _ = load(tmp_path / "q.safetensors")
    name = "model.layers.0.self_attn.q_proj.weight"
    s = q[name + "_scale_inv"]
    assert s.dtype == np.float32
    assert np.all(s.view(np.uint32) & 0x7FFFFF == 0)
    q_ref, s_ref = quantize_block(src[name], (128, 128), pow2=True)
    np.testing.assert_array_equal(s, s_ref)
    np.testing.assert_array_equal(q[name].view(np.uint8), q_ref.view(np.uint8))


@pytest.mark.parametrize("fmt,scheme,scale_name,scale_dtype,scale_shape", [
    ("fp8", "tensor", "_scale_inv", np.float32, ()),
    ("fp8", "block", "_scale_inv", np.float32, (5, 4)),
    ("compressed-tensors", "tensor", "_scale", ml_dtypes.bfloat16, (1,)),
    ("compressed-tensors", "channel", "_scale", ml_dtypes.bfloat16, (300, 1)),
    ("compressed-tensors", "block", "_scale", ml_dtypes.bfloat16, (5, 4)),
    ("fbgemm", "channel", "_scale", np.float32, (300, 1)),
])
def test_formats_and_schemes_round_trip(tmp_path, rng, fmt, scheme, scale_name, scale_dtype, scale_shape):
    name = "layers.0.mlp.up_proj.weight"
    src = {name: weights(rng, (300, 200))}
    save(tmp_path / "in.safetensors", src)
    run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "q.safetensors", "--format", fmt, "--scheme", scheme,
        "--block", "64x64", "--quiet")
    q, _ = load(tmp_path / "q.safetensors")
    s = q[name + scale_name]
    assert s.dtype == scale_dtype and s.shape == scale_shape
    run("dequantize", tmp_path / "q.safetensors", "-o", tmp_path / "dq.safetensors", "--dtype", "fp32", "--quiet")
    dq, _ = load(tmp_path / "dq.safetensors")
    assert set(dq) == {name}
    # decode(q) * stored scale, broadcast per granularity, in fp32
    s32 = s.astype(np.float32)
    if scheme == "block":
        s32 = np.repeat(np.repeat(s32, 64, 0), 64, 1)[:300, :200]
    want = q[name].astype(np.float32) * s32.reshape(s32.shape if s32.ndim == 2 else (1, 1) if s32.size == 1 else s32.shape)
    np.testing.assert_array_equal(dq[name], want)
    floor = {"tensor": 10.0, "channel": 22.0, "block": 25.0}[scheme]
    assert sqnr_db(src[name], dq[name]) > floor


def test_e5m2_with_fp8_format(tmp_path, rng):
    name = "l.weight"
    src = {name: weights(rng, (130, 260), np.float32)}
    save(tmp_path / "in.safetensors", src)
    run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "q.safetensors", "--fmt", "e5m2", "--quiet")
    q, _ = load(tmp_path / "q.safetensors")
    assert q[name].dtype == ml_dtypes.float8_e5m2
    q_ref, s_ref = quantize_block(src[name], (128, 128), fmt="e5m2")
    np.testing.assert_array_equal(q[name].view(np.uint8), q_ref.view(np.uint8))
    np.testing.assert_array_equal(q[name + "_scale_inv"], s_ref)


def test_include_exclude(tmp_path, rng):
    src = small_model(rng)
    save(tmp_path / "in.safetensors", src)
    run("quantize", tmp_path / "in.safetensors", "-o", tmp_path / "q.safetensors", "--include", "lm_head",
        "--exclude", "down_proj", "--quiet")
    q, _ = load(tmp_path / "q.safetensors")
    assert q["lm_head.weight"].dtype == ml_dtypes.float8_e4m3fn
    assert q["model.layers.0.mlp.down_proj.weight"].dtype == ml_dtypes.bfloat16
    assert "model.layers.0.mlp.down_proj.weight_scale_inv" not in q


def test_usage_errors_exit_2(tmp_path):
    assert run("quantize", "x", check=False).returncode == 2
    assert run("quantize", "x", "-o", "y", "--format", "fp8", "--scheme", "channel", check=False).returncode == 2
    assert run("quantize", "x", "-o", "y", "--format", "fbgemm", "--fmt", "e5m2", check=False).returncode == 2
    assert run("quantize", "x", "-o", "y", "--block", "0x3", check=False).returncode == 2
