"""Model directories: sharded checkpoints with an index, config rewriting, side files, inspect."""
import json

import ml_dtypes
import numpy as np

from conftest import load, run


def generate(path, *extra):
    run("generate", path, "--layers", "2", "--hidden", "192", "--intermediate", "320", "--vocab", "300", "--heads", "3",
        "--kv-heads", "1", "--quiet", *extra)


def shards_of(directory):
    index = json.loads((directory / "model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    return index, {f: load(directory / f)[0] for f in files}


def test_sharded_quantize_and_dequantize(tmp_path):
    src = tmp_path / "model"
    generate(src, "--shard-size", "400k")
    (src / "tokenizer.json").write_text('{"tok": 1}')
    (src / "sub").mkdir()
    (src / "sub" / "x.txt").write_text("side file")
    (src / "pytorch_model.bin").write_bytes(b"stale")
    in_index, in_shards = shards_of(src)
    assert len(in_shards) >= 3

    p = run("quantize", src, "-o", tmp_path / "q")
    q = tmp_path / "q"
    assert "pytorch_model.bin" in p.stdout  # reported as not copied
    assert not (q / "pytorch_model.bin").exists()
    assert (q / "tokenizer.json").read_text() == '{"tok": 1}'
    assert (q / "sub" / "x.txt").read_text() == "side file"
    assert not [f for f in q.rglob("*") if f.name.startswith(".fp8kit")]
    index, shards = shards_of(q)
    assert set(shards) == set(in_shards)  # same shard layout
    total = 0
    for f, tensors in shards.items():
        for name, arr in tensors.items():
            assert index["weight_map"][name] == f
            total += arr.nbytes
        for name in in_shards[f]:  # every input tensor stays in its shard, scales beside their weight
            assert name in tensors
            if tensors[name].dtype == ml_dtypes.float8_e4m3fn:
                assert name + "_scale_inv" in tensors
    assert index["metadata"]["total_size"] == total
    assert set(index["weight_map"]) == {n for t in shards.values() for n in t}
    config = json.loads((q / "config.json").read_text())
    qc = config["quantization_config"]
    assert qc["quant_method"] == "fp8" and qc["weight_block_size"] == [128, 128] and qc["fmt"] == "e4m3"
    assert qc["activation_scheme"] == "dynamic"
    assert "lm_head" in qc["modules_to_not_convert"] and "model.embed_tokens" in qc["modules_to_not_convert"]
    assert config["hidden_size"] == 192  # the rest of config.json is kept

    run("dequantize", q, "-o", tmp_path / "dq", "--quiet")
    dq = tmp_path / "dq"
    d_index, d_shards = shards_of(dq)
    assert set(d_index["weight_map"]) == set(in_index["weight_map"])
    assert d_index["metadata"]["total_size"] == in_index["metadata"]["total_size"]
    assert "quantization_config" not in json.loads((dq / "config.json").read_text())
    for f, tensors in d_shards.items():
        for name, arr in tensors.items():
            ref = in_shards[f][name]
            assert arr.dtype == ref.dtype and arr.shape == ref.shape
            if name.endswith("_proj.weight"):
                err = arr.astype(np.float64) - ref.astype(np.float64)
                assert 10 * np.log10((ref.astype(np.float64) ** 2).sum() / (err**2).sum()) > 25
            else:
                np.testing.assert_array_equal(arr.view(np.uint16), ref.view(np.uint16))


def test_single_file_directory_and_compressed_tensors_config(tmp_path):
    src = tmp_path / "model"
    generate(src)
    run("quantize", src, "-o", tmp_path / "q", "--format", "compressed-tensors", "--scheme", "channel", "--quiet")
    qc = json.loads((tmp_path / "q" / "config.json").read_text())["quantization_config"]
    assert qc["quant_method"] == "compressed-tensors" and qc["format"] == "float-quantized"
    w = qc["config_groups"]["group_0"]["weights"]
    assert w["strategy"] == "channel" and w["type"] == "float" and w["num_bits"] == 8
    assert qc["config_groups"]["group_0"]["input_activations"]["dynamic"] is True
    assert "lm_head" in qc["ignore"]
    tensors, _ = load(tmp_path / "q" / "model.safetensors")
    assert tensors["model.layers.0.mlp.up_proj.weight_scale"].dtype == ml_dtypes.bfloat16
    assert tensors["model.layers.0.mlp.up_proj.weight_scale"].shape == (320, 1)


def test_inspect_table_json_and_error(tmp_path):
    src = tmp_path / "model"
    generate(src)
    out = run("inspect", src, "--error").stdout
    assert "SQNR" in out and "model.layers.1.mlp.down_proj.weight" in out
    report = json.loads(run("inspect", src, "--error", "--json").stdout)
    assert report["format"] == "high precision"
    by_name = {t["name"]: t for t in report["tensors"]}
    t = by_name["model.layers.0.self_attn.q_proj.weight"]
    assert t["action"] == "quantize" and 20 < t["sqnr_db"] < 40 and t["scale_range"][0] > 0
    assert by_name["model.norm.weight"]["action"].startswith("keep")
    assert report["summary"]["would_quantize"] == 14
    assert report["summary"]["quantized_tensor_bytes"] < report["summary"]["tensor_bytes"]
    run("quantize", src, "-o", tmp_path / "q", "--scheme", "tensor", "--quiet")
    fp8 = json.loads(run("inspect", tmp_path / "q", "--json").stdout)
    assert fp8["format"] == "fp8" and fp8["summary"]["fp8_weights"] == 14
    by_name = {t["name"]: t for t in fp8["tensors"]}
    assert by_name["model.layers.0.self_attn.q_proj.weight"]["scheme"] == "tensor"
    assert by_name["model.layers.0.self_attn.q_proj.weight_scale_inv"]["scheme"].startswith("scale of")
