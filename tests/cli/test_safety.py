"""Refusals and safety: OUT == IN in every disguise, malformed inputs (exit 1, one line naming the file
and tensor, no output left, input untouched), existing outputs, unwritable destinations, already
quantized or non-finite inputs, and an interrupted run leaving nothing that looks finished."""
import hashlib
import os
import signal
import struct
import subprocess
import time

import numpy as np
import pytest

from conftest import FP8KIT, run, save, weights


def digest(path):
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def raw_file(path, header, buffer):
    h = header.encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + buffer)


@pytest.fixture
def model_file(tmp_path, rng):
    p = tmp_path / "m.safetensors"
    save(p, {"l.weight": weights(rng, (64, 64))}, {"format": "pt"})
    return p


def test_output_equal_to_input_is_refused(tmp_path, model_file):
    before = digest(model_file)
    (tmp_path / "link.safetensors").symlink_to(model_file)
    os.link(model_file, tmp_path / "hard.safetensors")
    for out in [model_file, tmp_path / "link.safetensors", tmp_path / "hard.safetensors",
                tmp_path / "." / "m.safetensors"]:
        p = run("quantize", model_file, "-o", out, "--force", check=False)
        assert p.returncode == 1 and "the output is the input" in p.stderr, out
    assert digest(model_file) == before
    d = tmp_path / "dir"
    d.mkdir()
    os.rename(model_file, d / "model.safetensors")
    (tmp_path / "dirlink").symlink_to(d)
    for out in [d, tmp_path / "dirlink", d / "."]:
        p = run("quantize", d, "-o", out, "--force", check=False)
        assert p.returncode == 1 and "the output is the input" in p.stderr, out


MALFORMED = {
    "bad header length": lambda p: p.write_bytes(struct.pack("<Q", 1 << 40) + b"{}"),
    "header over 100 MB": lambda p: p.write_bytes(struct.pack("<Q", 100_000_001) + b"{" + b" " * 64),
    "invalid JSON": lambda p: raw_file(p, '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}', b"\0" * 4),
    "unknown dtype": lambda p: raw_file(p, '{"w": {"dtype": "F7", "shape": [1], "data_offsets": [0, 1]}}', b"\0"),
    "offsets out of range": lambda p: raw_file(p, '{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}', b"\0" * 8),
    "overlapping": lambda p: raw_file(p, '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
                                         ' "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8),
    "shape/size mismatch": lambda p: raw_file(p, '{"w": {"dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 8]}}', b"\0" * 8),
    "duplicate key": lambda p: raw_file(p, '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
                                           ' "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8),
    "empty file": lambda p: p.write_bytes(b""),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("verb", ["quantize", "dequantize", "inspect"])
def test_malformed_input_exit_1_one_line_no_output(tmp_path, case, verb):
    src = tmp_path / "bad.safetensors"
    MALFORMED[case](src)
    before = digest(src)
    out = tmp_path / "out.safetensors"
    args = [verb, src] + ([] if verb == "inspect" else ["-o", out])
    p = run(*args, check=False)
    assert p.returncode == 1, p.stderr
    assert p.stderr.count("\n") == 1 and str(src) in p.stderr, p.stderr
    if case not in ("bad header length", "header over 100 MB", "empty file", "invalid JSON", "duplicate key"):
        assert "tensor 'w'" in p.stderr, p.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == ["bad.safetensors"]
    assert digest(src) == before


def test_malformed_shard_in_a_directory_leaves_no_output(tmp_path):
    src = tmp_path / "model"
    run("generate", src, "--layers", "2", "--hidden", "64", "--intermediate", "128", "--vocab", "50", "--heads", "2",
        "--kv-heads", "1", "--shard-size", "60k", "--quiet")
    shards = sorted(src.glob("model-*.safetensors"))
    last = shards[-1]
    last.write_bytes(last.read_bytes()[:-3])  # truncated
    before = digest(src)
    p = run("quantize", src, "-o", tmp_path / "out", check=False)
    assert p.returncode == 1 and last.name in p.stderr
    assert not (tmp_path / "out").exists()
    assert digest(src) == before


def test_existing_output_needs_force(tmp_path, model_file):
    out = tmp_path / "out.safetensors"
    out.write_text("precious")
    p = run("quantize", model_file, "-o", out, check=False)
    assert p.returncode == 1 and "--force" in p.stderr and out.read_text() == "precious"
    run("quantize", model_file, "-o", out, "--force", "--quiet")
    assert out.read_bytes()[8:9] == b"{"


def test_unwritable_destination(tmp_path, model_file):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = run("quantize", model_file, "-o", blocker / "out.safetensors", check=False)
    assert p.returncode == 1 and "does not exist" in p.stderr
    d = tmp_path / "d"
    d.mkdir()
    os.rename(model_file, d / "model.safetensors")
    p = run("quantize", d, "-o", blocker / "sub", check=False)
    assert p.returncode == 1 and "cannot create the output directory" in p.stderr


def test_already_quantized_and_nonfinite_inputs(tmp_path, model_file, rng):
    run("quantize", model_file, "-o", tmp_path / "q.safetensors", "--quiet")
    p = run("quantize", tmp_path / "q.safetensors", "-o", tmp_path / "qq.safetensors", check=False)
    assert p.returncode == 1 and "already FP8" in p.stderr
    x = weights(rng, (64, 64), np.float32)
    x[3, 5] = np.nan
    save(tmp_path / "nan.safetensors", {"l.weight": x})
    p = run("quantize", tmp_path / "nan.safetensors", "-o", tmp_path / "n.safetensors", check=False)
    assert p.returncode == 1 and "NaN" in p.stderr and "l.weight" in p.stderr
    assert not (tmp_path / "n.safetensors").exists()


def test_interrupted_run_leaves_nothing(tmp_path):
    src = tmp_path / "model"
    run("generate", src, "--layers", "8", "--hidden", "1024", "--intermediate", "2816", "--vocab", "1000",
        "--heads", "8", "--kv-heads", "2", "--shard-size", "10M", "--quiet")
    out = tmp_path / "out"
    proc = subprocess.Popen([FP8KIT, "quantize", str(src), "-o", str(out), "--quiet"])
    deadline = time.time() + 20
    while time.time() < deadline and not (out.exists() and any(out.iterdir())):
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=30)
    if rc == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert rc == 128 + signal.SIGINT
    assert not out.exists() or not any(out.iterdir()), sorted(os.listdir(out))
