"""The quantization_config we write is accepted by transformers' own config classes (imported without
torch: only configuration code runs). Skipped, saying why, where transformers is not installed."""
import json

import pytest

from conftest import run

transformers = pytest.importorskip("transformers", reason="transformers is not installed (tests/cli/run.sh installs it)")
from transformers.quantizers.auto import AutoQuantizationConfig  # noqa: E402
from transformers.utils.quantization_config import FbgemmFp8Config, FineGrainedFP8Config  # noqa: E402


def quantized_config(tmp_path, *flags):
    src = tmp_path / "model"
    run("generate", src, "--layers", "1", "--hidden", "128", "--intermediate", "256", "--vocab", "64", "--heads", "2",
        "--kv-heads", "1", "--quiet")
    run("quantize", src, "-o", tmp_path / "q", "--quiet", *flags)
    return tmp_path / "q", json.loads((tmp_path / "q" / "config.json").read_text())["quantization_config"]


@pytest.mark.parametrize("flags", [[], ["--scale-format", "ue8m0"], ["--scheme", "tensor"], ["--block", "64x128"]])
def test_fine_grained_fp8_config_accepts_ours(tmp_path, flags):
    path, qc = quantized_config(tmp_path, *flags)
    config = AutoQuantizationConfig.from_dict(qc)
    assert isinstance(config, FineGrainedFP8Config)
    assert config.activation_scheme == "dynamic"
    assert config.weight_block_size == qc["weight_block_size"]
    if "ue8m0" in flags:
        assert config.scale_fmt == "ue8m0"
    assert "lm_head" in config.modules_to_not_convert
    loaded = transformers.AutoConfig.from_pretrained(path)
    assert loaded.quantization_config["quant_method"] == "fp8"


def test_fbgemm_config_accepts_ours(tmp_path):
    _, qc = quantized_config(tmp_path, "--format", "fbgemm")
    config = AutoQuantizationConfig.from_dict(qc)
    assert isinstance(config, FbgemmFp8Config)
    assert config.activation_scale_ub == 1200.0
    assert "lm_head" in config.modules_to_not_convert


def test_compressed_tensors_config_accepts_ours(tmp_path):
    pytest.importorskip("compressed_tensors", reason="compressed-tensors (needs torch) is not installed")
    _, qc = quantized_config(tmp_path, "--format", "compressed-tensors")
    config = AutoQuantizationConfig.from_dict(qc)
    assert config.quantization_config.format == "float-quantized"
