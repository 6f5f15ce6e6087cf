"""FP8 linear layers as autograd functions, and ``fp8_linear`` which routes by the weight's scales.

Forward: the activations X are quantized on the fly (per 1 x bk group for block-scaled weights, per row
for row-scaled ones) and multiplied with the FP8 weight by fp8kit's GEMM, bias added once inside the GEMM.
Backward (LoRA on frozen FP8 weights): ``grad_X = dY @ dequant(W)`` in dY's dtype, and the bias
gradient when the bias requires one; the FP8 weight and its scale get no gradient.
"""

from __future__ import annotations

from typing import Optional, Union

import torch

from . import _checks as _c
from ._ops import ops
from .functional import _SCALE_DTYPES, BlockSize, scales_to_float32

__all__ = ["FP8BlockQuantLinear", "FP8RowQuantLinear", "fp8_linear"]


def _cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


def _check_inputs(X, weight, weight_scale, bias) -> None:
    """Raises TypeError / ValueError naming the first bad argument. The fast test below covers exactly what
    _explain_inputs checks, so that well-formed calls (the hot path) cost one expression."""
    T = torch.Tensor
    if (isinstance(X, T) and isinstance(weight, T) and isinstance(weight_scale, T)
            and X.dtype in _c.HIGH_PRECISION and weight.dtype in _c.FP8 and weight_scale.dtype in _SCALE_DTYPES
            and weight.dim() == 2 and X.dim() >= 1 and X.shape[-1] == weight.shape[1]
            and X.device == weight.device and X.device == weight_scale.device
            and (bias is None or (isinstance(bias, T) and bias.dtype in _c.HIGH_PRECISION and bias.dim() == 1
                                  and bias.shape[0] == weight.shape[0] and bias.device == X.device))):
        return
    _explain_inputs(X, weight, weight_scale, bias)


def _explain_inputs(X, weight, weight_scale, bias) -> None:
    X, weight, weight_scale = _c.tensor(X, "X"), _c.tensor(weight, "weight"), _c.tensor(weight_scale, "weight_scale")
    _c.dtype_in(X, "X", _c.HIGH_PRECISION)
    _c.dtype_in(weight, "weight", _c.FP8)
    _c.dtype_in(weight_scale, "weight_scale", _SCALE_DTYPES)
    _c.exact_dim(weight, "weight", 2)
    _c.min_dim(X, "X", 1)
    if X.shape[-1] != weight.shape[1]:
        raise ValueError(f"X and weight: X is [..., {X.shape[-1]}] but weight is [N, K] = {list(weight.shape)}; "
                         "the last dimension of X must equal K")
    named = [("X", X), ("weight", weight), ("weight_scale", weight_scale)]
    if bias is not None:
        bias = _c.tensor(bias, "bias")
        _c.dtype_in(bias, "bias", _c.HIGH_PRECISION)
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(f"bias: expected shape [{weight.shape[0]}], got {list(bias.shape)}")
        named.append(("bias", bias))
    _c.same_device(*named)


def _block_grid_scales(weight: torch.Tensor, weight_scale: torch.Tensor, bn: int, bk: int) -> torch.Tensor:
    """The float32 block grid of weight: the grid itself, or a one-element (per-tensor) scale broadcast."""
    grid = (_cdiv(weight.shape[0], bn), _cdiv(weight.shape[1], bk))
    s = scales_to_float32(weight_scale)
    if s.numel() == 1:
        return s.reshape(1, 1).expand(grid)
    if tuple(s.shape) != grid:
        raise ValueError(f"weight_scale: the block grid of weight {list(weight.shape)} with block_size ({bn}, {bk}) "
                         f"is {list(grid)}, got shape {list(weight_scale.shape)} (a transposed weight must be "
                         "transposed back: fp8kit never guesses a transpose from shapes)")
    return s


def _row_scales(weight: torch.Tensor, weight_scale: torch.Tensor) -> torch.Tensor:
    n = weight.shape[0]
    if weight_scale.numel() not in (n, 1) or weight_scale.dim() > 2:
        raise ValueError(f"weight_scale: expected [{n}] or [{n}, 1] row scales (or one per-tensor scale) for "
                         f"weight {list(weight.shape)}, got shape {list(weight_scale.shape)}")
    return scales_to_float32(weight_scale)


