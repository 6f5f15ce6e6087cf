"""Run Hugging Face transformers' FP8 linear layers on fp8kit.

``patch()`` replaces the ``forward`` of

* ``transformers.integrations.finegrained_fp8.FP8Linear`` (fine-grained FP8: ``weight`` e4m3fn,
  ``weight_scale_inv`` block grid, or one per-tensor scale when ``block_size`` is None; ``float8_e8m0fnu``
  scales accepted; ``activation_scheme="static"`` uses the module's ``activation_scale``), and
* ``transformers.integrations.fbgemm_fp8.FbgemmFp8Linear`` (row-wise: ``weight_scale`` ``[N, 1]`` and the
  module's ``input_scale_ub`` buffer bounding the activations, as FBGEMM applies it),

with fp8kit's kernels, the bias applied exactly once. A layer whose weight is not one byte per element
(loaded with ``dequantize=True``) keeps running ``F.linear``. ``patch()`` is idempotent and ``unpatch()``
restores the original methods.

The FBGEMM bound is read from the buffer once per module (a host sync) and cached; call
``prepare(model)`` before ``torch.compile`` or CUDA-graph capture so that no read happens there.
"""

from __future__ import annotations

import importlib
from typing import List

import torch
import torch.nn.functional as F

from .. import _checks as _c
from ..functional import fp8_rowwise_matmul, w8a8_block_fp8_matmul
from ..linear import fp8_linear

__all__ = ["patch", "unpatch", "prepare", "is_patched"]

_TARGETS = (
    ("transformers.integrations.finegrained_fp8", "FP8Linear", "_finegrained_forward"),
    ("transformers.integrations.fbgemm_fp8", "FbgemmFp8Linear", "_fbgemm_forward"),
)
_ORIGINAL = "_fp8kit_original_forward"
_UB_CACHE = "_fp8kit_scale_ub"


def _local(t: torch.Tensor) -> torch.Tensor:
    """The local shard of a DTensor parameter (tensor-parallel transformers), else t itself."""
    return t.to_local() if type(t).__name__ == "DTensor" else t


def _static_activation_linear(module, x, weight, scale):
    """activation_scheme="static": x quantized with the module's one activation scale."""
    a_s = _local(module.activation_scale).float().reshape(())
    q = torch.clamp(x.float() / a_s, -448.0, 448.0).to(torch.float8_e4m3fn)
    block = module.block_size
    if block is None or scale.numel() == 1:
        return fp8_rowwise_matmul(q, weight, a_s.reshape(1), scale.reshape(1), module.bias, x.dtype)
    bn, bk = _c.block_pair(tuple(block))
    groups = -(-x.shape[-1] // bk)
    a_scales = a_s.reshape(1, 1).expand(q.numel() // max(q.shape[-1], 1), groups)
    return w8a8_block_fp8_matmul(q, weight, a_scales, scale, (bn, bk), x.dtype, bias=module.bias)


def _finegrained_forward(self, input: torch.Tensor) -> torch.Tensor:
    if self.weight.element_size() > 1:
        return F.linear(input, self.weight, self.bias)
    weight, scale = _local(self.weight), _local(self.weight_scale_inv)
    if getattr(self, "activation_scheme", "dynamic") == "static":
        return _static_activation_linear(self, input, weight, scale)
    block = None if self.block_size is None else tuple(self.block_size)
    return fp8_linear(input, weight, scale, self.bias, block_size=block)


def _scale_ub(module) -> float:
    cached = module.__dict__.get(_UB_CACHE)
    if cached is None:
        buffer = getattr(module, "input_scale_ub", None)
        cached = 0.0 if buffer is None or buffer.numel() == 0 else max(float(buffer.reshape(-1)[0]), 0.0)
        module.__dict__[_UB_CACHE] = cached
    return cached


def _fbgemm_forward(self, x: torch.Tensor) -> torch.Tensor:
    if self.weight.element_size() > 1:
        return F.linear(x, self.weight, self.bias)
    return fp8_linear(x, _local(self.weight), _local(self.weight_scale), self.bias, scale_ub=_scale_ub(self) or None)


def _classes() -> List[type]:
    try:
        importlib.import_module("transformers")
    except ImportError as error:
        raise ImportError("fp8kit.integrations.transformers needs Hugging Face transformers "
                          "(pip install transformers)") from error
    found = []
    for module_name, class_name, _ in _TARGETS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name, None)
        except ImportError:
            cls = None
        found.append(cls)
    return found


def patch() -> List[str]:
    """Makes transformers' FP8Linear and FbgemmFp8Linear run on fp8kit; returns the patched class names.
    Raises ImportError without transformers, or when this version has neither class."""
    patched = []
    for cls, (_, class_name, forward_name) in zip(_classes(), _TARGETS):
        if cls is None:
            continue
        if _ORIGINAL not in cls.__dict__:
            setattr(cls, _ORIGINAL, cls.forward)
            cls.forward = globals()[forward_name]
        patched.append(class_name)
    if not patched:
        import transformers

        raise ImportError(f"transformers {transformers.__version__} has neither "
                          "integrations.finegrained_fp8.FP8Linear nor integrations.fbgemm_fp8.FbgemmFp8Linear")
    return patched


def unpatch() -> None:
    """Restores the original forward methods (a no-op for classes not patched)."""
    for cls in _classes():
        if cls is not None and _ORIGINAL in cls.__dict__:
            cls.forward = cls.__dict__[_ORIGINAL]
            delattr(cls, _ORIGINAL)


def is_patched() -> bool:
    return any(cls is not None and _ORIGINAL in cls.__dict__ for cls in _classes())


def prepare(model: torch.nn.Module) -> int:
    """Reads every FBGEMM layer's activation bound once (host sync) so that forward never does; call before
    torch.compile or CUDA-graph capture. Returns the number of layers prepared."""
    count = 0
    for module in model.modules():
        if hasattr(module, "input_scale_ub"):
            module.__dict__.pop(_UB_CACHE, None)
            _scale_ub(module)
            count += 1
    return count
