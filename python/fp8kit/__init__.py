"""fp8kit: FP8 (e4m3 / e5m2) quantization kernels and FP8 GEMMs in C++/CUDA, for PyTorch and any DLPack
framework.

``import fp8kit`` needs neither torch nor a GPU: the compiled core (``fp8kit._C``) takes DLPack tensors
and ``fp8kit.numpy`` works on numpy arrays. The torch API (``act_quant``, ``weight_dequant``,
``w8a8_block_fp8_matmul``, ``FP8BlockQuantLinear``, ``fp8_linear``, ``FP8Linear``...) is imported on
first use, and registers fp8kit's ops with ``torch.library`` (``torch.ops.fp8kit.*``).
"""

from __future__ import annotations

import importlib
from typing import Any, Dict

from ._backend import backends, current_backend, use_backend
from ._native import _C

__version__: str = _C.__version__
Error = _C.Error  # what the library raises for refused arguments: a ValueError


def capabilities() -> Dict[str, Any]:
    """version, cuda_compiled, cuda_runtime, cuda_driver, cuda_status, gpus (ordinal, name, capability,
    multiprocessors, memory_bytes), cpu_threads, and the backends (see backends())."""
    caps = dict(_C.capabilities())
    caps["backends"] = backends()
    return caps


# The torch layer, imported on first access (PEP 562): name -> defining module.
_TORCH_API = {
    "act_quant": "functional",
    "silu_mul_act_quant": "functional",
    "quantize_fp8_per_row": "functional",
    "quantize_fp8_per_tensor": "functional",
    "weight_quant": "functional",
    "weight_dequant": "functional",
    "weight_dequant_block": "functional",
    "w8a8_block_fp8_matmul": "functional",
    "fp8_rowwise_matmul": "functional",
    "scales_to_float32": "functional",
    "FP8BlockQuantLinear": "linear",
    "FP8RowQuantLinear": "linear",
    "fp8_linear": "linear",
    "FP8Linear": "nn",
    "shard_fp8_weight": "sharding",
    "split_fp8_weight": "sharding",
    "shard_sizes": "sharding",
}
_SUBMODULES = ("functional", "linear", "nn", "reference", "sharding", "numpy", "integrations")

__all__ = ["__version__", "Error", "backends", "capabilities", "current_backend", "use_backend", *_TORCH_API]


def __getattr__(name: str) -> Any:
    module = _TORCH_API.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'fp8kit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_TORCH_API) | set(_SUBMODULES))