def _needs_grad(X: torch.Tensor, weight_scale: torch.Tensor, bias: Optional[torch.Tensor]) -> bool:
    """True when autograd must record the call (any input requiring grad, e.g. transformers' float32
    weight_scale_inv parameters, which get no gradient but must not reach an op without autograd)."""
    return torch.is_grad_enabled() and (X.requires_grad or weight_scale.requires_grad
                                        or (bias is not None and bias.requires_grad))


def _block_path(X, weight, weight_scale, bias, bn: int, bk: int, scale_ub, grid_checked: bool = False):
    """Checked inputs, block (or per-tensor) scales: the autograd function when a gradient is needed,
    else the fused op alone (inference: no autograd machinery)."""
    if _needs_grad(X, weight_scale, bias):
        return FP8BlockQuantLinear.apply(X, weight, weight_scale, bias, (bn, bk), scale_ub)
    if grid_checked and weight_scale.dtype == torch.float32 and weight_scale.numel() != 1:
        scale = weight_scale
    else:
        scale = _block_grid_scales(weight, weight_scale, bn, bk)
    return ops.linear_block(X, weight, scale, bias, bn, bk, 0.0 if scale_ub is None else _c.upper_bound(scale_ub))


def _row_path(X, weight, weight_scale, bias, scale_ub) -> torch.Tensor:
    if _needs_grad(X, weight_scale, bias):
        return FP8RowQuantLinear.apply(X, weight, weight_scale, bias, scale_ub)
    return ops.linear_row(X, weight, _row_scales(weight, weight_scale), bias,
                          0.0 if scale_ub is None else _c.upper_bound(scale_ub))


def block_linear(X, weight, weight_scale, bias, block_size, scale_ub) -> torch.Tensor:
    """FP8BlockQuantLinear, without the autograd machinery when no gradient is needed (inference)."""
    _check_inputs(X, weight, weight_scale, bias)
    bn, bk = _c.block_pair(block_size)
    return _block_path(X, weight, weight_scale, bias, bn, bk, scale_ub)


def row_linear(X, weight, weight_scale, bias, scale_ub) -> torch.Tensor:
    """FP8RowQuantLinear, without the autograd machinery when no gradient is needed (inference)."""
    _check_inputs(X, weight, weight_scale, bias)
    return _row_path(X, weight, weight_scale, bias, scale_ub)


def _bias_grad(dY: torch.Tensor, bias_dtype: torch.dtype) -> torch.Tensor:
    return dY.reshape(-1, dY.shape[-1]).sum(0).to(bias_dtype)


class FP8BlockQuantLinear(torch.autograd.Function):
    """``Y = X W^T (+ bias)`` for an FP8 weight W ``[N, K]`` with block scales ``[ceil(N/bn), ceil(K/bk)]``
    (or one per-tensor scale): X is quantized per 1 x bk group and the block-scaled GEMM runs in fp32,
    giving Y in X's dtype. K need not be a multiple of bk.

    ``FP8BlockQuantLinear.apply(X, weight, weight_scale, bias=None, block_size=None, scale_ub=None)``;
    ``block_size`` None reads ``weight.block_size`` / ``weight_scale.block_size`` (the seed's attributes),
    else (128, 128). Backward: ``grad_X = dY @ dequant(W)`` in dY's dtype; no gradient for W or its scale.
    """

    @staticmethod
    def forward(ctx, X, weight, weight_scale, bias=None, block_size=None, scale_ub=None):
        _check_inputs(X, weight, weight_scale, bias)
        if block_size is None:
            block_size = getattr(weight, "block_size", None) or getattr(weight_scale, "block_size", None) or (128, 128)
        bn, bk = _c.block_pair(block_size)
        scale = _block_grid_scales(weight, weight_scale, bn, bk)
        out = ops.linear_block(X, weight, scale, bias, bn, bk, _c.upper_bound(scale_ub))
        ctx.save_for_backward(weight, scale)
        ctx.block = (bn, bk)
        ctx.bias_dtype = None if bias is None else bias.dtype
        return out

    @staticmethod
    def backward(ctx, dY):
        weight, scale = ctx.saved_tensors
        bn, bk = ctx.block
        grad_x = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = dY @ ops.dequantize(weight, scale, "block", bn, bk, dY.dtype)
        if ctx.bias_dtype is not None and ctx.needs_input_grad[3]:
            grad_bias = _bias_grad(dY, ctx.bias_dtype)
        return grad_x, None, None, grad_bias, None, None


