"""fp8kit on numpy arrays (ml_dtypes for float8 / bfloat16), without torch.

numpy cannot export ml_dtypes' float8 and bfloat16 through DLPack or the buffer protocol, so these
functions hand such arrays to the compiled module as ``(array.view(uint8/uint16), dtype_name)`` pairs
and allocate their outputs with ml_dtypes types. Shapes follow fp8kit/quantize.h and fp8kit/gemm.h:

====================  =========================================================
granularity           scale shape for x of shape [..., C] (R = product of ...)
====================  =========================================================
``"tensor"``          ``()``
``"row"``             ``x.shape[:-1]``
``"column"``          ``(C,)``
``"group"``           ``x.shape[:-1] + (ceil(C / block_size),)``
``"block"``           ``(ceil(R / bs[0]), ceil(C / bs[1]))`` (x 2-D)
====================  =========================================================
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import ml_dtypes
import numpy as np

from ._backend import current_backend, elementwise_backend
from ._native import _C

__all__ = ["quantize", "dequantize", "gemm", "silu_mul_quantize", "as_native"]

_BY_NAME = {
    "f32": np.dtype(np.float32),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(ml_dtypes.bfloat16),
    "e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn),
    "e5m2": np.dtype(ml_dtypes.float8_e5m2),
    "ue8m0": np.dtype(ml_dtypes.float8_e8m0fnu),
}
_NAME_OF = {dtype: name for name, dtype in _BY_NAME.items()}
_ALIASES = {"float32": "f32", "fp32": "f32", "float16": "f16", "fp16": "f16", "bfloat16": "bf16",
            "float8_e4m3fn": "e4m3fn", "e4m3": "e4m3fn", "float8_e5m2": "e5m2", "float8_e8m0fnu": "ue8m0"}
_RAW = {1: np.uint8, 2: np.uint16}

BlockSize = Union[int, Sequence[int]]


def _dtype_name(dtype, what: str) -> str:
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
        if name in _BY_NAME:
            return name
    else:
        name = _NAME_OF.get(np.dtype(dtype))
        if name is not None:
            return name
    raise TypeError(f"{what}: unsupported dtype {dtype!r}; expected one of {', '.join(_BY_NAME)}")


def as_native(array: np.ndarray):
    """The argument the compiled module takes for ``array``: the array itself for float32/float16,
    else an ``(integer view, dtype name)`` pair."""
    name = _NAME_OF.get(array.dtype)
    if name is None:
        raise TypeError(f"array of dtype {array.dtype} is not an fp8kit type ({', '.join(_BY_NAME)})")
    if name in ("f32", "f16"):
        return array
    return (array.view(_RAW[array.dtype.itemsize]), name)


def _pair(block_size: BlockSize, what: str = "block_size") -> Tuple[int, int]:
    if isinstance(block_size, (int, np.integer)):
        pair = (int(block_size), int(block_size))
    else:
        pair = tuple(int(v) for v in block_size)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{what}: expected a positive int or (rows, cols), got {block_size!r}")
    return pair  # type: ignore[return-value]


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _scale_array(shape, dtype: np.dtype, column_major: bool) -> np.ndarray:
    """Scales of `shape` (leading dims + [G]); column_major: M-major with the M extent padded to 4."""
    if not column_major:
        return np.empty(shape, dtype=dtype)
    groups = shape[-1]
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    padded = _cdiv(rows, 4) * 4
    storage = np.empty((groups, padded), dtype=dtype)
    return storage[:, :rows].T.reshape(shape)


def quantize(
    x,
    granularity: str = "group",
    block_size: BlockSize = 128,
    *,
    fp8_dtype="e4m3fn",
    scale_format: str = "fp32",
    scale_dtype="f32",
    amax_upper_bound: Optional[float] = None,
    column_major_scales: bool = False,
) -> Tuple[np.ndarray, np.ndarray]:
    """(q, s) with q = encode(x / s); see the module docstring for the scale shapes.

    scale_format "ue8m0" rounds scales up to powers of two; scale_dtype "ue8m0" stores them as
    ml_dtypes.float8_e8m0fnu bytes (requires scale_format="ue8m0"). column_major_scales (group only)
    returns an M-major view whose leading dimension is padded to a multiple of 4.
    """
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"x: expected at least one dimension, got shape {x.shape}")
    fp8_name = _dtype_name(fp8_dtype, "fp8_dtype")
    if fp8_name not in ("e4m3fn", "e5m2"):
        raise ValueError(f"fp8_dtype: expected e4m3fn or e5m2, got {fp8_dtype!r}")
    if scale_format not in ("fp32", "ue8m0"):
        raise ValueError(f"scale_format: expected 'fp32' or 'ue8m0', got {scale_format!r}")
    s_dtype = _BY_NAME[_dtype_name(scale_dtype, "scale_dtype")]
    rows_per, cols_per = _pair(block_size)
    lead, cols = x.shape[:-1], x.shape[-1]
    if granularity == "tensor":
        s_shape: tuple = ()
    elif granularity == "row":
        s_shape = lead
    elif granularity == "column":
        s_shape = (cols,)
    elif granularity == "group":
        s_shape = (*lead, _cdiv(cols, cols_per))
    elif granularity == "block":
        if x.ndim != 2:
            raise ValueError(f"x: block scales need a 2-D matrix, got shape {x.shape}")
        s_shape = (_cdiv(x.shape[0], rows_per), _cdiv(cols, cols_per))
    else:
        raise ValueError(f"granularity: expected tensor, row, column, group or block, got {granularity!r}")
    if column_major_scales and granularity != "group":
        raise ValueError(f"column_major_scales: only group scales have an M-major layout, got {granularity!r}")
    q = np.empty(x.shape, dtype=_BY_NAME[fp8_name])
    s = _scale_array(s_shape, s_dtype, column_major_scales)
    if x.size:
        _C.quantize(as_native(x), as_native(q), as_native(s), granularity, rows_per, cols_per,
                    scale_format == "ue8m0", float(amax_upper_bound or 0.0), elementwise_backend(), 0)
    elif granularity == "tensor":
        s[()] = 1.0
    return q, s


def dequantize(q, s, granularity: str = "group", block_size: BlockSize = 128, *, dtype="f32") -> np.ndarray:
    """y = round(decode(q) * s) in `dtype` (f32, f16 or bf16)."""
    q, s = np.asarray(q), np.asarray(s)
    rows_per, cols_per = _pair(block_size)
    y = np.empty(q.shape, dtype=_BY_NAME[_dtype_name(dtype, "dtype")])
    if q.size:
        _C.dequantize(as_native(q), as_native(s), as_native(y), granularity, rows_per, cols_per,
                      elementwise_backend(), 0)
    return y


def gemm(
    a,
    b,
    a_scales,
    b_scales,
    *,
    scaling: str = "block",
    block_size: BlockSize = (128, 128),
    bias=None,
    out_dtype="bf16",
) -> np.ndarray:
    """d = (a * a_scales)(b * b_scales)^T (+ bias) of shape a.shape[:-1] + (N,) (fp8kit/gemm.h)."""
    a, b = np.asarray(a), np.asarray(b)
    block_n, block_k = _pair(block_size)
    if b.ndim != 2:
        raise ValueError(f"b: expected a 2-D [N, K] matrix, got shape {b.shape}")
    d = np.empty((*a.shape[:-1], b.shape[0]), dtype=_BY_NAME[_dtype_name(out_dtype, "out_dtype")])
    _C.gemm(as_native(a), as_native(b), as_native(np.asarray(a_scales)), as_native(np.asarray(b_scales)),
            as_native(d), None if bias is None else as_native(np.asarray(bias)), scaling, block_n, block_k,
            current_backend(), 0)
    return d


def silu_mul_quantize(
    gate_up, block_size: int = 128, *, scale_format: str = "fp32", column_major_scales: bool = False
) -> Tuple[np.ndarray, np.ndarray]:
    """h = bf16(silu(gate) * up) for gate_up [..., 2I] (bf16), quantized per 1 x block_size group."""
    gate_up = np.asarray(gate_up)
    if gate_up.ndim < 1 or gate_up.shape[-1] % 2:
        raise ValueError(f"gate_up: expected [..., 2*I], got shape {gate_up.shape}")
    inter = gate_up.shape[-1] // 2
    q = np.empty((*gate_up.shape[:-1], inter), dtype=_BY_NAME["e4m3fn"])
    s = _scale_array((*gate_up.shape[:-1], _cdiv(inter, block_size)), _BY_NAME["f32"], column_major_scales)
    if q.size:
        _C.silu_mul_quantize(as_native(gate_up), as_native(q), as_native(s), block_size,
                             scale_format == "ue8m0", 0.0, elementwise_backend(), 0)
    return q, s
