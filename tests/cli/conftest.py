"""Shared fixtures for the fp8kit command-line tests.

Checkpoints are written and read back with the independent Python `safetensors` package (its Rust
reader validates every file we write); ml_dtypes gives numpy the bf16 / FP8 element types.
"""
import os
import pathlib
import subprocess

import ml_dtypes
import numpy as np
import pytest
import safetensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
FP8KIT = os.environ.get("FP8KIT_BIN", str(ROOT / "build" / "tools" / "fp8kit" / "fp8kit"))

NP_DTYPES = {
    "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16, "F8_E4M3": ml_dtypes.float8_e4m3fn,
    "F8_E5M2": ml_dtypes.float8_e5m2, "F8_E8M0": ml_dtypes.float8_e8m0fnu, "I64": np.int64, "I32": np.int32,
    "U8": np.uint8, "I8": np.int8,
}
ST_NAMES = {np.dtype(v): k for k, v in NP_DTYPES.items()}


def save(path, tensors, metadata=None):
    """Writes {name: ndarray} with the safetensors package's own serializer."""
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}  # alive during the call
    if hasattr(safetensors, "TensorSpec"):  # safetensors >= 0.8
        data = {k: safetensors.TensorSpec(dtype=v.dtype.name, shape=list(v.shape), data_ptr=v.ctypes.data,
                                          data_len=v.nbytes) for k, v in arrays.items()}
    else:
        data = {k: {"dtype": ST_NAMES[v.dtype], "shape": list(v.shape), "data": v.tobytes()} for k, v in arrays.items()}
    safetensors.serialize_file(data, str(path), metadata=metadata)


def load(path):
    """Reads a file with the safetensors package's Rust reader: ({name: ndarray}, metadata)."""
    raw = pathlib.Path(path).read_bytes()
    out = {name: np.frombuffer(v["data"], dtype=NP_DTYPES[v["dtype"]]).reshape(v["shape"])
           for name, v in safetensors.deserialize(raw)}
    with safetensors.safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
    return out, meta


def run(*args, check=True):
    """Runs fp8kit; returns the CompletedProcess."""
    p = subprocess.run([FP8KIT, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"fp8kit {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture
def rng(request):
    seed = int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed}")  # shown on failure
    return np.random.default_rng(seed)


def weights(rng, shape, dtype=ml_dtypes.bfloat16, outliers=True):
    """Weights like trained ones: normal(0, 0.02), a zero row, rare large outliers."""
    x = rng.normal(0, 0.02, size=shape).astype(np.float32)
    if outliers and x.size > 100:
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size, size=max(1, flat.size // 997))] *= 60.0
        if len(shape) == 2 and shape[0] > 3:
            x[2, :] = 0.0
    return x.astype(dtype)
