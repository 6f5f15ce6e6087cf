"""The torch API: quantize, dequantize and FP8 GEMMs under the names PyTorch users know.

Every function validates its arguments (TypeError / ValueError naming the argument and its value) and
runs one fp8kit custom op (``torch.ops.fp8kit.*``), so it works under ``torch.compile(fullgraph=True)``
and CUDA-graph capture, on CPU and CUDA tensors, on the caller's current CUDA stream. Scales are
dequantization multipliers (``x ~= q * s``, DeepSeek's ``weight_scale_inv``). Numerics: docs/numerics.md.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch

from . import _checks as _c
from ._ops import ops

__all__ = [
    "act_quant",
    "silu_mul_act_quant",
    "quantize_fp8_per_row",
    "quantize_fp8_per_tensor",
    "weight_quant",
    "weight_dequant",
    "weight_dequant_block",
    "w8a8_block_fp8_matmul",
    "fp8_rowwise_matmul",
    "scales_to_float32",
]

BlockSize = Union[int, Sequence[int]]
_SCALE_DTYPES = (torch.float32, torch.bfloat16, torch.float16, *_c.UE8M0)


def _cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


def _detach(x: torch.Tensor) -> torch.Tensor:
    return x.detach() if x.requires_grad else x


def scales_to_float32(s: torch.Tensor) -> torch.Tensor:
    """fp32 values of scales stored as float32, bfloat16, float16, float8_e8m0fnu or raw UE8M0 bytes
    (uint8: 2^(b-127), 255 = NaN). Exact."""
    if s.dtype == torch.float32:
        return s
    if s.dtype in _c.UE8M0:
        b = s.view(torch.uint8).to(torch.int32)
        bits = torch.where(b == 0, torch.full_like(b, 0x00400000), b << 23)
        return torch.where(b == 255, torch.full_like(b, 0x7FC00000), bits).view(torch.float32)
    return s.float()


def _dequant_scales(s: torch.Tensor) -> torch.Tensor:
    """Scales as the library's dequantize reads them: float32 or UE8M0 bytes."""
    _c.dtype_in(s, "s", _SCALE_DTYPES)
    return s if s.dtype == torch.float32 or s.dtype in _c.UE8M0 else s.float()


# --- quantization -----------------------------------------------------------------------------------


