"""Every fp8kit torch op under torch.compile(fullgraph=True), opcheck of the custom ops' schemas and fake
kernels, and a compiled FP8Linear model forward and backward (CPU)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import fp8kit  # noqa: E402
from helpers import assert_same_bits, hostile  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def compiled(fn, **kwargs):
    return torch.compile(fn, fullgraph=True, backend=kwargs.pop("backend", "aot_eager"), **kwargs)


def assert_same_outputs(a, b):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    for x, y in zip(a, b):
        assert x.stride() == y.stride() or x.numel() <= 1, (x.stride(), y.stride())
        assert_same_bits(x, y)


def test_each_op_compiles_without_graph_breaks(gen):
    x = hostile((3, 5, 300), torch.bfloat16, gen, huge=False)
    w = torch.randn(200, 300, generator=gen)
    wq, ws = fp8kit.weight_quant(w)
    xq, xs = fp8kit.act_quant(x)
    rq, rs = fp8kit.quantize_fp8_per_row(w)
    bias = torch.randn(200, generator=gen)
    cases = [
        lambda: fp8kit.act_quant(x),
        lambda: fp8kit.act_quant(x, 64, scale_format="ue8m0", column_major_scales=True),
        lambda: fp8kit.act_quant(x, scale_format="ue8m0", scale_dtype=torch.float8_e8m0fnu),
        lambda: fp8kit.silu_mul_act_quant(x[..., :256]),
        lambda: fp8kit.quantize_fp8_per_row(x, 2.0),
        lambda: fp8kit.quantize_fp8_per_tensor(x),
        lambda: fp8kit.weight_quant(w, (64, 128)),
        lambda: fp8kit.weight_dequant(wq, ws),
        lambda: fp8kit.weight_dequant(wq.t(), ws, torch.float32, transposed=True),
        lambda: fp8kit.weight_dequant(rq, rs),
        lambda: fp8kit.weight_dequant_block(wq, ws, 128, torch.float16),
        lambda: fp8kit.w8a8_block_fp8_matmul(xq, wq, xs, ws, bias=bias),
        lambda: fp8kit.fp8_rowwise_matmul(xq, rq, torch.ones(15), rs, bias),
        lambda: fp8kit.fp8_linear(x, wq, ws, bias),
        lambda: fp8kit.fp8_linear(x, rq, rs, bias, scale_ub=100.0),
    ]
    for i, case in enumerate(cases):
        torch._dynamo.reset()
        assert_same_outputs(compiled(case)(), case())


def test_fp8_linear_forward_and_backward_under_inductor(gen):
    wq, ws = fp8kit.weight_quant(torch.randn(256, 200, generator=gen))
    bias = torch.randn(256, generator=gen, requires_grad=True)

    def f(x):
        return fp8kit.fp8_linear(x, wq, ws, bias)

    x = torch.randn(2, 7, 200, generator=gen).to(torch.bfloat16).requires_grad_()
    dy = torch.randn(2, 7, 256, generator=gen).to(torch.bfloat16)
    out = f(x)
    out.backward(dy)
    gx, gb = x.grad.clone(), bias.grad.clone()
    x.grad = bias.grad = None
    compiled_out = compiled(f, backend="inductor")(x)
    compiled_out.backward(dy)
    assert torch.equal(compiled_out, out)
    assert torch.allclose(x.grad, gx, rtol=1e-2, atol=1e-2) and torch.allclose(bias.grad, gb, rtol=1e-3, atol=1e-3)


def test_direct_calls_only_for_plain_eager_tensors(gen):
    """Meta tensors, fake tensors and dispatch modes take the dispatcher path (fake kernels, mode hooks)."""
    q, s = fp8kit.act_quant(torch.empty(4, 300, device="meta"), column_major_scales=True)
    assert q.device.type == "meta" and s.shape == (4, 3) and s.stride() == (1, 4)
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils._python_dispatch import TorchDispatchMode

    with FakeTensorMode() as mode:
        y = fp8kit.fp8_linear(mode.from_tensor(torch.randn(2, 300)), *fp8kit.weight_quant(torch.randn(64, 300)))
    assert y.shape == (2, 64)

    class Recorder(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.append(str(func))
            return func(*args, **(kwargs or {}))

    x = torch.randn(3, 300, generator=gen)
    with Recorder() as recorder:
        q, s = fp8kit.act_quant(x)
    assert "fp8kit.quantize_group.default" in recorder.seen
    assert_same_bits(q, fp8kit.act_quant(x)[0])


def test_dynamic_shapes(gen):
    f = compiled(lambda x: fp8kit.act_quant(x, column_major_scales=True), dynamic=True)
    for m in (3, 17, 64):
        x = torch.randn(m, 300, generator=gen)
        assert_same_outputs(f(x), fp8kit.act_quant(x, column_major_scales=True))


def test_act_quant_out_compiles_as_a_mutating_op(gen):
    x = hostile((3, 300), torch.bfloat16, gen)
    want = fp8kit.act_quant(x)

    def f(x):
        q = torch.empty(3, 300, dtype=torch.float8_e4m3fn)
        s = torch.empty(3, 3)
        fp8kit.act_quant(x, out=(q, s))
        return q, s

    assert_same_outputs(compiled(f)(x), want)
    q, s = torch.empty_like(want[0]), torch.empty_like(want[1])
    compiled(lambda x, q, s: fp8kit.act_quant(x, out=(q, s)))(x, q, s)
    assert_same_outputs((q, s), want)


def test_compiled_fp8linear_model(gen):
    # ReLU between the layers, not GELU: inductor may compute GELU a last bit differently from eager
    # (its own erf), and the second layer's FP8 rounding turns such a bit into an output difference far
    # above the tolerance (a fresh CI run failed that way). ReLU is exact everywhere, so compiled and eager
    # must agree up to the ops' own determinism.
    model = torch.nn.Sequential(
        fp8kit.FP8Linear.from_linear(torch.nn.Linear(200, 300)),
        torch.nn.ReLU(),
        fp8kit.FP8Linear.from_linear(torch.nn.Linear(300, 100), None),
    )
    x = torch.randn(4, 200, generator=gen, requires_grad=True)
    model(x).sum().backward()
    expected = x.grad.clone()
    x.grad = None
    out = compiled(model, backend="inductor")(x)
    out.sum().backward()
    assert torch.allclose(out, model(x), rtol=1e-5, atol=1e-5)
    assert torch.allclose(x.grad, expected, rtol=1e-4, atol=1e-4)


def test_opcheck_schemas_and_fake_kernels(gen):
    x = torch.randn(6, 300, generator=gen)
    xq, xs = fp8kit.act_quant(x)
    wq, ws = fp8kit.weight_quant(torch.randn(130, 300, generator=gen))
    ops = torch.ops.fp8kit
    samples = [
        (ops.quantize_group, (x, 128, False, True, torch.float8_e4m3fn, torch.float32, 0.0)),
        (ops.quantize_group_into, (x, 128, False, 0.0, torch.empty_like(xq), torch.empty_like(xs))),
        (ops.quantize_row, (x, 0.0, torch.float8_e5m2)),
        (ops.quantize_tensor, (x, 0.0, torch.float8_e4m3fn)),
        (ops.quantize_block, (x, 64, 128, True, torch.float8_e4m3fn, torch.float8_e8m0fnu)),
        (ops.silu_mul_quantize, (x.bfloat16(), 64, False, False, torch.float32)),
        (ops.dequantize, (wq, ws, "block", 128, 128, torch.bfloat16)),
        (ops.gemm_block, (xq, wq, xs, ws, None, 128, 128, torch.bfloat16)),
        (ops.gemm_row, (xq, wq, torch.ones(6), torch.ones(130), torch.zeros(130), torch.float32)),
        (ops.linear_block, (x.reshape(2, 3, 300), wq, ws, torch.zeros(130), 128, 128, 0.0)),
        (ops.linear_row, (x, wq, torch.ones(130, 1), None, 10.0)),
    ]
    for op, args in samples:
        # test_schema compares inputs with arithmetic torch lacks for float8 on the CPU: run it where none is
        has_fp8 = any(isinstance(a, torch.Tensor) and a.element_size() == 1 for a in args)
        utils = ("test_faketensor", "test_aot_dispatch_dynamic") + (() if has_fp8 else ("test_schema",))
        torch.library.opcheck(op, args, test_utils=utils)
