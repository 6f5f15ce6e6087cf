"""weight_dequant / weight_dequant_block: every scale layout, dtype and the explicit transpose flag."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import fp8kit  # noqa: E402
from fp8kit import reference as R  # noqa: E402
from helpers import assert_same_bits, hostile  # noqa: E402

OUT = [torch.bfloat16, torch.float16, torch.float32]


@pytest.mark.parametrize("dtype", OUT)
def test_per_tensor_scales_of_any_shape(gen, dtype):
    q, _ = fp8kit.quantize_fp8_per_tensor(hostile((40, 70), gen=gen))
    for s in (torch.tensor(0.0123), torch.tensor([0.0123]), torch.tensor([[0.0123]])):
        y = fp8kit.weight_dequant(q, s, dtype)
        assert_same_bits(y, (q.float() * 0.0123).to(dtype), f"s shape {tuple(s.shape)}")


def test_multiplies_in_fp32_and_rounds_once_unlike_the_seed():
    q = torch.full((2, 4), 3.0).to(torch.float8_e4m3fn)
    s = torch.tensor([[1.00390625 + 2**-12], [1.0]])  # not representable in bf16
    y = fp8kit.weight_dequant(q, s, torch.bfloat16)
    assert_same_bits(y, (q.float() * s).to(torch.bfloat16))
    seed_style = q.to(torch.bfloat16) * s.to(torch.bfloat16)
    assert not torch.equal(y, seed_style), "the seed multiplies in bf16 after rounding the scale"


@pytest.mark.parametrize("dtype", OUT)
@pytest.mark.parametrize("n,k", [(64, 96), (96, 96), (1, 7)])
def test_per_row_and_transposed_per_row(gen, dtype, n, k):
    w = hostile((n, k), gen=gen)
    q, s = fp8kit.quantize_fp8_per_row(w)
    for scale in (s, s.reshape(n, 1)):
        assert_same_bits(fp8kit.weight_dequant(q, scale, dtype), R.weight_dequant(q, scale, dtype), "row")
        qt = q.t()  # W^T [K, N], as the LoRA backward passes it
        yt = fp8kit.weight_dequant(qt, scale, dtype, transposed=True)
        assert_same_bits(yt, R.weight_dequant(q, scale, dtype).t(), "transposed row")


@pytest.mark.parametrize("dtype", OUT)
@pytest.mark.parametrize("shape,block", [((256, 384), 128), ((300, 200), 128), ((130, 70), (64, 128)),
                                         ((65, 257), (128, 64))])
def test_block_scales(gen, dtype, shape, block):
    w = hostile(shape, gen=gen)
    q, s = fp8kit.weight_quant(w, block)
    y = fp8kit.weight_dequant(q, s, dtype, block_size=block)
    assert_same_bits(y, R.weight_dequant_block(q, s, block, dtype), "weight_dequant")
    assert_same_bits(fp8kit.weight_dequant_block(q, s, block, dtype), y, "weight_dequant_block")


def test_square_transposed_block_weight_needs_and_obeys_the_flag(gen):
    """E.2: a square weight with a square (non-symmetric) grid is ambiguous by shape; the flag decides."""
    w = hostile((256, 256), gen=gen)
    w[:128, 128:] *= 1000.0  # one block far larger than the others: its scale is unmistakable
    q, s = fp8kit.weight_quant(w)
    dense = R.weight_dequant_block(q, s, 128, torch.float32)
    assert_same_bits(fp8kit.weight_dequant(q.t(), s, torch.float32, transposed=True), dense.t(), "transposed")
    wrong = fp8kit.weight_dequant(q.t(), s, torch.float32)  # read as a weight of its own: another weight
    assert not torch.equal(wrong, dense.t())
    qt = q.t().contiguous()
    assert_same_bits(fp8kit.weight_dequant(qt, s, torch.float32, transposed=True), dense.t(), "contiguous W^T")


@pytest.mark.parametrize("encoding", ["e8m0", "uint8", "bf16", "f16"])
def test_scale_encodings(gen, encoding):
    w = torch.randn(200, 300, generator=gen) * 10  # scales well inside the float16 range
    q, s = fp8kit.weight_quant(w, scale_format="ue8m0")
    stored = {
        "e8m0": lambda: R.encode_ue8m0(s).view(torch.float8_e8m0fnu),
        "uint8": lambda: R.encode_ue8m0(s),
        "bf16": lambda: s.to(torch.bfloat16),
        "f16": lambda: s.to(torch.float16),
    }[encoding]()
    y = fp8kit.weight_dequant(q, stored, torch.float32)
    assert_same_bits(y, R.weight_dequant_block(q, s, 128, torch.float32))


def test_ue8m0_edge_bytes():
    q = torch.ones(1, 3).to(torch.float8_e4m3fn)
    s = torch.tensor([[0, 127, 255]], dtype=torch.uint8)
    y = fp8kit.weight_dequant_block(q, s, (1, 1), torch.float32)
    assert y[0, 0].item() == 2.0**-127 and y[0, 1].item() == 1.0 and torch.isnan(y[0, 2])


def test_nan_outputs_are_canonical():
    q = torch.tensor([[0x7F, 0xFF, 0x01]], dtype=torch.uint8).view(torch.float8_e4m3fn)
    for dtype, nan_bits in ((torch.float32, 0x7FC00000), (torch.bfloat16, 0x7FC0), (torch.float16, 0x7E00)):
        y = fp8kit.weight_dequant(q, torch.tensor(1.0), dtype)
        raw = y.view({4: torch.int32, 2: torch.int16}[y.element_size()])
        assert raw[0, 0].item() & 0xFFFFFFFF == nan_bits and raw[0, 1].item() & 0xFFFFFFFF == nan_bits


def test_one_column_block_grid_is_not_row_scales(gen):
    w = hostile((300, 100), gen=gen)  # K <= 128: the grid [3, 1] has one column
    q, s = fp8kit.weight_quant(w)
    assert s.shape == (3, 1)
    assert_same_bits(fp8kit.weight_dequant(q, s), R.weight_dequant_block(q, s, 128))


def test_rejected_shapes_name_the_layouts(gen):
    q, s = fp8kit.weight_quant(hostile((256, 384), gen=gen))
    with pytest.raises(ValueError, match=r"s: shape \[3, 2\] fits no scale layout.*\[2, 3\]"):
        fp8kit.weight_dequant(q, s.t().contiguous())
    with pytest.raises(ValueError, match="transposed=True"):
        fp8kit.weight_dequant(q.t(), s)
    with pytest.raises(ValueError, match=r"block grid of q \[256, 384\] with block_size \(64, 64\) is \[4, 6\]"):
        fp8kit.weight_dequant_block(q, s, 64)
    with pytest.raises(ValueError, match="need a 2-D weight"):
        fp8kit.weight_dequant(q.reshape(2, 128, 384), s)
    with pytest.raises(TypeError, match="q: dtype float32"):
        fp8kit.weight_dequant(q.float(), s)
    with pytest.raises(TypeError, match="dtype: expected"):
        fp8kit.weight_dequant(q, s, torch.int8)
    with pytest.raises(TypeError, match="s: dtype int32"):
        fp8kit.weight_dequant(q, s.int())
    with pytest.raises(ValueError, match="s is on meta but q is on cpu"):
        fp8kit.weight_dequant(q, s.to("meta"))
