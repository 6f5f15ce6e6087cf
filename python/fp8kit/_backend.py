"""Backend selection: what is compiled and usable here, and a context manager that forces one.

fp8kit chooses a backend per call (CPU tensors: ``cpu``; CUDA tensors: ``cuda`` for quantization and the
best GEMM backend the device and shape allow). ``use_backend(name)`` forces one for the calls made inside
the ``with`` block (per thread and per asyncio task). A GEMM-only backend (``cublaslt``, ``cuda_sm90``,
``cuda_fp8_mma``, ``cuda_bf16_mma``) forces the GEMMs; quantization then takes its automatic choice. A forced
backend that cannot run a call raises ValueError saying why; nothing falls back silently.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Dict, Iterator, List

from ._native import _C

__all__ = ["backends", "use_backend", "current_backend"]

# name -> (device kind, operations, minimum compute capability for CUDA backends)
_BACKEND_TABLE = {
    "cpu_reference": ("cpu", "all", None),
    "cpu": ("cpu", "all", None),
    "cuda": ("cuda", "all", (8, 0)),
    "cublaslt": ("cuda", "gemm", (9, 0)),
    "cuda_fp8_mma": ("cuda", "gemm", (8, 9)),
    "cuda_bf16_mma": ("cuda", "gemm", (8, 0)),
    "cuda_sm90": ("cuda", "gemm", (9, 0)),
}
_ELEMENTWISE = ("auto", "cpu_reference", "cpu", "cuda")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("fp8kit_backend", default="auto")


def backends() -> Dict[str, dict]:
    """What each backend is and whether this build and machine can run it.

    ``{name: {"device": "cpu" | "cuda", "ops": "all" | "gemm", "compiled": bool, "devices": [ordinals],
    "available": bool}}``. ``devices`` lists the GPUs whose compute capability the backend needs (sm_90
    exactly for ``cuda_sm90``); a compiled, available backend may still refuse a given shape or layout,
    and says why when it does.
    """
    caps = _C.capabilities()
    out: Dict[str, dict] = {}
    for name in _C.BACKEND_NAMES:
        device, ops, need = _BACKEND_TABLE[name]
        if device == "cpu":
            compiled, devices = True, []
        else:
            compiled = caps["cuda_compiled"]
            devices = [
                g["ordinal"]
                for g in caps["gpus"]
                if tuple(g["capability"]) >= need and (name != "cuda_sm90" or g["capability"][0] == 9)
            ]
        out[name] = {
            "device": device,
            "ops": ops,
            "compiled": compiled,
            "devices": devices if compiled else [],
            "available": compiled and (device == "cpu" or bool(devices)),
        }
    return out


def current_backend() -> str:
    """The backend forced by the innermost ``use_backend`` block, or ``"auto"``."""
    return _current.get()


def elementwise_backend() -> str:
    """The backend quantize/dequantize calls take under the current selection."""
    name = _current.get()
    return name if name in _ELEMENTWISE else "auto"


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Forces ``name`` ("auto", "cpu_reference", "cpu", "cuda", "cublaslt", "cuda_fp8_mma",
    "cuda_bf16_mma", "cuda_sm90") for the fp8kit calls made inside the block."""
    if not isinstance(name, str) or (name != "auto" and name not in _C.BACKEND_NAMES):
        valid: List[str] = ["auto", *_C.BACKEND_NAMES]
        raise ValueError(f"use_backend: unknown backend {name!r}; expected one of {', '.join(valid)}")
    token = _current.set(name)
    try:
        yield name
    finally:
        _current.reset(token)
