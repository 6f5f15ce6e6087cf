"""Argument checks of the torch layer: TypeError / ValueError naming the argument and its value."""

from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch

HIGH_PRECISION = (torch.float32, torch.float16, torch.bfloat16)
FP8 = (torch.float8_e4m3fn, torch.float8_e5m2)
F8_E8M0 = getattr(torch, "float8_e8m0fnu", None)
UE8M0 = (torch.uint8,) if F8_E8M0 is None else (torch.uint8, F8_E8M0)

BlockSize = Union[int, Sequence[int]]


def _names(dtypes) -> str:
    return ", ".join(str(d).replace("torch.", "") for d in dtypes)


def tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    return x


def dtype_in(x: torch.Tensor, name: str, allowed) -> None:
    if x.dtype not in allowed:
        raise TypeError(f"{name}: dtype {str(x.dtype).replace('torch.', '')} is not supported; expected {_names(allowed)}")


def out_dtype(dtype, name: str) -> torch.dtype:
    if dtype not in HIGH_PRECISION:
        raise TypeError(f"{name}: expected one of {_names(HIGH_PRECISION)}, got {dtype}")
    return dtype


def fp8_dtype(dtype, name: str) -> torch.dtype:
    if dtype not in FP8:
        raise TypeError(f"{name}: expected one of {_names(FP8)}, got {dtype}")
    return dtype


def min_dim(x: torch.Tensor, name: str, n: int) -> None:
    if x.dim() < n:
        raise ValueError(f"{name}: expected at least {n} dimension(s), got shape {list(x.shape)}")


def exact_dim(x: torch.Tensor, name: str, n: int) -> None:
    if x.dim() != n:
        raise ValueError(f"{name}: expected {n} dimensions, got shape {list(x.shape)}")


def positive_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name}: expected a positive int, got {v!r}")
    if v < 1:
        raise ValueError(f"{name}: expected a positive int, got {v}")
    return v


def block_pair(block_size: BlockSize, name: str = "block_size") -> Tuple[int, int]:
    """An int (square blocks) or a (rows, cols) pair of positive ints."""
    if type(block_size) is tuple and len(block_size) == 2:  # the common, already-normalised case
        rows, cols = block_size
        if type(rows) is int and type(cols) is int and rows > 0 and cols > 0:
            return block_size
    if isinstance(block_size, int) and not isinstance(block_size, bool):
        return positive_int(block_size, name), block_size
    if isinstance(block_size, (list, tuple, torch.Size)) and len(block_size) == 2:
        return positive_int(block_size[0], name), positive_int(block_size[1], name)
    raise TypeError(f"{name}: expected an int or a (rows, cols) pair, got {block_size!r}")


def scale_format(fmt: str) -> bool:
    """True for UE8M0 (power-of-two) scales."""
    if fmt not in ("fp32", "ue8m0"):
        raise ValueError(f"scale_format: expected 'fp32' or 'ue8m0', got {fmt!r}")
    return fmt == "ue8m0"


def scale_dtype(dtype, pow2: bool) -> torch.dtype:
    """Output scale container: float32, or float8_e8m0fnu bytes (needs UE8M0 scales)."""
    if dtype is None or dtype == torch.float32:
        return torch.float32
    if F8_E8M0 is not None and dtype == F8_E8M0:
        if not pow2:
            raise ValueError("scale_dtype: float8_e8m0fnu holds only powers of two; pass scale_format='ue8m0'")
        return dtype
    raise TypeError(f"scale_dtype: expected torch.float32 or torch.float8_e8m0fnu, got {dtype}")


def same_device(*named: Tuple[str, torch.Tensor]) -> None:
    first_name, first = named[0]
    for name, t in named[1:]:
        if t.device != first.device:
            raise ValueError(f"{name} is on {t.device} but {first_name} is on {first.device}; all tensors must "
                             "be on one device")


def act_quant_out(out, x: torch.Tensor, scale_shape, fp8: torch.dtype, scale: torch.dtype,
                  column_major_scales: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """act_quant's out=(q, s), checked against what the call would have returned."""
    if not isinstance(out, (tuple, list)) or len(out) != 2 or not all(isinstance(t, torch.Tensor) for t in out):
        raise TypeError(f"out must be a (q, s) pair of tensors, got {type(out).__name__}"
                        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    if column_major_scales:
        raise ValueError("out: column_major_scales does not apply when out is given (the strides of out[1] "
                         "decide the scales' layout); leave it False")
    q, s = out
    # One combined test first: this runs on every decode step (torch.Size compares equal to a tuple).
    if (q.dtype != fp8 or s.dtype != scale or q.shape != x.shape or s.shape != scale_shape or q.requires_grad
            or s.requires_grad or q.device != x.device or s.device != x.device):
        for name, t, dtype, shape in (("out[0]", q, fp8, tuple(x.shape)), ("out[1]", s, scale, tuple(scale_shape))):
            if t.dtype != dtype:
                raise TypeError(f"{name} must be {dtype} for this call, got {t.dtype}")
            if tuple(t.shape) != shape:
                raise ValueError(f"{name} must have shape {list(shape)}, got {list(t.shape)}")
            if t.requires_grad:
                raise ValueError(f"{name} requires grad: out= tensors are written in place and are not "
                                 "differentiable")
        same_device(("x", x), ("out[0]", q), ("out[1]", s))
    return q, s


def upper_bound(scale_ub, name: str = "scale_ub") -> float:
    """FBGEMM's activation bound as a float (0 = none). A tensor is read once (a host sync)."""
    if scale_ub is None:
        return 0.0
    if isinstance(scale_ub, torch.Tensor):
        if scale_ub.numel() != 1:
            raise ValueError(f"{name}: expected one value, got shape {list(scale_ub.shape)}")
        scale_ub = float(scale_ub.reshape(()).item())
    if isinstance(scale_ub, bool) or not isinstance(scale_ub, (int, float)):
        raise TypeError(f"{name}: expected a float, a one-element tensor or None, got {type(scale_ub).__name__}")
    value = float(scale_ub)
    if not value >= 0.0 or value == float("inf"):
        raise ValueError(f"{name}: expected a finite value >= 0 (0 or None = no bound), got {value}")
    return value
