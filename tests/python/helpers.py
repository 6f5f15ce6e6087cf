"""Test helpers: hostile random inputs and bitwise comparison that reports the first mismatch."""

from __future__ import annotations

import torch

SUBNORMAL_F32 = 1e-40


def hostile(shape, dtype=torch.float32, gen=None, scale=1.0, zero_rows=True, huge=True) -> torch.Tensor:
    """normal(0, scale) with a share of zeros, -0.0, tiny and subnormal values, values near and beyond
    448 and (huge=True) huge ones; row 1 entirely zero (zero_rows). No NaN or inf (tests place those)."""
    x = torch.randn(shape, generator=gen) * scale
    flat = x.view(-1)
    n = flat.numel()
    if n:
        pick = torch.randint(0, 100, (n,), generator=gen)
        flat[pick == 0] = 0.0
        flat[pick == 1] = -0.0
        flat[pick == 2] = SUBNORMAL_F32
        flat[pick == 3] = 447.9
        flat[pick == 4] = -464.0
        flat[pick == 5] = (1e4 if dtype == torch.float16 else 3e30) if huge else 20.0
        flat[pick == 6] = 2.0**-9
        if zero_rows and x.dim() >= 2 and x.shape[0] > 2:
            x[1] = 0.0
    return x.to(dtype)


def bits(t: torch.Tensor) -> torch.Tensor:
    size = t.element_size()
    return t.contiguous().view({1: torch.uint8, 2: torch.int16, 4: torch.int32}[size])


def poisoned(shape, dtype, strides=None, device="cpu") -> torch.Tensor:
    """An output buffer with 0xFF in every byte of its storage (NaN in float32 and every float8 type), in
    the given strides (contiguous by default), so that an element the op fails to write shows."""
    t = (torch.empty(shape, dtype=dtype, device=device) if strides is None
         else torch.empty_strided(shape, strides, dtype=dtype, device=device))
    t.untyped_storage().fill_(0xFF)
    return t


def assert_same_bits(actual: torch.Tensor, expected: torch.Tensor, what: str = "") -> None:
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    a, e = bits(actual.cpu()), bits(expected.cpu())
    diff = (a != e).nonzero()
    if diff.numel():
        idx = tuple(diff[0].tolist())
        raise AssertionError(f"{what}: {diff.shape[0]} of {a.numel()} elements differ; first at {idx}: "
                             f"{actual.cpu()[idx].float().item()!r} (bits {a[idx].item():#x}) vs expected "
                             f"{expected.cpu()[idx].float().item()!r} (bits {e[idx].item():#x})")


def rel_error(actual: torch.Tensor, exact: torch.Tensor) -> float:
    """Relative Frobenius error against a float64 reference rounded to actual's dtype (as the C++ GEMM
    harness measures it): the output rounding is not the kernel's error, and with few outputs a bf16
    result rounded perfectly can alone sit above 2e-3 from the unrounded reference (2.0013e-3 seen at
    1 x 64)."""
    exact = exact.double().cpu()
    norm = exact.norm().item()
    rounded = exact.to(actual.dtype).double() if actual.dtype in (torch.bfloat16, torch.float16) else exact
    return (actual.double().cpu() - rounded).norm().item() / (norm if norm else 1.0)


# the contract's GEMM tolerances (docs/numerics.md)
GEMM_TOL = {torch.bfloat16: 2e-3, torch.float16: 1e-3, torch.float32: 1e-4}
# fp32 output from Hopper's FP8 tensor cores (cuda_sm90, cublaslt: what the dispatcher picks on sm_90)
# carries the tensor core's in-MMA accumulation error: docs/numerics.md, "GEMM".
GEMM_TOL_TENSOR_CORE = {**GEMM_TOL, torch.float32: 5e-4}
