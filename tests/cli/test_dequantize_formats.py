"""fp8kit dequantize on FP8 checkpoints laid out as other tools write them: DeepSeek-V3 (scale in
another shard), Qwen3-FP8 (BF16 scales), UE8M0 (F8_E8M0) scales, a per-tensor scalar without a block
size, compressed-tensors with all-zero zero points, fbgemm; and a missing scale, which is an error."""
import json

import ml_dtypes
import numpy as np
import pytest

from conftest import load, run, save, weights
from reference import deepseek_weight_dequant, quantize_block


def fp8_weight(rng, shape, block=(128, 128), pow2=False):
    return quantize_block(weights(rng, shape, np.float32), block, pow2=pow2)


def write_dir(path, shards, config):
    path.mkdir()
    weight_map = {}
    for fname, tensors in shards.items():
        save(path / fname, tensors, {"format": "pt"})
        weight_map.update({k: fname for k in tensors})
    total = sum(v.nbytes for t in shards.values() for v in t.values())
    (path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    (path / "config.json").write_text(json.dumps(config))


DEEPSEEK = {"model_type": "deepseek_v3", "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
                                                                   "quant_method": "fp8", "weight_block_size": [128, 128]}}


def test_deepseek_layout_scale_in_another_shard(tmp_path, rng):
    q1, s1 = fp8_weight(rng, (300, 260))
    q2, s2 = fp8_weight(rng, (256, 128))
    router = weights(rng, (8, 260))
    bias = rng.normal(size=8).astype(np.float32)
    write_dir(tmp_path / "ds", {
        "model-00001-of-00002.safetensors": {"layers.0.mlp.experts.0.up_proj.weight": q1, "layers.0.mlp.gate.weight": router,
                                             "layers.0.attn.wq.weight": q2},
        "model-00002-of-00002.safetensors": {"layers.0.mlp.experts.0.up_proj.weight_scale_inv": s1,
                                             "layers.0.attn.wq.weight_scale_inv": s2,
                                             "layers.0.mlp.gate.e_score_correction_bias": bias},
    }, DEEPSEEK)
    run("dequantize", tmp_path / "ds", "-o", tmp_path / "out", "--quiet")
    a, _ = load(tmp_path / "out" / "model-00001-of-00002.safetensors")
    b, _ = load(tmp_path / "out" / "model-00002-of-00002.safetensors")
    np.testing.assert_array_equal(a["layers.0.mlp.experts.0.up_proj.weight"].view(np.uint16),
                                  deepseek_weight_dequant(q1, s1).view(np.uint16))
    np.testing.assert_array_equal(a["layers.0.attn.wq.weight"].view(np.uint16), deepseek_weight_dequant(q2, s2).view(np.uint16))
    np.testing.assert_array_equal(a["layers.0.mlp.gate.weight"].view(np.uint16), router.view(np.uint16))
    assert set(b) == {"layers.0.mlp.gate.e_score_correction_bias"}
    index = json.loads((tmp_path / "out" / "model.safetensors.index.json").read_text())
    assert not any(k.endswith("_scale_inv") for k in index["weight_map"])
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "deepseek_v3"


@pytest.mark.parametrize("scale_kind", ["bf16", "e8m0"])
def test_bf16_and_ue8m0_scales(tmp_path, rng, scale_kind):
    q, s = fp8_weight(rng, (200, 300), pow2=scale_kind == "e8m0")
    stored = s.astype(ml_dtypes.bfloat16) if scale_kind == "bf16" else s.astype(ml_dtypes.float8_e8m0fnu)
    save(tmp_path / "in.safetensors", {"l.weight": q, "l.weight_scale_inv": stored})
    run("dequantize", tmp_path / "in.safetensors", "-o", tmp_path / "out.safetensors", "--quiet")
    out, _ = load(tmp_path / "out.safetensors")
    np.testing.assert_array_equal(out["l.weight"].view(np.uint16),
                                  deepseek_weight_dequant(q, stored.astype(np.float32)).view(np.uint16))
    assert set(out) == {"l.weight"}


def test_ue8m0_nan_scale_is_refused(tmp_path, rng):
    q, s = fp8_weight(rng, (128, 128), pow2=True)
    bad = np.array([[255]], np.uint8).view(ml_dtypes.float8_e8m0fnu)
    save(tmp_path / "in.safetensors", {"l.weight": q, "l.weight_scale_inv": bad})
    p = run("dequantize", tmp_path / "in.safetensors", "-o", tmp_path / "out.safetensors", check=False)
    assert p.returncode == 1 and "255" in p.stderr and "l.weight_scale_inv" in p.stderr
    assert not (tmp_path / "out.safetensors").exists()


