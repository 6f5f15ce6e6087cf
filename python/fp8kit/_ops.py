"""fp8kit's operations as torch custom ops (namespace ``fp8kit``), with fake kernels.

Each op is defined once through ``torch.library.Library`` (lower per-call overhead than
``torch.library.custom_op``), implemented for every device by one Python kernel that allocates the
outputs and calls the compiled module with raw descriptors (no DLPack exchange, so nothing touches the
legacy default stream: the ops are safe under CUDA-graph capture), and described to the compiler by a
fake kernel that allocates the same shapes and strides. The caller's current CUDA stream is used.

The public, validated API is in fp8kit.functional; these ops trust their callers about dtypes and
shapes (the library still checks everything and raises ValueError).
"""

from __future__ import annotations

import types
from typing import Dict, List, Sequence

import torch

from ._backend import current_backend, elementwise_backend
from ._native import _C

_F8_E8M0 = getattr(torch, "float8_e8m0fnu", None)
_CODE = {
    torch.float32: _C.DTYPE_CODES["f32"],
    torch.float16: _C.DTYPE_CODES["f16"],
    torch.bfloat16: _C.DTYPE_CODES["bf16"],
    torch.float8_e4m3fn: _C.DTYPE_CODES["e4m3fn"],
    torch.float8_e5m2: _C.DTYPE_CODES["e5m2"],
}
if _F8_E8M0 is not None:
    _CODE[_F8_E8M0] = _C.DTYPE_CODES["ue8m0"]
# Scale arguments: raw bytes are UE8M0 (2^(b-127)).
_SCALE_CODE = dict(_CODE)
_SCALE_CODE[torch.uint8] = _C.DTYPE_CODES["ue8m0"]

_CPU, _CUDA = 1, 2  # DLPack device types
_E4M3, _F32 = _CODE[torch.float8_e4m3fn], _CODE[torch.float32]

try:
    _raw_stream = torch._C._cuda_getCurrentRawStream  # what inductor uses: no Stream object per call
except AttributeError:  # pragma: no cover - CPU-only torch builds

    def _raw_stream(index: int) -> int:
        return torch.cuda.current_stream(index).cuda_stream


def _desc(t: torch.Tensor, codes=_CODE):
    """The raw descriptor (data_ptr, dtype, shape, strides, device_type, device_id) of `t`."""
    index = t.get_device()
    if index >= 0:
        return (t.data_ptr(), codes[t.dtype], t.shape, t.stride(), _CUDA, index)
    return (t.data_ptr(), codes[t.dtype], t.shape, t.stride(), _CPU, 0)


def _kind_ordinal(index: int):
    """The DLPack device type and ordinal of a tensor whose get_device() is `index` (-1 on the CPU)."""
    return (_CUDA, index) if index >= 0 else (_CPU, 0)


def _scale_desc(t: torch.Tensor):
    return _desc(t, _SCALE_CODE)


def _stream(t: torch.Tensor) -> int:
    index = t.get_device()
    return _raw_stream(index) if index >= 0 else 0


def _leading_collapse(shape, stride, end: int) -> bool:
    """True if dims [0, end) (size-1 dims ignored) step through memory with one stride, as the library needs."""
    expected = -1
    for d in range(end - 1, -1, -1):
        if shape[d] == 1:
            continue
        if expected >= 0 and stride[d] != expected:
            return False
        expected = stride[d] * shape[d]
    return True


def _rows_ok(t: torch.Tensor) -> bool:
    """True if the library can see `t` as rows: unit last stride, leading dims collapsing to one stride."""
    if t.is_contiguous():
        return True
    shape, stride = t.shape, t.stride()
    if t.dim() == 0 or (shape[-1] > 1 and stride[-1] != 1):
        return False
    return _leading_collapse(shape, stride, t.dim() - 1)


def as_rows(t: torch.Tensor) -> torch.Tensor:
    return t if _rows_ok(t) else t.contiguous()


