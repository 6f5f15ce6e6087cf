"""Bad arguments to the torch API raise TypeError / ValueError naming the argument and the value,
never a crash or a silent wrong result."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import fp8kit  # noqa: E402


@pytest.mark.parametrize("block_size,error,message", [
    (0, ValueError, "block_size: expected a positive int, got 0"),
    (-128, ValueError, "block_size: expected a positive int, got -128"),
    (True, TypeError, "block_size: expected a positive int, got True"),
    (128.0, TypeError, "block_size: expected a positive int, got 128.0"),
    ((128, 128), TypeError, r"block_size: expected a positive int, got \(128, 128\)"),
])
def test_act_quant_block_sizes(block_size, error, message):
    with pytest.raises(error, match=message):
        fp8kit.act_quant(torch.randn(2, 256), block_size)


@pytest.mark.parametrize("block_size,error,message", [
    ((128, 0), ValueError, "block_size: expected a positive int, got 0"),
    ((128, 128, 1), TypeError, "block_size: expected an int or a"),
    ("128", TypeError, "block_size: expected an int or a"),
])
def test_weight_quant_block_sizes(block_size, error, message):
    with pytest.raises(error, match=message):
        fp8kit.weight_quant(torch.randn(256, 256), block_size)


def test_wrong_dtypes_name_argument_and_dtype():
    with pytest.raises(TypeError, match="x: dtype int32 is not supported; expected float32, float16, bfloat16"):
        fp8kit.act_quant(torch.ones(2, 128, dtype=torch.int32))
    with pytest.raises(TypeError, match="x: expected a torch.Tensor, got list"):
        fp8kit.quantize_fp8_per_row([[1.0, 2.0]])
    with pytest.raises(TypeError, match="output_dtype: expected one of float8_e4m3fn, float8_e5m2"):
        fp8kit.quantize_fp8_per_tensor(torch.ones(3), output_dtype=torch.int8)
    with pytest.raises(TypeError, match="gate_up: dtype float32"):
        fp8kit.silu_mul_act_quant(torch.ones(2, 256))
    with pytest.raises(TypeError, match="scale_dtype: expected torch.float32 or torch.float8_e8m0fnu"):
        fp8kit.act_quant(torch.ones(2, 128), scale_dtype=torch.float16)


def test_wrong_shapes_and_options():
    with pytest.raises(ValueError, match=r"w: expected 2 dimensions, got shape \[2, 128, 128\]"):
        fp8kit.weight_quant(torch.ones(2, 128, 128))
    with pytest.raises(ValueError, match=r"x: expected at least 1 dimension\(s\), got shape \[\]"):
        fp8kit.act_quant(torch.tensor(1.0))
    with pytest.raises(ValueError, match="scale_format: expected 'fp32' or 'ue8m0', got 'e8m0'"):
        fp8kit.act_quant(torch.ones(2, 128), scale_format="e8m0")
    with pytest.raises(ValueError, match=r"gate_up: the last dimension .* must be even, got shape \[2, 255\]"):
        fp8kit.silu_mul_act_quant(torch.ones(2, 255, dtype=torch.bfloat16))
    with pytest.raises(ValueError, match="scale_ub: expected a finite value >= 0"):
        fp8kit.quantize_fp8_per_row(torch.ones(2, 128), scale_ub=-1.0)
    with pytest.raises(ValueError, match=r"scale_ub: expected one value, got shape \[2\]"):
        fp8kit.quantize_fp8_per_row(torch.ones(2, 128), scale_ub=torch.ones(2))
    with pytest.raises(TypeError, match="scale_ub: expected a float"):
        fp8kit.quantize_fp8_per_row(torch.ones(2, 128), scale_ub="1200")


def test_library_refusals_are_value_errors():
    from fp8kit._native import _C
    from fp8kit._ops import _desc

    x = torch.ones(2, 256)
    q = torch.empty(2, 256, dtype=torch.float8_e4m3fn)
    with pytest.raises(fp8kit.Error, match=r"scales of a \[2, 256\] input must have shape \[2, 2\]") as info:
        _C.quantize(_desc(x), _desc(q), _desc(torch.empty(2, 3)))
    assert isinstance(info.value, ValueError)