def act_quant(
    x: torch.Tensor,
    block_size: int = 128,
    *,
    scale_format: str = "fp32",
    column_major_scales: bool = False,
    scale_dtype: Optional[torch.dtype] = None,
    fp8_dtype: torch.dtype = torch.float8_e4m3fn,
    out: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Quantizes activations per 1 x block_size group along the last dimension.

    Returns ``q`` (fp8, x's shape) and ``s`` (``[*x.shape[:-1], ceil(K / block_size)]``). K need not be a
    multiple of block_size: the last group of each row is ragged. ``scale_format="ue8m0"`` rounds each
    scale up to a power of two (DeepSeek-V3.1 / DeepGEMM on Blackwell); the container stays float32
    unless ``scale_dtype=torch.float8_e8m0fnu`` asks for one byte per scale. ``column_major_scales``
    returns an M-major view whose leading dimension is padded to a multiple of 4 (TMA-aligned, the
    layout DeepGEMM-style GEMMs read); ``w8a8_block_fp8_matmul`` takes either layout, and on Hopper loads
    this one by TMA with the tiles (about 10% faster at large M than row-major scales).

    ``out=(q, s)`` writes into existing tensors and returns them: ``q`` of x's shape and ``fp8_dtype``, ``s``
    of the scales' shape and dtype in either layout (its strides decide; ``column_major_scales`` is then not
    used), both on x's device. For decode loops that keep their buffers: it saves torch's allocation of the
    two outputs (several microseconds a call). Not differentiable, like torch's ``out=``.
    """
    x = _c.tensor(x, "x")
    _c.dtype_in(x, "x", _c.HIGH_PRECISION)
    _c.min_dim(x, "x", 1)
    group = _c.positive_int(block_size, "block_size")
    pow2 = _c.scale_format(scale_format)
    fp8 = _c.fp8_dtype(fp8_dtype, "fp8_dtype")
    sdt = _c.scale_dtype(scale_dtype, pow2)
    if out is None:
        return ops.quantize_group(_detach(x), group, pow2, bool(column_major_scales), fp8, sdt, 0.0)
    q, s = _c.act_quant_out(out, x, (*x.shape[:-1], -(-x.shape[-1] // group)), fp8, sdt, bool(column_major_scales))
    ops.quantize_group_into(_detach(x), group, pow2, 0.0, q, s)
    return q, s


def silu_mul_act_quant(
    gate_up: torch.Tensor,
    block_size: int = 128,
    *,
    scale_format: str = "fp32",
    column_major_scales: bool = False,
    scale_dtype: Optional[torch.dtype] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fused MLP activation and act_quant: h = bf16(silu(gate) * up) for gate_up = [gate | up] (bf16,
    ``[..., 2 * I]``), quantized per 1 x block_size group. Bit-identical to the unfused pair."""
    gate_up = _c.tensor(gate_up, "gate_up")
    _c.dtype_in(gate_up, "gate_up", (torch.bfloat16,))
    _c.min_dim(gate_up, "gate_up", 1)
    if gate_up.shape[-1] % 2:
        raise ValueError(f"gate_up: the last dimension holds gate and up halves and must be even, got shape "
                         f"{list(gate_up.shape)}")
    group = _c.positive_int(block_size, "block_size")
    pow2 = _c.scale_format(scale_format)
    return ops.silu_mul_quantize(_detach(gate_up), group, pow2, bool(column_major_scales),
                                 _c.scale_dtype(scale_dtype, pow2))


def quantize_fp8_per_row(
    x: torch.Tensor,
    scale_ub: Optional[Union[float, torch.Tensor]] = None,
    *,
    output_dtype: torch.dtype = torch.float8_e4m3fn,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """One scale per row (token / output channel), FBGEMM's shapes: q like x, s float32 x.shape[:-1].

    ``scale_ub`` bounds each row's amax (FBGEMM's activation upper bound; larger values saturate). A
    tensor bound is read on the host once per call (a device sync): pass a float under CUDA graphs.
    """
    x = _c.tensor(x, "x")
    _c.dtype_in(x, "x", _c.HIGH_PRECISION)
    _c.min_dim(x, "x", 1)
    return ops.quantize_row(_detach(x), _c.upper_bound(scale_ub), _c.fp8_dtype(output_dtype, "output_dtype"))


def quantize_fp8_per_tensor(
    x: torch.Tensor,
    scale_ub: Optional[Union[float, torch.Tensor]] = None,
    *,
    output_dtype: torch.dtype = torch.float8_e4m3fn,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """One scale for the whole tensor: q like x, s a 0-dim float32 tensor."""
    x = _c.tensor(x, "x")
    _c.dtype_in(x, "x", _c.HIGH_PRECISION)
    return ops.quantize_tensor(_detach(x), _c.upper_bound(scale_ub), _c.fp8_dtype(output_dtype, "output_dtype"))


def weight_quant(
    w: torch.Tensor,
    block_size: BlockSize = (128, 128),
    *,
    scale_format: str = "fp32",
    scale_dtype: Optional[torch.dtype] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Quantizes a 2-D weight [N, K] per block_size tile: q e4m3fn [N, K] and the scale grid
    ``[ceil(N / bn), ceil(K / bk)]`` (DeepSeek's ``weight_scale_inv``). Ragged edge tiles are quantized
    as if zero-padded (DeepSeek's rule); rectangular blocks are fine."""
    w = _c.tensor(w, "w")
    _c.dtype_in(w, "w", _c.HIGH_PRECISION)
    _c.exact_dim(w, "w", 2)
    bn, bk = _c.block_pair(block_size)
    pow2 = _c.scale_format(scale_format)
    return ops.quantize_block(_detach(w), bn, bk, pow2, torch.float8_e4m3fn, _c.scale_dtype(scale_dtype, pow2))


# --- dequantization ---------------------------------------------------------------------------------


def weight_dequant(
    q: torch.Tensor,
    s: torch.Tensor,
    dtype: torch.dtype = torch.bfloat16,
    *,
    transposed: bool = False,
    block_size: BlockSize = 128,
) -> torch.Tensor:
    """Dequantizes an FP8 weight with per-tensor, per-row or block scales, chosen from s's shape.

    * ``s.numel() == 1``: per-tensor (q of any shape);
    * ``s`` of shape ``[N]`` or ``[N, 1]``: per-row (output channel) scales of q ``[N, K]``;
    * ``s`` of shape ``[ceil(N / bn), ceil(K / bk)]``: block scales (``block_size`` int or (bn, bk)).

    ``transposed=True`` says q is ``W^T`` (``[K, N]``) while s belongs to W (per-row ``[N]`` / ``[N, 1]``,
    or W's block grid): the result is the dequantized ``W^T``. fp8kit never guesses a transpose from
    shapes (square weights make that ambiguous). Scales may be float32, bfloat16, float16,
    float8_e8m0fnu or raw UE8M0 bytes (uint8); the product is computed in float32 and rounded once.
    """
    q, s = _c.tensor(q, "q"), _c.tensor(s, "s")
    _c.dtype_in(q, "q", _c.FP8)
    dtype = _c.out_dtype(dtype, "dtype")
    _c.same_device(("q", q), ("s", s))
    s = _dequant_scales(s)
    if s.numel() == 1:
        return ops.dequantize(q, s, "tensor", 0, 0, dtype)
    if q.dim() != 2:
        raise ValueError(f"q: per-row and block scales need a 2-D weight, got q shape {list(q.shape)} with s shape "
                         f"{list(s.shape)}")
    bn, bk = _c.block_pair(block_size)
    rows, cols = q.shape
    n, k = (cols, rows) if transposed else (rows, cols)
    grid = (_cdiv(n, bn), _cdiv(k, bk))
    if tuple(s.shape) in ((n,), (n, 1)):
        return ops.dequantize(q, s, "column" if transposed else "row", 0, 0, dtype)
    if tuple(s.shape) == grid:
        if transposed:
            return ops.dequantize(q, s.t(), "block", bk, bn, dtype)
        return ops.dequantize(q, s, "block", bn, bk, dtype)
    layout = "W^T [K, N] (transposed=True)" if transposed else "W [N, K]"
    raise ValueError(
        f"s: shape {list(s.shape)} fits no scale layout of q {list(q.shape)} read as {layout}: expected one "
        f"element (per-tensor), [{n}] or [{n}, 1] (per-row), or the block grid {list(grid)} for block_size "
        f"({bn}, {bk}); a transposed weight needs transposed=True")


def weight_dequant_block(
    q: torch.Tensor, s: torch.Tensor, block_size: BlockSize = 128, dtype: torch.dtype = torch.bfloat16
) -> torch.Tensor:
    """Dequantizes q ``[N, K]`` with its block grid s ``[ceil(N / bn), ceil(K / bk)]``; ``block_size`` is an
    int (square) or (bn, bk); ragged edge blocks are fine. fp32 multiply, one rounding to ``dtype``."""
    q, s = _c.tensor(q, "q"), _c.tensor(s, "s")
    _c.dtype_in(q, "q", _c.FP8)
    _c.exact_dim(q, "q", 2)
    dtype = _c.out_dtype(dtype, "dtype")
    _c.same_device(("q", q), ("s", s))
    s = _dequant_scales(s)
    bn, bk = _c.block_pair(block_size)
    grid = (_cdiv(q.shape[0], bn), _cdiv(q.shape[1], bk))
    if tuple(s.shape) != grid:
        raise ValueError(f"s: the block grid of q {list(q.shape)} with block_size ({bn}, {bk}) is {list(grid)}, "
                         f"got s shape {list(s.shape)}")
    return ops.dequantize(q, s, "block", bn, bk, dtype)


# --- GEMM -------------------------------------------------------------------------------------------


def _gemm_checks(A, B, As, Bs, bias) -> None:
    """TypeError / ValueError for operands that are not tensors of the GEMM's dtypes, on one device, with
    A [..., K], B [N, K] and bias [N]; scale shapes are checked by each GEMM. One expression on the hot
    path; _explain_gemm names the first bad argument."""
    T = torch.Tensor
    if (isinstance(A, T) and isinstance(B, T) and isinstance(As, T) and isinstance(Bs, T)
            and A.dtype in _c.FP8 and B.dtype in _c.FP8 and As.dtype in _SCALE_DTYPES and Bs.dtype in _SCALE_DTYPES
            and A.dim() >= 1 and B.dim() == 2 and A.shape[-1] == B.shape[1]
            and A.device == B.device and A.device == As.device and A.device == Bs.device
            and (bias is None or (isinstance(bias, T) and bias.dtype in _c.HIGH_PRECISION and bias.dim() == 1
                                  and bias.shape[0] == B.shape[0] and bias.device == A.device))):
        return
    _explain_gemm(A, B, As, Bs, bias)


def _explain_gemm(A, B, As, Bs, bias) -> None:
    A, B, As, Bs = _c.tensor(A, "A"), _c.tensor(B, "B"), _c.tensor(As, "As"), _c.tensor(Bs, "Bs")
    _c.dtype_in(A, "A", _c.FP8)
    _c.dtype_in(B, "B", _c.FP8)
    _c.dtype_in(As, "As", _SCALE_DTYPES)
    _c.dtype_in(Bs, "Bs", _SCALE_DTYPES)
    _c.min_dim(A, "A", 1)
    _c.exact_dim(B, "B", 2)
    if A.shape[-1] != B.shape[1]:
        raise ValueError(f"A and B: A is [..., K] with K={A.shape[-1]} but B is [N, K] with K={B.shape[1]} "
                         f"(A {list(A.shape)}, B {list(B.shape)})")
    named = [("A", A), ("B", B), ("As", As), ("Bs", Bs)]
    if bias is not None:
        bias = _c.tensor(bias, "bias")
        _c.dtype_in(bias, "bias", _c.HIGH_PRECISION)
        if bias.dim() != 1 or bias.shape[0] != B.shape[0]:
            raise ValueError(f"bias: expected shape [{B.shape[0]}], got {list(bias.shape)}")
        named.append(("bias", bias))
    _c.same_device(*named)


def _rows(A: torch.Tensor) -> int:
    m = 1
    for n in A.shape[:-1]:
        m *= n
    return m


def w8a8_block_fp8_matmul(
    A: torch.Tensor,
    B: torch.Tensor,
    As: torch.Tensor,
    Bs: torch.Tensor,
    block_size: Optional[BlockSize] = (128, 128),
    output_dtype: torch.dtype = torch.bfloat16,
    *,
    bias: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """C = (A * As)(B * Bs)^T (+ bias): the DeepSeek-V3 block-scaled FP8 GEMM.

    A ``[..., K]`` fp8 (leading batch dims allowed), B ``[N, K]`` fp8 (the nn.Linear weight), As
    ``[..., ceil(K / bk)]`` (row-major or the column-major layout of ``act_quant(column_major_scales=True)``),
    Bs ``[ceil(N / bn), ceil(K / bk)]``; ``block_size`` = (bn, bk), ``None`` = (128, 128). Scales of any
    float or UE8M0 dtype are widened to float32. fp32 accumulation, scales applied per bk-wide K block;
    K and N need not be multiples of the block. Returns ``[..., N]`` in ``output_dtype``.
    """
    _gemm_checks(A, B, As, Bs, bias)
    m, (n, k) = _rows(A), B.shape
    bn, bk = _c.block_pair((128, 128) if block_size is None else block_size)
    gk = _cdiv(k, bk)
    if tuple(As.shape) != (*A.shape[:-1], gk) and tuple(As.shape) != (m, gk):
        raise ValueError(f"As: expected shape {[*A.shape[:-1], gk]} (A's leading dims + ceil(K/{bk})), got "
                         f"{list(As.shape)}")
    if tuple(Bs.shape) != (_cdiv(n, bn), gk):
        raise ValueError(f"Bs: expected the block grid [{_cdiv(n, bn)}, {gk}] of B {list(B.shape)} with block_size "
                         f"({bn}, {bk}), got {list(Bs.shape)}")
    return ops.gemm_block(A, B, scales_to_float32(As), scales_to_float32(Bs), bias, bn, bk,
                          _c.out_dtype(output_dtype, "output_dtype"))


def fp8_rowwise_matmul(
    A: torch.Tensor,
    B: torch.Tensor,
    As: torch.Tensor,
    Bs: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    output_dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    """C = (A * As)(B * Bs)^T (+ bias) with one scale per row of A (token) and of B (output channel):
    FBGEMM's ``f8f8bf16_rowwise``. As holds M values (A's leading dims, optionally + [1]) and Bs N values
    ([N] or [N, 1]); a one-element scale is per-tensor. fp32 accumulation; bias added once, in fp32."""
    _gemm_checks(A, B, As, Bs, bias)
    m, n = _rows(A), B.shape[0]
    if As.numel() not in (m, 1):
        raise ValueError(f"As: expected {m} row scales (A's leading dims {list(A.shape[:-1])}) or one per-tensor "
                         f"scale, got shape {list(As.shape)}")
    if Bs.numel() not in (n, 1):
        raise ValueError(f"Bs: expected {n} row scales ([N] or [N, 1]) or one per-tensor scale, got shape "
                         f"{list(Bs.shape)}")
    return ops.gemm_row(A, B, scales_to_float32(As), scales_to_float32(Bs), bias,
                        _c.out_dtype(output_dtype, "output_dtype"))