class FP8RowQuantLinear(torch.autograd.Function):
    """``Y = X W^T (+ bias)`` for an FP8 weight with one scale per output channel (``[N]`` / ``[N, 1]``, or
    one per-tensor scale), FBGEMM's row-wise recipe: X is quantized per row (token), with its amax bounded
    by ``scale_ub`` when given. ``FP8RowQuantLinear.apply(X, weight, weight_scale, bias=None, scale_ub=None)``.
    Backward as FP8BlockQuantLinear."""

    @staticmethod
    def forward(ctx, X, weight, weight_scale, bias=None, scale_ub=None):
        _check_inputs(X, weight, weight_scale, bias)
        scale = _row_scales(weight, weight_scale)
        out = ops.linear_row(X, weight, scale, bias, _c.upper_bound(scale_ub))
        ctx.save_for_backward(weight, scale)
        ctx.bias_dtype = None if bias is None else bias.dtype
        return out

    @staticmethod
    def backward(ctx, dY):
        weight, scale = ctx.saved_tensors
        grad_x = grad_bias = None
        if ctx.needs_input_grad[0]:
            granularity = "tensor" if scale.numel() == 1 and weight.shape[0] != 1 else "row"
            grad_x = dY @ ops.dequantize(weight, scale, granularity, 0, 0, dY.dtype)
        if ctx.bias_dtype is not None and ctx.needs_input_grad[3]:
            grad_bias = _bias_grad(dY, ctx.bias_dtype)
        return grad_x, None, None, grad_bias, None


def fp8_linear(
    X: torch.Tensor,
    weight: torch.Tensor,
    weight_scale: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    *,
    block_size: Optional[BlockSize] = None,
    scale_ub: Optional[Union[float, torch.Tensor]] = None,
) -> torch.Tensor:
    """``X W^T + bias`` for an FP8 weight ``[N, K]``, routed by its scale's shape against the weight:

    * one element: per-tensor, run as a block GEMM with the scale broadcast over the grid;
    * the block grid ``[ceil(N / bn), ceil(K / bk)]`` (``block_size`` (bn, bk), default (128, 128)): block
      path (FP8BlockQuantLinear). A grid with a single column (K <= bk) is a block grid, not row scales;
    * ``[N]`` or ``[N, 1]``: row-wise path (FP8RowQuantLinear), activations bounded by ``scale_ub``.

    The bias is applied exactly once on every path; autograd gives grad_X (and the bias gradient).
    """
    _check_inputs(X, weight, weight_scale, bias)
    bn, bk = (128, 128) if block_size is None else _c.block_pair(block_size)
    n, k = weight.shape
    shape = tuple(weight_scale.shape)
    if weight_scale.numel() == 1 or shape == (_cdiv(n, bn), _cdiv(k, bk)):
        return _block_path(X, weight, weight_scale, bias, bn, bk, scale_ub, grid_checked=True)
    if shape == (n,) or shape == (n, 1):
        return _row_path(X, weight, weight_scale, bias, scale_ub)
    raise ValueError(
        f"weight_scale: shape {list(shape)} fits neither the block grid [{_cdiv(n, bn)}, {_cdiv(k, bk)}] of weight "
        f"{list(weight.shape)} with block_size ({bn}, {bk}), nor row scales [{n}] / [{n}, 1], nor one per-tensor "
        "scale (a transposed weight must be transposed back: fp8kit never guesses a transpose from shapes)")


