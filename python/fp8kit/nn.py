"""``FP8Linear``: an nn.Module holding an FP8 weight and its scales, run by fp8kit's kernels."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import nn

from . import _checks as _c
from .functional import BlockSize, quantize_fp8_per_row, scales_to_float32, weight_dequant, weight_quant
from .linear import block_linear, row_linear

__all__ = ["FP8Linear"]


def _cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


class FP8Linear(nn.Module):
    """A linear layer with an e4m3fn weight ``[out_features, in_features]`` and dequantization scales.

    * ``block_size=(bn, bk)`` (default (128, 128); an int means square): block scales named
      ``weight_scale_inv`` of shape ``[ceil(out / bn), ceil(in / bk)]`` (DeepSeek-V3, Qwen3-FP8, HF
      fine-grained FP8 checkpoints); activations are quantized per 1 x bk group.
    * ``block_size=None``: row-wise scales named ``weight_scale`` of shape ``[out, 1]`` (FBGEMM FP8 /
      compressed-tensors channel checkpoints); activations are quantized per token, their amax bounded
      by ``scale_ub`` when given (FBGEMM's ``activation_scale_ub``).

    ``load_state_dict`` accepts the scale as float32, bfloat16, float16, float8_e8m0fnu or raw UE8M0
    bytes (stored as float32), and a one-element (per-tensor) scale, broadcast to the layout above. A
    missing scale is an error (strict loading), never a silent garbage model. The weight and its scale do
    not train; the bias does, and gradients flow to the input (LoRA on frozen FP8 weights).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        block_size: Optional[BlockSize] = (128, 128),
        scale_ub: Optional[float] = None,
        device: Optional[Union[str, torch.device]] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        self.in_features = _c.positive_int(in_features, "in_features")
        self.out_features = _c.positive_int(out_features, "out_features")
        self.block_size = None if block_size is None else _c.block_pair(block_size)
        self.scale_ub = None if scale_ub is None else _c.upper_bound(scale_ub)
        self.weight = nn.Parameter(
            torch.empty(out_features, in_features, dtype=torch.float8_e4m3fn, device=device), requires_grad=False)
        scale = torch.ones(self.scale_shape, dtype=torch.float32, device=device)
        self.register_parameter(self.scale_name, nn.Parameter(scale, requires_grad=False))
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype or torch.get_default_dtype(), device=device))
        else:
            self.register_parameter("bias", None)

    @property
    def scale_name(self) -> str:
        return "weight_scale" if self.block_size is None else "weight_scale_inv"

    @property
    def scale_shape(self):
        if self.block_size is None:
            return (self.out_features, 1)
        bn, bk = self.block_size
        return (_cdiv(self.out_features, bn), _cdiv(self.in_features, bk))

    @property
    def scale(self) -> torch.Tensor:
        """The dequantization scales (``weight_scale_inv`` or ``weight_scale``)."""
        return getattr(self, self.scale_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.block_size is None:
            return row_linear(x, self.weight, self.weight_scale, self.bias, self.scale_ub)
        return block_linear(x, self.weight, self.weight_scale_inv, self.bias, self.block_size, self.scale_ub)

    def dequantized_weight(self, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
        """The weight as a dense ``[out, in]`` tensor of ``dtype``."""
        return weight_dequant(self.weight, self.scale, dtype, block_size=self.block_size or 128)

    @classmethod
    def from_linear(
        cls, linear: nn.Linear, block_size: Optional[BlockSize] = 128, *, scale_format: str = "fp32",
        scale_ub: Optional[float] = None,
    ) -> "FP8Linear":
        """Quantizes an nn.Linear: block scales (``block_size`` int or (bn, bk)) or, with ``block_size=None``,
        one scale per output channel. ``scale_format="ue8m0"`` makes block scales powers of two."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear: expected an nn.Linear, got {type(linear).__name__}")
        w = linear.weight.detach()
        module = cls(linear.in_features, linear.out_features, linear.bias is not None, block_size=block_size,
                     scale_ub=scale_ub, device=w.device,
                     dtype=linear.bias.dtype if linear.bias is not None else None)
        if module.block_size is None:
            q, s = quantize_fp8_per_row(w)
            s = s.reshape(-1, 1)
        else:
            q, s = weight_quant(w, module.block_size, scale_format=scale_format)
        module.weight = nn.Parameter(q, requires_grad=False)
        setattr(module, module.scale_name, nn.Parameter(s, requires_grad=False))
        if linear.bias is not None:
            with torch.no_grad():
                module.bias.copy_(linear.bias)
        return module

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + self.scale_name
        s = state_dict.get(key)
        if isinstance(s, torch.Tensor):
            s = scales_to_float32(s)
            if s.numel() == 1:
                s = s.reshape(1, 1).expand(self.scale_shape)
            state_dict[key] = s
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        scales = "row-wise" if self.block_size is None else f"block_size={self.block_size}"
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"{scales}")
