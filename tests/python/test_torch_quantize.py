"""The torch quantization API on the CPU backend, bit for bit against fp8kit.reference."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import fp8kit  # noqa: E402
from fp8kit import reference as R  # noqa: E402
from helpers import assert_same_bits, hostile, poisoned  # noqa: E402

HP = [torch.float32, torch.bfloat16, torch.float16]


@pytest.mark.parametrize("shape", [(1, 128), (4, 300), (2, 5, 384), (3, 1), (1, 7168), (0, 256), (3, 0)])
@pytest.mark.parametrize("dtype", HP)
@pytest.mark.parametrize("scale_format", ["fp32", "ue8m0"])
def test_act_quant_matches_reference(gen, shape, dtype, scale_format):
    x = hostile(shape, dtype, gen)
    q, s = fp8kit.act_quant(x, scale_format=scale_format)
    rq, rs = R.act_quant(x, scale_format=scale_format)
    assert q.dtype == torch.float8_e4m3fn and s.dtype == torch.float32
    assert s.shape == (*shape[:-1], -(-shape[-1] // 128))
    assert_same_bits(q, rq, "q")
    assert_same_bits(s, rs, "s")


@pytest.mark.parametrize("block_size", [1, 7, 64, 100, 256])
def test_act_quant_block_sizes_and_ragged_groups(gen, block_size):
    x = hostile((6, 333), torch.bfloat16, gen)
    q, s = fp8kit.act_quant(x, block_size)
    rq, rs = R.act_quant(x, block_size)
    assert_same_bits(q, rq, "q")
    assert_same_bits(s, rs, "s")


@pytest.mark.parametrize("shape", [(5, 300), (2, 3, 256), (8, 128), (1, 1000)])
def test_act_quant_column_major_scales_are_m_major_and_tma_aligned(gen, shape):
    x = hostile(shape, torch.bfloat16, gen)
    q, s = fp8kit.act_quant(x, column_major_scales=True)
    rq, rs = R.act_quant(x)
    m = x.numel() // shape[-1]
    padded = -(-m // 4) * 4
    assert s.stride()[-1] == padded, "consecutive groups are one padded M-extent apart"
    if m > 1:
        assert s.reshape(m, -1).stride() == (1, padded)
    assert s.untyped_storage().nbytes() >= 4 * padded * s.shape[-1]
    assert_same_bits(q, rq, "q")
    assert_same_bits(s.contiguous(), rs, "s")


def test_act_quant_ue8m0_bytes(gen):
    x = hostile((9, 520), torch.float32, gen)
    q, s = fp8kit.act_quant(x, scale_format="ue8m0", scale_dtype=torch.float8_e8m0fnu)
    rq, rs = R.act_quant(x, scale_format="ue8m0")
    assert s.dtype == torch.float8_e8m0fnu
    assert torch.equal(s.view(torch.uint8), R.encode_ue8m0(rs))
    assert_same_bits(q, rq, "q")
    assert_same_bits(R.decode_ue8m0(s), rs, "decoded s")
    with pytest.raises(ValueError, match="scale_format='ue8m0'"):
        fp8kit.act_quant(x, scale_dtype=torch.float8_e8m0fnu)


@pytest.mark.parametrize("shape", [(1, 7168), (4, 300), (2, 5, 384), (0, 256)])
@pytest.mark.parametrize("scale_format, scale_dtype", [("fp32", None), ("ue8m0", None),
                                                       ("ue8m0", torch.float8_e8m0fnu)])
def test_act_quant_out_writes_what_the_allocating_call_returns(gen, shape, scale_format, scale_dtype):
    x = hostile(shape, torch.bfloat16, gen)
    want_q, want_s = fp8kit.act_quant(x, scale_format=scale_format, scale_dtype=scale_dtype)
    q, s = poisoned(want_q.shape, want_q.dtype), poisoned(want_s.shape, want_s.dtype)
    got = fp8kit.act_quant(x, scale_format=scale_format, scale_dtype=scale_dtype, out=(q, s))
    assert got[0] is q and got[1] is s
    assert_same_bits(q, want_q, "q")
    assert_same_bits(s, want_s, "s")


def test_act_quant_out_takes_m_major_scales_and_non_contiguous_x(gen):
    base = hostile((12, 640), torch.float16, gen)
    x = base[:, 17:400]
    want_q, want_s = fp8kit.act_quant(x, 64)
    q = poisoned(tuple(x.shape), torch.float8_e4m3fn)
    s = poisoned(tuple(want_s.shape), torch.float32, strides=(1, 12))  # M-major, as column_major_scales
    fp8kit.act_quant(x, 64, out=(q, s))
    assert_same_bits(q, want_q, "q")
    assert_same_bits(s.contiguous(), want_s, "s")
    assert torch.equal(base[:, 17:400], x), "x is not modified"


def test_act_quant_out_refusals():
    x = torch.randn(4, 256)
    q, s = torch.empty(4, 256, dtype=torch.float8_e4m3fn), torch.empty(4, 2)
    with pytest.raises(TypeError, match="out must be a \\(q, s\\) pair of tensors, got Tensor"):
        fp8kit.act_quant(x, out=q)
    with pytest.raises(TypeError, match="length 3"):
        fp8kit.act_quant(x, out=(q, s, s))
    with pytest.raises(TypeError, match=r"out\[0\] must be torch.float8_e5m2 for this call, got torch.float8_e4m3fn"):
        fp8kit.act_quant(x, fp8_dtype=torch.float8_e5m2, out=(q, s))
    with pytest.raises(TypeError, match=r"out\[1\] must be torch.float32 for this call, got torch.float16"):
        fp8kit.act_quant(x, out=(q, s.half()))
    with pytest.raises(ValueError, match=r"out\[1\] must have shape \[4, 2\], got \[4, 3\]"):
        fp8kit.act_quant(x, out=(q, torch.empty(4, 3)))
    with pytest.raises(ValueError, match=r"out\[0\] must have shape \[4, 256\], got \[2, 512\]"):
        fp8kit.act_quant(x, out=(q.view(2, 512), s))
    with pytest.raises(ValueError, match="column_major_scales does not apply"):
        fp8kit.act_quant(x, column_major_scales=True, out=(q, s))
    with pytest.raises(ValueError, match=r"out\[1\] requires grad"):
        fp8kit.act_quant(x, out=(q, torch.empty(4, 2, requires_grad=True)))
    with pytest.raises(ValueError, match="overlap"):
        fp8kit.act_quant(x, out=(q, x[:, :2]))
    with pytest.raises(ValueError, match="shape"):  # the op called directly: the library still checks q
        torch.ops.fp8kit.quantize_group_into(x, 128, False, 0.0, q[:2], s)
    assert not torch.isnan(x).any()


def test_act_quant_pow2_scales_are_exact_powers_rounded_up(gen):
    x = torch.randn(16, 1024, generator=gen) * torch.logspace(-30, 30, 16).unsqueeze(1)
    q, s = fp8kit.act_quant(x, scale_format="ue8m0")
    mant, _ = torch.frexp(s)
    assert torch.all(mant == 0.5), "every scale is a power of two"
    assert torch.all(q.float().abs().amax(-1) <= 448)
    amax = x.abs().view(16, 8, 128).amax(-1)
    assert torch.all(amax <= s * 448) and torch.all(amax > s * 224)


def test_act_quant_non_contiguous_inputs(gen):
    base = hostile((12, 640), torch.bfloat16, gen)
    for x in (base.t(), base[:, 17:400], base[::3], base.view(12, 5, 128).transpose(0, 1)):
        q, s = fp8kit.act_quant(x)
        rq, rs = R.act_quant(x.contiguous())
        assert_same_bits(q, rq, "q")
        assert_same_bits(s, rs, "s")


def test_act_quant_zero_subnormal_and_nonfinite_groups():
    x = torch.zeros(4, 256)
    x[1, :128] = -0.0
    x[2, 3] = 1e-40
    x[3, 5] = float("nan")
    x[3, 200] = float("-inf")
    q, s = fp8kit.act_quant(x)
    assert torch.equal(s[0], torch.ones(2)), "all-zero group: s = 1"
    assert q.view(torch.uint8)[1, 0] == 0x80, "the sign of zero is kept"
    assert s[2, 0] == 2.0**-126, "tiny amax: the scale is floored at the smallest normal"
    assert torch.isnan(s[3]).all() and (q.view(torch.uint8)[3] == 0x7F).all()
    rq, rs = R.act_quant(x)
    assert_same_bits(q, rq, "q")
    assert_same_bits(s, rs, "s")


def test_act_quant_saturates_and_never_makes_nan_for_finite_input():
    x = torch.tensor([[448.0, 448.0001, 464.0, 465.0, 1e30, -1e30, 1.0, 0.5] + [0.0] * 120])
    q, s = fp8kit.act_quant(x)
    assert s.item() == pytest.approx(1e30 / 448)
    assert not torch.isnan(q.float()).any()


@pytest.mark.parametrize("dtype", HP)
@pytest.mark.parametrize("shape", [(7, 300), (2, 3, 129), (5,), (0, 64)])
def test_quantize_fp8_per_row(gen, dtype, shape):
    x = hostile(shape, dtype, gen, scale=50.0)
    for ub in (None, 30.0, torch.tensor([30.0])):
        q, s = fp8kit.quantize_fp8_per_row(x, scale_ub=ub)
        rq, rs = R.quantize_fp8_per_row(x, None if ub is None else 30.0)
        assert s.shape == x.shape[:-1]
        assert_same_bits(q, rq, "q")
        assert_same_bits(s, rs, "s")
    q, s = fp8kit.quantize_fp8_per_row(x, output_dtype=torch.float8_e5m2)
    rq, rs = R.quantize_fp8_per_row(x, fp8_dtype=torch.float8_e5m2)
    assert_same_bits(q, rq, "q e5m2")


def test_quantize_fp8_per_tensor(gen):
    x = hostile((3, 4, 50), torch.bfloat16, gen)
    q, s = fp8kit.quantize_fp8_per_tensor(x)
    rq, rs = R.quantize_fp8_per_tensor(x)
    assert s.shape == ()
    assert_same_bits(q, rq, "q")
    assert_same_bits(s, rs, "s")
    q, s = fp8kit.quantize_fp8_per_tensor(torch.zeros(2, 3))
    assert s.item() == 1.0 and q.float().abs().sum() == 0
    _, s = fp8kit.quantize_fp8_per_tensor(torch.empty(0, 3))
    assert s.item() == 1.0


@pytest.mark.parametrize("shape,block", [((256, 384), (128, 128)), ((300, 200), 128), ((130, 70), (64, 128)),
                                         ((65, 257), (128, 64)), ((1, 1), 128)])
@pytest.mark.parametrize("scale_format", ["fp32", "ue8m0"])
def test_weight_quant(gen, shape, block, scale_format):
    w = hostile(shape, torch.bfloat16, gen)
    q, s = fp8kit.weight_quant(w, block, scale_format=scale_format)
    rq, rs = R.weight_quant(w, block, scale_format=scale_format)
    assert_same_bits(q, rq, "q")
    assert_same_bits(s, rs, "s")


def test_silu_mul_act_quant_equals_the_unfused_pair(gen):
    gate_up = (torch.randn(2, 3, 2 * 300, generator=gen) * 4).to(torch.bfloat16)
    q, s = fp8kit.silu_mul_act_quant(gate_up, 128, column_major_scales=True)
    g, u = gate_up[..., :300].float(), gate_up[..., 300:].float()
    h = (g / (1 + torch.exp(-g)) * u)
    dq = R.dequantize_tiles(q.reshape(6, 300), s.reshape(6, 3), 1, 128, torch.float32)
    assert torch.allclose(dq, h.reshape(6, 300), rtol=0.07, atol=1e-2)
    from fp8kit._native import _C
    from fp8kit._ops import _desc

    hb = torch.empty(2, 3, 300, dtype=torch.bfloat16)
    _C.silu_mul(_desc(gate_up), _desc(hb))
    rq, rs = R.act_quant(hb)
    assert_same_bits(q, rq, "q")
    assert_same_bits(s.contiguous(), rs, "s")


def test_quantization_outputs_do_not_require_grad(gen):
    x = torch.randn(2, 256, generator=gen, requires_grad=True)
    for q, s in (fp8kit.act_quant(x), fp8kit.quantize_fp8_per_row(x), fp8kit.quantize_fp8_per_tensor(x)):
        assert not q.requires_grad and not s.requires_grad


def test_use_backend_reaches_the_torch_ops(gen):
    x = hostile((5, 300), torch.bfloat16, gen, huge=False)
    wq, ws = fp8kit.weight_quant(torch.randn(64, 300, generator=gen))
    q, s = fp8kit.act_quant(x)
    with fp8kit.use_backend("cpu_reference"):
        rq, rs = fp8kit.act_quant(x)
        reference_out = fp8kit.w8a8_block_fp8_matmul(q, wq, s, ws)
    assert_same_bits(q, rq)
    assert_same_bits(s, rs)
    assert torch.equal(reference_out, fp8kit.w8a8_block_fp8_matmul(q, wq, s, ws))
    with fp8kit.use_backend("cuda"), pytest.raises(ValueError, match="backend cuda cannot run on CPU tensors"):
        fp8kit.act_quant(x)
    with fp8kit.use_backend("cuda_sm90"):
        fp8kit.act_quant(x)  # quantization keeps its automatic choice under a GEMM-only backend
        with pytest.raises(ValueError, match="cuda_sm90 cannot run on CPU tensors"):
            fp8kit.fp8_linear(x, wq, ws)


def test_compiled_module_takes_torch_tensors_through_dlpack(gen):
    """torch exports bfloat16 (kDLBfloat) and float8 (codes 10, 12, 14) through DLPack: no descriptors needed."""
    from fp8kit._native import _C

    x = hostile((3, 300), torch.bfloat16, gen)
    q = torch.empty(3, 300, dtype=torch.float8_e4m3fn)
    s = torch.empty(3, 3, dtype=torch.float8_e8m0fnu)
    _C.quantize(x, q, s, "group", 1, 128, True)
    rq, rs = R.act_quant(x, scale_format="ue8m0")
    assert_same_bits(q, rq)
    assert torch.equal(s.view(torch.uint8), R.encode_ue8m0(rs))
    y = torch.empty(3, 300, dtype=torch.bfloat16)
    _C.dequantize(q, s, y, "group", 1, 128)
    assert_same_bits(y, R.dequantize_tiles(rq, rs, 1, 128, torch.bfloat16))
    q5 = torch.empty(3, 300, dtype=torch.float8_e5m2)
    _C.quantize(x, q5, torch.empty(3), "row")
    assert_same_bits(q5, R.quantize_fp8_per_row(x, fp8_dtype=torch.float8_e5m2)[0])
