"""fp8_linear routing, bias handling, FP8BlockQuantLinear / FP8RowQuantLinear autograd, FP8Linear."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import fp8kit  # noqa: E402
from fp8kit import reference as R  # noqa: E402
from helpers import GEMM_TOL, hostile, rel_error  # noqa: E402


def block_weight(gen, n, k, block=128):
    return fp8kit.weight_quant(torch.randn(n, k, generator=gen), block)


def expected_block(X, q, s, bias=None, block=(128, 128)):
    """The forward's exact value: X quantized per 1 x bk, times the dequantized weight, in float64."""
    Xq, Xs = R.act_quant(X, block[1])
    return R.w8a8_block_fp8_matmul(Xq, q, Xs, s, block, torch.float64, bias=bias, compute_dtype=torch.float64)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
@pytest.mark.parametrize("shape,n", [((4, 256), 384), ((2, 3, 200), 130), ((1, 1, 1000), 64)])
def test_block_forward(gen, dtype, shape, n):
    X = hostile(shape, dtype, gen, huge=False)
    q, s = block_weight(gen, n, shape[-1])
    bias = torch.randn(n, generator=gen)
    Y = fp8kit.FP8BlockQuantLinear.apply(X, q, s, bias)
    assert Y.shape == (*shape[:-1], n) and Y.dtype == dtype
    assert rel_error(Y, expected_block(X, q, s, bias)) <= GEMM_TOL[dtype]


def test_bias_is_applied_exactly_once_on_every_path(gen):
    X = torch.randn(5, 256, generator=gen)
    bias = torch.randn(192, generator=gen) * 100
    qb, sb = block_weight(gen, 192, 256)
    qr, sr = fp8kit.quantize_fp8_per_row(torch.randn(192, 256, generator=gen))
    qt, st = fp8kit.quantize_fp8_per_tensor(torch.randn(192, 256, generator=gen))
    for name, q, s in (("block", qb, sb), ("row", qr, sr), ("row [N,1]", qr, sr.unsqueeze(1)), ("tensor", qt, st)):
        diff = fp8kit.fp8_linear(X, q, s, bias) - fp8kit.fp8_linear(X, q, s)
        assert torch.allclose(diff, bias.expand(5, -1), rtol=1e-5, atol=1e-3), name
    module = fp8kit.FP8Linear.from_linear(torch.nn.Linear(256, 192).requires_grad_(False))
    module.bias.data = bias.clone()
    ref = fp8kit.fp8_linear(X, module.weight, module.weight_scale_inv, bias)
    assert torch.equal(module(X), ref)


def test_routing_by_scale_shape(gen):
    X = torch.randn(3, 100, generator=gen)
    q, s = block_weight(gen, 300, 100)  # K <= 128: grid [3, 1], one column, not row scales
    assert s.shape == (3, 1)
    Y = fp8kit.fp8_linear(X, q, s)
    assert rel_error(Y, expected_block(X, q, s)) <= 1e-4
    qr, sr = fp8kit.quantize_fp8_per_row(torch.randn(300, 100, generator=gen))
    Yr = fp8kit.fp8_linear(X, qr, sr.unsqueeze(1))
    Xq, Xs = R.quantize_fp8_per_row(X)
    exact = R.fp8_rowwise_matmul(Xq, qr, Xs, sr, None, torch.float64, compute_dtype=torch.float64)
    assert rel_error(Yr, exact) <= 1e-4
    qt, st = fp8kit.quantize_fp8_per_tensor(torch.randn(300, 100, generator=gen))
    Yt = fp8kit.fp8_linear(X, qt, st)
    assert rel_error(Yt, expected_block(X, qt, st.reshape(1, 1).expand(3, 1))) <= 1e-4
    q64, s64 = block_weight(gen, 300, 100, (64, 64))
    assert rel_error(fp8kit.fp8_linear(X, q64, s64, block_size=(64, 64)),
                     expected_block(X, q64, s64, block=(64, 64))) <= 1e-4
    with pytest.raises(ValueError, match=r"weight_scale: shape \[1, 3\] fits neither the block grid \[3, 1\]"):
        fp8kit.fp8_linear(X, q, s.t())
    with pytest.raises(ValueError, match="X and weight"):
        fp8kit.fp8_linear(X[:, :99], q, s)