def _like(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A new tensor of t's shape and device, contiguous (as_rows(t) is contiguous or not dense)."""
    return torch.empty_like(t, dtype=dtype)


def _empty(dims, dtype: torch.dtype, like: torch.Tensor) -> torch.Tensor:
    """A new contiguous tensor on like's device. (Sizes passed as separate ints: torch parses them about
    twice as fast as a tuple, which matters at decode sizes.)"""
    if dims:
        return torch.empty(*dims, dtype=dtype, device=like.device)
    return torch.empty((), dtype=dtype, device=like.device)


def _cdiv(a, b):
    return (a + b - 1) // b


def m_major_column(rows: int) -> int:
    """The column stride of M-major scales over `rows` rows: rows padded to a multiple of 4 (16 bytes of
    fp32, TMA-aligned; the layout the Hopper GEMM loads by TMA)."""
    return _cdiv(rows, 4) * 4


def group_scale_buffer(
    lead: Sequence[int], groups: int, dtype: torch.dtype, column_major: bool, like: torch.Tensor
) -> torch.Tensor:
    """Scales [*lead, groups]; column_major: an M-major view of a [groups, m_major_column(M)] buffer."""
    if not column_major:
        return _empty((*lead, groups), dtype, like)
    rows = 1
    for n in lead:
        rows = rows * n
    padded = m_major_column(rows)
    return like.new_empty(groups * padded, dtype=dtype).as_strided((*lead, groups),
                                                                   (*_contiguous_strides(lead), padded))


_LIB = torch.library.Library("fp8kit", "DEF")
_IMPLS: Dict[str, object] = {}


def _define(schema: str, impl, fake) -> None:
    name = schema.split("(", 1)[0]
    _LIB.define(schema)
    _LIB.impl(name, impl, "CompositeExplicitAutograd")
    torch.library.register_fake(f"fp8kit::{name}", fake, lib=_LIB)
    _IMPLS[name] = impl


# The direct path: for plain eager tensors an op's kernel is called without the dispatcher round trip
# (about 2 us a call). Anything else goes through torch.ops.fp8kit: tracing (torch.compile, export),
# fake or meta tensors, tensor subclasses, torch function / dispatch modes, functorch transforms.
_PLAIN_TYPES = (torch.Tensor, torch.nn.Parameter)
_dispatch_modes = getattr(torch._C, "_len_torch_dispatch_stack", None)
_function_modes = getattr(torch._C, "_is_torch_function_mode_enabled", None)
_functorch_active = getattr(torch._C, "_are_functorch_transforms_active", None)
_DIRECT = None not in (_dispatch_modes, _function_modes, _functorch_active)


def _direct(args, tensor_positions) -> bool:
    if not _DIRECT or torch.compiler.is_compiling() or _dispatch_modes() or _function_modes() or _functorch_active():
        return False
    for i in tensor_positions:
        a = args[i]
        if a is not None and (type(a) not in _PLAIN_TYPES or a.is_meta):
            return False
    return True


def _entry(name: str):
    impl, op = _IMPLS[name], getattr(torch.ops.fp8kit, name)
    tensor_positions = tuple(i for i, arg in enumerate(op.default._schema.arguments)
                             if str(arg.type) in ("Tensor", "Optional[Tensor]"))

    def call(*args):
        return impl(*args) if _direct(args, tensor_positions) else op(*args)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"torch.ops.fp8kit.{name}, called directly for plain eager tensors."
    return call


# --- quantization -----------------------------------------------------------------------------------


def _quantize_group_out(x, group_size, column_major, fp8_dtype, scale_dtype):
    q = _like(x, fp8_dtype)
    s = group_scale_buffer(x.shape[:-1], _cdiv(x.shape[-1], group_size), scale_dtype, column_major, x)
    return q, s


def _quantize_group(x, group_size, pow2, column_major_scales, fp8_dtype, scale_dtype, amax_upper_bound):
    if not column_major_scales and x.is_contiguous() and x.dim() >= 1:
        return _quantize_group_contiguous(x, group_size, pow2, fp8_dtype, scale_dtype, amax_upper_bound)
    x = as_rows(x)
    q, s = _quantize_group_out(x, group_size, column_major_scales, fp8_dtype, scale_dtype)
    if q.numel():
        _C.quantize(_desc(x), _desc(q), _scale_desc(s), "group", 1, group_size, pow2, amax_upper_bound,
                    elementwise_backend(), _stream(x))
    return q, s


def _quantize_group_contiguous(x, group_size, pow2, fp8_dtype, scale_dtype, amax_upper_bound):
    """_quantize_group of a contiguous x with row-major scales, the decode-sized hot path ([M, K] as well as
    [batch, seq, K]): the descriptors are written from what is already known instead of asking each
    tensor (about 2 us of a 10 us Python layer on an H200 host). Sizes go to torch.empty as separate
    ints (a tuple takes torch twice as long to parse, 3 us instead of 1.3 on the development VM)."""
    shape = x.shape
    k = shape[-1]
    groups = (k + group_size - 1) // group_size
    device = x.device
    if len(shape) == 2:  # sizes as separate ints: torch parses them faster than a tuple
        m = shape[0]
        q = torch.empty(m, k, dtype=fp8_dtype, device=device)
        s = torch.empty(m, groups, dtype=scale_dtype, device=device)
        x_strides, s_shape, s_strides = (k, 1), (m, groups), (groups, 1)
    else:
        q = torch.empty_like(x, dtype=fp8_dtype)  # x is dense, so q gets exactly x's strides
        s = torch.empty(*shape[:-1], groups, dtype=scale_dtype, device=device)
        x_strides, s_shape, s_strides = x.stride(), s.shape, s.stride()
    if q.numel():
        index = x.get_device()
        kind, ordinal = _kind_ordinal(index)
        _C.quantize((x.data_ptr(), _CODE[x.dtype], shape, x_strides, kind, ordinal),
                    (q.data_ptr(), _CODE[fp8_dtype], shape, x_strides, kind, ordinal),
                    (s.data_ptr(), _SCALE_CODE[scale_dtype], s_shape, s_strides, kind, ordinal),
                    "group", 1, group_size, pow2, amax_upper_bound, elementwise_backend(),
                    _raw_stream(index) if index >= 0 else 0)
    return q, s


def _quantize_group_fake(x, group_size, pow2, column_major_scales, fp8_dtype, scale_dtype, amax_upper_bound):
    return _quantize_group_out(x, group_size, column_major_scales, fp8_dtype, scale_dtype)


_define(
    "quantize_group(Tensor x, int group_size, bool pow2, bool column_major_scales, ScalarType fp8_dtype, "
    "ScalarType scale_dtype, float amax_upper_bound) -> (Tensor, Tensor)",
    _quantize_group,
    _quantize_group_fake,
)


def _quantize_group_into(x, group_size, pow2, amax_upper_bound, q, s):
    """quantize_group into caller-provided outputs (act_quant's out=): q like x, s [*x.shape[:-1], groups]
    in any layout the library reads (row-major, or M-major like column_major_scales). The element types are
    q's and s's. No allocation: the decode-sized call skips torch's allocating and freeing two tensors."""
    if q.numel():
        x = as_rows(x)
        # q's own descriptor, so that the library checks it against x's when the op is called directly
        _C.quantize(_desc(x), _desc(q), _scale_desc(s), "group", 1, group_size, pow2, amax_upper_bound,
                    elementwise_backend(), _stream(x))


def _quantize_group_into_fake(x, group_size, pow2, amax_upper_bound, q, s):
    return None


_define(
    "quantize_group_into(Tensor x, int group_size, bool pow2, float amax_upper_bound, Tensor(a!) q, "
    "Tensor(b!) s) -> ()",
    _quantize_group_into,
    _quantize_group_into_fake,
)


def _quantize_row_out(x, fp8_dtype):
    return _like(x, fp8_dtype), _empty(x.shape[:-1], torch.float32, x)


def _quantize_row(x, amax_upper_bound, fp8_dtype):
    x = as_rows(x)
    q, s = _quantize_row_out(x, fp8_dtype)
    if q.numel():
        _C.quantize(_desc(x), _desc(q), _desc(s), "row", 1, 0, False, amax_upper_bound, elementwise_backend(),
                    _stream(x))
    else:
        s.fill_(1.0)
    return q, s


def _quantize_row_fake(x, amax_upper_bound, fp8_dtype):
    return _quantize_row_out(x, fp8_dtype)


_define(
    "quantize_row(Tensor x, float amax_upper_bound, ScalarType fp8_dtype) -> (Tensor, Tensor)",
    _quantize_row,
    _quantize_row_fake,
)


def _quantize_tensor_out(x, fp8_dtype):
    return _like(x, fp8_dtype), _empty((), torch.float32, x)


def _quantize_tensor(x, amax_upper_bound, fp8_dtype):
    x = as_rows(x)
    q, s = _quantize_tensor_out(x, fp8_dtype)
    if q.numel():
        _C.quantize(_desc(x), _desc(q), _desc(s), "tensor", 0, 0, False, amax_upper_bound, elementwise_backend(),
                    _stream(x))
    else:
        s.fill_(1.0)
    return q, s


def _quantize_tensor_fake(x, amax_upper_bound, fp8_dtype):
    return _quantize_tensor_out(x, fp8_dtype)


_define(
    "quantize_tensor(Tensor x, float amax_upper_bound, ScalarType fp8_dtype) -> (Tensor, Tensor)",
    _quantize_tensor,
    _quantize_tensor_fake,
)


def _quantize_block_out(w, block_rows, block_cols, fp8_dtype, scale_dtype):
    grid = (_cdiv(w.shape[0], block_rows), _cdiv(w.shape[1], block_cols))
    return _like(w, fp8_dtype), _empty(grid, scale_dtype, w)


def _quantize_block(w, block_rows, block_cols, pow2, fp8_dtype, scale_dtype):
    w = as_rows(w)
    q, s = _quantize_block_out(w, block_rows, block_cols, fp8_dtype, scale_dtype)
    if q.numel():
        _C.quantize(_desc(w), _desc(q), _scale_desc(s), "block", block_rows, block_cols, pow2, 0.0,
                    elementwise_backend(), _stream(w))
    return q, s


def _quantize_block_fake(w, block_rows, block_cols, pow2, fp8_dtype, scale_dtype):
    return _quantize_block_out(w, block_rows, block_cols, fp8_dtype, scale_dtype)


_define(
    "quantize_block(Tensor w, int block_rows, int block_cols, bool pow2, ScalarType fp8_dtype, "
    "ScalarType scale_dtype) -> (Tensor, Tensor)",
    _quantize_block,
    _quantize_block_fake,
)


def _silu_mul_quantize_out(gate_up, group_size, column_major, scale_dtype):
    inter = gate_up.shape[-1] // 2
    q = _empty((*gate_up.shape[:-1], inter), torch.float8_e4m3fn, gate_up)
    s = group_scale_buffer(gate_up.shape[:-1], _cdiv(inter, group_size), scale_dtype, column_major, gate_up)
    return q, s


def _silu_mul_quantize(gate_up, group_size, pow2, column_major_scales, scale_dtype):
    gate_up = as_rows(gate_up)
    q, s = _silu_mul_quantize_out(gate_up, group_size, column_major_scales, scale_dtype)
    if q.numel():
        _C.silu_mul_quantize(_desc(gate_up), _desc(q), _scale_desc(s), group_size, pow2, 0.0,
                             elementwise_backend(), _stream(gate_up))
    return q, s


def _silu_mul_quantize_fake(gate_up, group_size, pow2, column_major_scales, scale_dtype):
    return _silu_mul_quantize_out(gate_up, group_size, column_major_scales, scale_dtype)


_define(
    "silu_mul_quantize(Tensor gate_up, int group_size, bool pow2, bool column_major_scales, "
    "ScalarType scale_dtype) -> (Tensor, Tensor)",
    _silu_mul_quantize,
    _silu_mul_quantize_fake,
)


# --- dequantization ---------------------------------------------------------------------------------


def _dequantize(q, s, granularity, block_rows, block_cols, dtype):
    q = as_rows(q)
    y = _like(q, dtype)
    if y.numel():
        _C.dequantize(_desc(q), _scale_desc(s), _desc(y), granularity, block_rows, block_cols,
                      elementwise_backend(), _stream(q))
    return y


def _dequantize_fake(q, s, granularity, block_rows, block_cols, dtype):
    return _like(q, dtype)


_define(
    "dequantize(Tensor q, Tensor s, str granularity, int block_rows, int block_cols, ScalarType dtype) -> Tensor",
    _dequantize,
    _dequantize_fake,
)


# --- GEMM -------------------------------------------------------------------------------------------


def _gemm_out(a, b, out_dtype):
    return _empty((*a.shape[:-1], b.shape[0]), out_dtype, a)


def _gemm(a, b, a_scales, b_scales, bias, scaling, block_n, block_k, out_dtype):
    a, b = as_rows(a), as_rows(b)
    if scaling == "row":
        a_scales, b_scales = a_scales.contiguous(), b_scales.contiguous()
    elif a_scales.dim() > 2 and not _leading_collapse(a_scales.shape, a_scales.stride(), a_scales.dim() - 1):
        a_scales = a_scales.contiguous()
    if bias is not None and not bias.is_contiguous():
        bias = bias.contiguous()
    d = _gemm_out(a, b, out_dtype)
    if d.numel():
        _C.gemm(_desc(a), _desc(b), _desc(a_scales), _desc(b_scales), _desc(d),
                None if bias is None else _desc(bias), scaling, block_n, block_k, current_backend(), _stream(a))
    return d


def _gemm_block(a, b, a_scales, b_scales, bias, block_n, block_k, out_dtype):
    return _gemm(a, b, a_scales, b_scales, bias, "block", block_n, block_k, out_dtype)


def _gemm_block_fake(a, b, a_scales, b_scales, bias, block_n, block_k, out_dtype):
    return _gemm_out(a, b, out_dtype)


_define(
    "gemm_block(Tensor a, Tensor b, Tensor a_scales, Tensor b_scales, Tensor? bias, int block_n, int block_k, "
    "ScalarType out_dtype) -> Tensor",
    _gemm_block,
    _gemm_block_fake,
)


def _gemm_row(a, b, a_scales, b_scales, bias, out_dtype):
    return _gemm(a, b, a_scales, b_scales, bias, "row", 128, 128, out_dtype)


def _gemm_row_fake(a, b, a_scales, b_scales, bias, out_dtype):
    return _gemm_out(a, b, out_dtype)


_define(
    "gemm_row(Tensor a, Tensor b, Tensor a_scales, Tensor b_scales, Tensor? bias, ScalarType out_dtype) -> Tensor",
    _gemm_row,
    _gemm_row_fake,
)

# --- fused linear (activation quantization + GEMM in one op: one dispatch per layer call) --------------


def _linear_out(x, weight):
    if x.dim() == 2:
        return torch.empty(x.shape[0], weight.shape[0], dtype=x.dtype, device=x.device)
    return _empty((*x.shape[:-1], weight.shape[0]), x.dtype, x)


def _contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _activation_scratch(x, y, groups: int):
    """The fused linear ops' temporaries in one byte buffer: the quantized activations q (x's shape,
    e4m3fn) and their fp32 scales (x's leading dims + [groups]; groups = 0: per-row scales, x's leading
    dims), 16-byte aligned, with their raw descriptors. Group scales are M-major (m_major_column): the
    Hopper GEMM loads that layout by TMA with the tiles, about 10% faster at large M than copying
    row-major scales. One allocation and no tensor views: these
    are the costs that matter at decode sizes. The caller keeps the buffer alive until its launches are
    enqueued (stream-ordered reuse after that)."""
    shape = tuple(x.shape)
    m = y.numel() // y.shape[-1]
    m4 = m_major_column(m)
    if len(shape) == 2:  # the common case, without the generic stride computation
        q_strides = (shape[1], 1)
        lead, s_strides = ((m, groups), (1, m4)) if groups else ((m,), (1,))
    else:
        q_strides = _contiguous_strides(shape)
        rows = _contiguous_strides(shape[:-1])
        lead, s_strides = (shape[:-1] + (groups,), rows + (m4,)) if groups else (shape[:-1], rows)
    q_bytes = (x.numel() + 15) // 16 * 16
    buf = torch.empty(q_bytes + 4 * (m4 * groups if groups else m), dtype=torch.uint8, device=x.device)
    ptr = buf.data_ptr()
    index = x.get_device()
    kind, ordinal = _kind_ordinal(index)
    return buf, (ptr, _E4M3, shape, q_strides, kind, ordinal), (ptr + q_bytes, _F32, lead, s_strides, kind, ordinal)


# The fused linear ops tell the GEMM that the weight is constant (GemmOptions::constant_b: the Hopper kernel
# may load it while the kernel ahead finishes). True whatever wrote the weight: the kernel ahead of the GEMM
# is this op's activation quantization (or a torch copy of the bias, launched after it), and the
# quantization lets the GEMM start only after it has waited for every kernel before it (wait, then
# launch_dependents: src/cuda/smxx/quantize_group.cuh), so any write to the weight has completed.
_WEIGHT_IS_CONSTANT = True


def _linear_block(x, weight, weight_scale, bias, block_n, block_k, amax_upper_bound):
    x = as_rows(x)
    y = _linear_out(x, weight)
    if y.numel():
        scratch, dq, dxs = _activation_scratch(x, y, _cdiv(x.shape[-1], block_k))
        stream = _stream(x)
        _C.quantize(_desc(x), dq, dxs, "group", 1, block_k, False, amax_upper_bound, elementwise_backend(), stream)
        if bias is not None and not bias.is_contiguous():
            bias = bias.contiguous()
        _C.gemm(dq, _desc(as_rows(weight)), dxs, _desc(weight_scale), _desc(y), None if bias is None else _desc(bias),
                "block", block_n, block_k, current_backend(), stream, _WEIGHT_IS_CONSTANT)
        del scratch
    return y


def _linear_block_fake(x, weight, weight_scale, bias, block_n, block_k, amax_upper_bound):
    return _linear_out(x, weight)


_define(
    "linear_block(Tensor x, Tensor weight, Tensor weight_scale, Tensor? bias, int block_n, int block_k, "
    "float amax_upper_bound) -> Tensor",
    _linear_block,
    _linear_block_fake,
)


def _linear_row(x, weight, weight_scale, bias, amax_upper_bound):
    x = as_rows(x)
    y = _linear_out(x, weight)
    if y.numel():
        scratch, dq, dxs = _activation_scratch(x, y, 0)
        stream = _stream(x)
        _C.quantize(_desc(x), dq, dxs, "row", 1, 0, False, amax_upper_bound, elementwise_backend(), stream)
        if bias is not None and not bias.is_contiguous():
            bias = bias.contiguous()
        _C.gemm(dq, _desc(as_rows(weight)), dxs, _desc(weight_scale.contiguous()), _desc(y),
                None if bias is None else _desc(bias), "row", 128, 128, current_backend(), stream, _WEIGHT_IS_CONSTANT)
        del scratch
    return y


def _linear_row_fake(x, weight, weight_scale, bias, amax_upper_bound):
    return _linear_out(x, weight)


_define(
    "linear_row(Tensor x, Tensor weight, Tensor weight_scale, Tensor? bias, float amax_upper_bound) -> Tensor",
    _linear_row,
    _linear_row_fake,
)

# What the public API calls: each op by name, direct for plain eager tensors (see _direct).
ops = types.SimpleNamespace(**{name: _entry(name) for name in _IMPLS})

__all__: List[str] = ["ops", "as_rows", "group_scale_buffer"]