def test_per_tensor_scalar_without_block_size(tmp_path, rng):
    x = weights(rng, (100, 70), np.float32)
    s = np.float32(np.abs(x).max() / 448)
    q = (x / s).astype(ml_dtypes.float8_e4m3fn)
    save(tmp_path / "in.safetensors", {"l.weight": q, "l.weight_scale_inv": np.array(s, np.float32)})  # rank 0
    run("dequantize", tmp_path / "in.safetensors", "-o", tmp_path / "out.safetensors", "--dtype", "fp32", "--quiet")
    out, _ = load(tmp_path / "out.safetensors")
    np.testing.assert_array_equal(out["l.weight"], q.astype(np.float32) * s)


def test_compressed_tensors_channel_with_zero_points(tmp_path, rng):
    x = weights(rng, (64, 96), np.float32, outliers=False)
    s = (np.abs(x).max(axis=1, keepdims=True) / 448).astype(ml_dtypes.bfloat16)
    q = (x / s.astype(np.float32)).astype(ml_dtypes.float8_e4m3fn)
    zp = np.zeros((64, 1), np.int8)
    (tmp_path / "ct").mkdir()
    save(tmp_path / "ct" / "model.safetensors", {"m.o_proj.weight": q, "m.o_proj.weight_scale": s,
                                                  "m.o_proj.weight_zero_point": zp, "m.o_proj.input_scale": np.ones(1, np.float32)})
    (tmp_path / "ct" / "config.json").write_text(json.dumps({"quantization_config": {
        "quant_method": "compressed-tensors", "format": "float-quantized",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 8, "type": "float", "strategy": "channel"}}}}}))
    run("dequantize", tmp_path / "ct", "-o", tmp_path / "out", "--quiet")
    out, _ = load(tmp_path / "out" / "model.safetensors")
    assert set(out) == {"m.o_proj.weight"}
    np.testing.assert_array_equal(out["m.o_proj.weight"].view(np.uint16),
                                  (q.astype(np.float32) * s.astype(np.float32)).astype(ml_dtypes.bfloat16).view(np.uint16))
    zp[3, 0] = 1
    save(tmp_path / "ct" / "model.safetensors", {"m.o_proj.weight": q, "m.o_proj.weight_scale": s, "m.o_proj.weight_zero_point": zp})
    p = run("dequantize", tmp_path / "ct", "-o", tmp_path / "out2", check=False)
    assert p.returncode == 1 and "zero point" in p.stderr
    assert not (tmp_path / "out2").exists()


def test_fbgemm_rowwise(tmp_path, rng):
    x = weights(rng, (48, 80), np.float32, outliers=False)
    s = (np.abs(x).max(axis=1, keepdims=True) / 448).astype(np.float32)
    q = (x / s).astype(ml_dtypes.float8_e4m3fn)
    save(tmp_path / "in.safetensors", {"l.weight": q, "l.weight_scale": s, "l.bias": np.zeros(48, np.float32)})
    run("dequantize", tmp_path / "in.safetensors", "-o", tmp_path / "out.safetensors", "--dtype", "fp32", "--quiet")
    out, _ = load(tmp_path / "out.safetensors")
    np.testing.assert_array_equal(out["l.weight"], q.astype(np.float32) * s)
    assert set(out) == {"l.weight", "l.bias"}


def test_missing_scale_is_an_error(tmp_path, rng):
    q, s = fp8_weight(rng, (128, 128))
    save(tmp_path / "in.safetensors", {"a.weight": q, "b.weight": q, "a.weight_scale_inv": s})
    p = run("dequantize", tmp_path / "in.safetensors", "-o", tmp_path / "out.safetensors", check=False)
    assert p.returncode == 1
    assert "b.weight" in p.stderr and "no scale" in p.stderr and p.stderr.count("\n") == 1
    assert not (tmp_path / "out.safetensors").exists()


def test_scale_grid_that_does_not_fit(tmp_path, rng):
    q, s = fp8_weight(rng, (300, 200))
    save(tmp_path / "in.safetensors", {"a.weight": q, "a.weight_scale_inv": s.T.copy()})
    p = run("dequantize", tmp_path / "in.safetensors", "-o", tmp_path / "out.safetensors", check=False)
    assert p.returncode == 1 and "does not fit" in p.stderr and "a.weight_scale_inv" in p.stderr