def test_scale_ub_bounds_the_row_path_activations(gen):
    X = torch.randn(4, 128, generator=gen)
    X[0, 0] = 1e4  # an outlier token
    qr, sr = fp8kit.quantize_fp8_per_row(torch.randn(64, 128, generator=gen))
    bounded = fp8kit.fp8_linear(X, qr, sr, scale_ub=10.0)
    Xq, Xs = R.quantize_fp8_per_row(X, 10.0)
    exact = R.fp8_rowwise_matmul(Xq, qr, Xs, sr, None, torch.float64, compute_dtype=torch.float64)
    assert rel_error(bounded, exact) <= 1e-4
    assert not torch.equal(bounded[0], fp8kit.fp8_linear(X, qr, sr)[0])
    assert torch.equal(bounded[1:], fp8kit.fp8_linear(X, qr, sr)[1:])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("kind", ["block", "row", "tensor"])
def test_backward_is_dy_times_dequantized_weight(gen, dtype, kind):
    n, k = 192, 200
    w = torch.randn(n, k, generator=gen)
    if kind == "block":
        q, s = fp8kit.weight_quant(w)
    elif kind == "row":
        q, s = fp8kit.quantize_fp8_per_row(w)
    else:
        q, s = fp8kit.quantize_fp8_per_tensor(w)
    X = torch.randn(2, 3, k, generator=gen).to(dtype).requires_grad_()
    bias = torch.randn(n, generator=gen).requires_grad_()
    Y = fp8kit.fp8_linear(X, q, s, bias)
    dY = torch.randn(Y.shape, generator=gen).to(dtype)
    dY[0, 1] = 0.0  # an all-zero dY row (LoRA masks): must stay finite and zero
    Y.backward(dY)
    W = fp8kit.weight_dequant(q, s, dtype)
    assert torch.equal(X.grad, dY @ W), "grad_X = dY @ dequant(W) in dY's dtype"
    assert torch.all(X.grad[0, 1] == 0) and torch.isfinite(X.grad).all()
    assert torch.allclose(bias.grad, dY.float().sum((0, 1)), rtol=1e-2, atol=1e-2)
    # the same gradient as a dequantized linear layer gives (a gradcheck-style comparison)
    X2 = X.detach().clone().requires_grad_()
    F.linear(X2, W).backward(dY)
    assert torch.equal(X.grad, X2.grad)
    assert not q.requires_grad and q.grad is None and s.grad is None


@pytest.mark.parametrize("kind", ["block", "row"])
def test_inference_path_equals_the_autograd_path(gen, kind):
    w = torch.randn(130, 300, generator=gen)
    q, s = fp8kit.weight_quant(w) if kind == "block" else fp8kit.quantize_fp8_per_row(w)
    bias = torch.randn(130, generator=gen)
    X = hostile((2, 5, 300), torch.bfloat16, gen, huge=False)
    with torch.no_grad():
        inference = fp8kit.fp8_linear(X, q, s, bias)
    training = fp8kit.fp8_linear(X.clone().requires_grad_(), q, s, bias)
    assert training.requires_grad and not inference.requires_grad
    assert torch.equal(training, inference)


