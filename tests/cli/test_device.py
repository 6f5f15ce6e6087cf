"""--device cuda copies each tensor through device buffers and runs the CUDA kernels: the files must be
byte-identical to the CPU's (the numerics contract is bit-exact). Skipped without a usable GPU."""
import re

import pytest

from conftest import run


def gpu_count():
    m = re.search(r"^gpus: (\d+)", run("doctor").stdout, re.M)
    return int(m.group(1)) if m else 0


needs_gpu = pytest.mark.skipif(gpu_count() == 0, reason="needs a CUDA GPU (fp8kit doctor reports none)")


@needs_gpu
@pytest.mark.parametrize("flags", [[], ["--scale-format", "ue8m0"], ["--format", "fbgemm"],
                                   ["--format", "compressed-tensors", "--scheme", "tensor"]])
def test_cuda_output_is_byte_identical_to_cpu(tmp_path, flags):
    src = tmp_path / "model"
    run("generate", src, "--layers", "2", "--hidden", "576", "--intermediate", "1536", "--vocab", "1000", "--quiet")
    run("quantize", src, "-o", tmp_path / "cpu", "--device", "cpu", "--quiet", *flags)
    run("quantize", src, "-o", tmp_path / "gpu", "--device", "cuda", "--quiet", *flags)
    assert (tmp_path / "cpu" / "model.safetensors").read_bytes() == (tmp_path / "gpu" / "model.safetensors").read_bytes()
    for d in ("cpu", "gpu"):
        run("dequantize", tmp_path / "cpu", "-o", tmp_path / f"dq-{d}", "--device", "cuda" if d == "gpu" else "cpu", "--quiet")
    assert (tmp_path / "dq-cpu" / "model.safetensors").read_bytes() == (tmp_path / "dq-gpu" / "model.safetensors").read_bytes()
    report = run("inspect", src, "--error", "--device", "cuda", "--json", *flags).stdout
    assert report == run("inspect", src, "--error", "--device", "cpu", "--json", *flags).stdout


def test_device_cuda_without_gpu_is_a_clear_error(tmp_path):
    if gpu_count() > 0:
        pytest.skip("a GPU is present")
    src = tmp_path / "model"
    run("generate", src, "--layers", "1", "--hidden", "64", "--intermediate", "128", "--vocab", "50", "--heads", "2",
        "--kv-heads", "1", "--quiet")
    p = run("quantize", src, "-o", tmp_path / "q", "--device", "cuda", check=False)
    assert p.returncode == 1 and "no usable CUDA GPU" in p.stderr
    assert not (tmp_path / "q").exists()
