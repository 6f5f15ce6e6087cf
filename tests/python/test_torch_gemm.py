"""w8a8_block_fp8_matmul / fp8_rowwise_matmul on the CPU backend against the float64 judge."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import fp8kit  # noqa: E402
from fp8kit import reference as R  # noqa: E402
from helpers import GEMM_TOL, hostile, rel_error  # noqa: E402

OUT = [torch.bfloat16, torch.float16, torch.float32]


def block_operands(gen, a_shape, n, block=(128, 128), column_major=False):
    x = hostile(a_shape, torch.bfloat16, gen, zero_rows=False, huge=False)
    A, As = fp8kit.act_quant(x, block[1], column_major_scales=column_major)
    B, Bs = fp8kit.weight_quant(torch.randn(n, a_shape[-1], generator=gen), block)
    return A, B, As, Bs


def judge(A, B, As, Bs, block=(128, 128), bias=None):
    return R.w8a8_block_fp8_matmul(A, B, As, Bs, block, torch.float64, bias=bias, compute_dtype=torch.float64)


@pytest.mark.parametrize("dtype", OUT)
@pytest.mark.parametrize("m,n,k", [(1, 256, 384), (3, 200, 300), (17, 130, 129), (8, 64, 2048), (0, 128, 128)])
def test_block_gemm_within_contract_tolerance(gen, dtype, m, n, k):
    A, B, As, Bs = block_operands(gen, (m, k), n)
    out = fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, output_dtype=dtype)
    assert out.shape == (m, n) and out.dtype == dtype
    if m:
        assert rel_error(out, judge(A, B, As, Bs)) <= GEMM_TOL[dtype]


def test_block_gemm_batched_activations_and_column_major_scales(gen):
    A, B, As, Bs = block_operands(gen, (2, 5, 300), 256, column_major=True)
    out = fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs)
    assert out.shape == (2, 5, 256)
    assert rel_error(out, judge(A, B, As, Bs)) <= GEMM_TOL[torch.bfloat16]
    flat = fp8kit.w8a8_block_fp8_matmul(A.reshape(10, 300), B, As.contiguous().reshape(10, 3), Bs)
    assert torch.equal(flat.reshape(2, 5, 256), out), "the layout of As does not change the result"
    assert torch.equal(fp8kit.w8a8_block_fp8_matmul(A, B, As.reshape(10, 3), Bs), out), "As as [M, groups]"


@pytest.mark.parametrize("block", [(64, 128), (128, 64), (32, 32)])
def test_block_gemm_rectangular_blocks(gen, block):
    A, B, As, Bs = block_operands(gen, (6, 200), 150, block)
    out = fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, block, torch.float32)
    assert rel_error(out, judge(A, B, As, Bs, block)) <= GEMM_TOL[torch.float32]


def test_block_gemm_bias_is_added_once_and_ue8m0_scales(gen):
    A, B, As, Bs = block_operands(gen, (4, 256), 128)
    bias = torch.randn(128, generator=gen) * 10
    with_bias = fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, output_dtype=torch.float32, bias=bias)
    without = fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, output_dtype=torch.float32)
    assert torch.allclose(with_bias - without, bias.expand(4, -1), atol=1e-3)
    A2, As2 = fp8kit.act_quant(A.float(), scale_format="ue8m0", scale_dtype=torch.float8_e8m0fnu)
    out = fp8kit.w8a8_block_fp8_matmul(A2, B, As2, Bs, output_dtype=torch.float32)
    assert rel_error(out, judge(A2, B, R.decode_ue8m0(As2), Bs)) <= 1e-4


def test_block_gemm_non_contiguous_operands(gen):
    A, B, As, Bs = block_operands(gen, (8, 256), 192)
    wide = torch.zeros(8, 512, dtype=torch.float8_e4m3fn)
    wide[:, :256] = A
    Bt = B.t().contiguous().t()  # a [N, K] view with K strided
    out = fp8kit.w8a8_block_fp8_matmul(wide[:, :256], Bt, As, Bs)
    assert torch.equal(out, fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs))


@pytest.mark.parametrize("dtype", OUT)
def test_rowwise_gemm(gen, dtype):
    xq, xs = fp8kit.quantize_fp8_per_row(hostile((3, 7, 200), gen=gen, zero_rows=False, huge=False))
    wq, ws = fp8kit.quantize_fp8_per_row(torch.randn(96, 200, generator=gen))
    bias = torch.randn(96, generator=gen).to(torch.bfloat16)
    for a_s, b_s in ((xs, ws), (xs.unsqueeze(-1), ws.reshape(96, 1)), (xs.reshape(-1), ws)):
        out = fp8kit.fp8_rowwise_matmul(xq, wq, a_s, b_s, bias, dtype)
        exact = R.fp8_rowwise_matmul(xq, wq, xs, ws, bias, torch.float64, compute_dtype=torch.float64)
        assert out.shape == (3, 7, 96) and rel_error(out, exact) <= GEMM_TOL[dtype]
    per_tensor = fp8kit.fp8_rowwise_matmul(xq, wq, xs, torch.tensor(0.5), None, torch.float32)
    exact = R.fp8_rowwise_matmul(xq, wq, xs, torch.tensor(0.5), None, torch.float64, compute_dtype=torch.float64)
    assert rel_error(per_tensor, exact) <= 1e-4


def test_gemm_bad_arguments(gen):
    A, B, As, Bs = block_operands(gen, (4, 256), 128)
    with pytest.raises(ValueError, match=r"A and B: A is \[\.\.\., K\] with K=256 but B is \[N, K\] with K=128"):
        fp8kit.w8a8_block_fp8_matmul(A, B[:, :128], As, Bs)
    with pytest.raises(ValueError, match=r"As: expected shape \[4, 2\]"):
        fp8kit.w8a8_block_fp8_matmul(A, B, As[:, :1], Bs)
    with pytest.raises(ValueError, match=r"Bs: expected the block grid \[1, 2\]"):
        fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs.t())
    with pytest.raises(ValueError, match=r"Bs: expected the block grid \[2, 2\].*block_size \(64, 128\)"):
        fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, [64, 128])
    with pytest.raises(TypeError, match="A: dtype bfloat16"):
        fp8kit.w8a8_block_fp8_matmul(A.bfloat16(), B, As, Bs)
    with pytest.raises(TypeError, match="output_dtype"):
        fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, output_dtype=torch.float8_e4m3fn)
    with pytest.raises(ValueError, match="block_size: expected a positive int, got 0"):
        fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, [0, 128])
    with pytest.raises(TypeError, match="block_size: expected an int or a"):
        fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, [128, 128, 128])
    with pytest.raises(ValueError, match=r"bias: expected shape \[128\]"):
        fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, bias=torch.zeros(129))
    with pytest.raises(ValueError, match="Bs is on meta but A is on cpu"):
        fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs.to("meta"))
    with pytest.raises(ValueError, match="As: expected 4 row scales"):
        fp8kit.fp8_rowwise_matmul(A, B, As, torch.ones(128))