def test_scale_parameters_that_require_grad_get_none(gen):
    """transformers registers float32 weight_scale_inv as a Parameter requiring grad."""
    q, s = block_weight(gen, 128, 256)
    scale = torch.nn.Parameter(s)
    X = torch.randn(3, 256, generator=gen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = fp8kit.fp8_linear(X, q, scale)
        Y.sum().backward()
    assert scale.grad is None


def test_backward_without_bias_and_with_frozen_bias(gen):
    q, s = block_weight(gen, 128, 256)
    X = torch.randn(4, 256, generator=gen, requires_grad=True)
    bias = torch.randn(128, generator=gen)
    fp8kit.FP8BlockQuantLinear.apply(X, q, s, bias).sum().backward()
    expected = fp8kit.weight_dequant(q, s, torch.float32).sum(0).expand(4, -1)
    assert torch.allclose(X.grad, expected, rtol=1e-5, atol=1e-4)


def test_seed_block_size_attribute_is_honoured(gen):
    q, s = block_weight(gen, 128, 128, (64, 64))
    q.block_size = [64, 64]
    X = torch.randn(2, 128, generator=gen)
    Y = fp8kit.FP8BlockQuantLinear.apply(X, q, s)
    assert rel_error(Y, expected_block(X, q, s, block=(64, 64))) <= 1e-4


def test_fp8linear_module(gen):
    linear = torch.nn.Linear(300, 200, dtype=torch.float32)
    X = torch.randn(2, 5, 300, generator=gen).to(torch.bfloat16)
    for block in (128, (64, 128), None):
        module = fp8kit.FP8Linear.from_linear(linear, block)
        names = dict(module.named_parameters())
        scale_name = "weight_scale" if block is None else "weight_scale_inv"
        assert set(names) == {"weight", scale_name, "bias"}
        assert names["weight"].dtype == torch.float8_e4m3fn and not names["weight"].requires_grad
        Y = module(X)
        dense = F.linear(X.float(), linear.weight, linear.bias)
        assert Y.dtype == torch.bfloat16 and rel_error(Y, dense) < 0.08, block
        assert rel_error(module.dequantized_weight(torch.float32), linear.weight) < 0.05
        fresh = fp8kit.FP8Linear(300, 200, block_size=block)
        fresh.load_state_dict(module.state_dict())
        assert torch.equal(fresh(X), Y)
    assert "block_size=(64, 128)" in repr(fp8kit.FP8Linear(300, 200, block_size=(64, 128)))


def test_fp8linear_checkpoint_loading(gen):
    q, s = fp8kit.weight_quant(torch.randn(200, 300, generator=gen), scale_format="ue8m0")
    module = fp8kit.FP8Linear(300, 200, bias=False)
    for stored in (R.encode_ue8m0(s), R.encode_ue8m0(s).view(torch.float8_e8m0fnu), s.to(torch.bfloat16)):
        module.load_state_dict({"weight": q, "weight_scale_inv": stored})
        assert torch.equal(module.weight_scale_inv, s) and module.weight_scale_inv.dtype == torch.float32
    module.load_state_dict({"weight": q, "weight_scale_inv": torch.tensor(0.5)})  # per-tensor checkpoint
    assert torch.all(module.weight_scale_inv == 0.5)
    with pytest.raises(RuntimeError, match="Missing key.*weight_scale_inv"):
        module.load_state_dict({"weight": q})
    row = fp8kit.FP8Linear(300, 200, bias=True, block_size=None)
    qr, sr = fp8kit.quantize_fp8_per_row(torch.randn(200, 300, generator=gen))
    row.load_state_dict({"weight": qr, "weight_scale": sr.unsqueeze(1), "bias": torch.zeros(200)})
    assert torch.equal(row.weight_scale, sr.unsqueeze(1))


def test_linear_bad_arguments(gen):
    q, s = block_weight(gen, 128, 256)
    X = torch.randn(2, 256)
    with pytest.raises(TypeError, match="X: dtype int64"):
        fp8kit.fp8_linear(X.long(), q, s)
    with pytest.raises(TypeError, match="weight: dtype float32"):
        fp8kit.FP8BlockQuantLinear.apply(X, q.float(), s)
    with pytest.raises(ValueError, match=r"bias: expected shape \[128\]"):
        fp8kit.fp8_linear(X, q, s, torch.zeros(3))
    with pytest.raises(ValueError, match="X is on meta but weight is on cpu|weight is on cpu but X is on meta"):
        fp8kit.fp8_linear(X.to("meta"), q, s)
    with pytest.raises(ValueError, match="block grid"):
        fp8kit.FP8BlockQuantLinear.apply(X, q, s, None, (64, 64))
    with pytest.raises(ValueError, match="row scales"):
        fp8kit.FP8RowQuantLinear.apply(X, q, s)
    with pytest.raises(TypeError, match="linear: expected an nn.Linear"):
        fp8kit.FP8Linear.from_linear(torch.nn.Conv1d(1, 1, 1))
