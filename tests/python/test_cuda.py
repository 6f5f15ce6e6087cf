"""The torch layer on CUDA: every op against the C++ CPU backend, CUDA-graph capture, torch.compile,
the caller's stream, a second device, autograd. Skips (saying why) without a GPU, without CUDA in the
build, or while a CUDA kernel has not landed ("not implemented yet" from the library)."""

from __future__ import annotations

import contextlib

import pytest

torch = pytest.importorskip("torch")

import fp8kit  # noqa: E402
from fp8kit import reference as R  # noqa: E402
from fp8kit._ops import group_scale_buffer  # noqa: E402
from helpers import GEMM_TOL_TENSOR_CORE as GEMM_TOL, assert_same_bits, hostile, poisoned, rel_error  # noqa: E402

if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)", allow_module_level=True)
if not fp8kit.capabilities()["cuda_compiled"]:
    pytest.skip(f"fp8kit was built without CUDA: {fp8kit.capabilities()['cuda_status']}", allow_module_level=True)

CUDA = torch.device("cuda", 0)


@contextlib.contextmanager
def landed():
    """Skips the test when the library says a CUDA kernel is not implemented yet."""
    try:
        yield
    except ValueError as error:
        if "not implemented yet" in str(error):
            pytest.skip(f"CUDA kernel not landed: {error}")
        raise


def on(device, *tensors):
    return [t.to(device) for t in tensors]


QUANT_CASES = {
    "act_quant": lambda x: fp8kit.act_quant(x),
    "act_quant_ue8m0_colmajor": lambda x: fp8kit.act_quant(x, 64, scale_format="ue8m0", column_major_scales=True),
    "act_quant_e8m0_bytes": lambda x: fp8kit.act_quant(x, scale_format="ue8m0", scale_dtype=torch.float8_e8m0fnu),
    "per_row": lambda x: fp8kit.quantize_fp8_per_row(x, 100.0),
    "per_row_e5m2": lambda x: fp8kit.quantize_fp8_per_row(x, output_dtype=torch.float8_e5m2),
    "per_tensor": lambda x: fp8kit.quantize_fp8_per_tensor(x),
    "weight_quant": lambda x: fp8kit.weight_quant(x.reshape(-1, x.shape[-1])),
    "weight_quant_rect": lambda x: fp8kit.weight_quant(x.reshape(-1, x.shape[-1]), (64, 128)),
}


@pytest.mark.parametrize("case", sorted(QUANT_CASES))
@pytest.mark.parametrize("shape", [(1, 7168), (3, 129, 300), (257, 1000)])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_quantization_matches_cpu_backend(gen, case, shape, dtype):
    x = hostile(shape, dtype, gen)
    with landed():
        got = QUANT_CASES[case](x.to(CUDA))
    want = QUANT_CASES[case](x)
    for g, w in zip(got, want):
        assert g.device == CUDA and g.stride() == w.stride()
        assert_same_bits(g, w, case)


def test_act_quant_out_matches_cpu_backend_and_refuses_a_device_mix(gen):
    x = hostile((5, 1000), torch.bfloat16, gen)
    want = fp8kit.act_quant(x)
    q, s = poisoned((5, 1000), torch.float8_e4m3fn, device=CUDA), poisoned((5, 8), torch.float32, device=CUDA)
    with landed():
        fp8kit.act_quant(x.to(CUDA), out=(q, s))
    assert_same_bits(q, want[0], "q")
    assert_same_bits(s, want[1], "s")
    with pytest.raises(ValueError, match=r"out\[1\] is on cpu but x is on cuda:0"):
        fp8kit.act_quant(x.to(CUDA), out=(q, torch.empty(5, 8)))


def test_silu_mul_act_quant_matches_cpu_backend(gen):
    gate_up = (torch.randn(37, 2 * 1000, generator=gen) * 4).to(torch.bfloat16)
    with landed():
        got = fp8kit.silu_mul_act_quant(gate_up.to(CUDA), column_major_scales=True)
    for g, w in zip(got, fp8kit.silu_mul_act_quant(gate_up, column_major_scales=True)):
        assert_same_bits(g, w)


def test_non_contiguous_and_nonfinite_inputs(gen):
    base = hostile((64, 1024), torch.bfloat16, gen)
    base[3, 7] = float("nan")
    base[5, 900] = float("inf")
    for x in (base.to(CUDA)[:, 100:700], base.to(CUDA).t(), base.to(CUDA)[::3]):
        with landed():
            got = fp8kit.act_quant(x)
        for g, w in zip(got, fp8kit.act_quant(x.cpu())):
            assert_same_bits(g, w)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_dequantization_matches_cpu_backend(gen, dtype):
    w = hostile((300, 520), gen=gen)
    qb, sb = fp8kit.weight_quant(w)
    qr, sr = fp8kit.quantize_fp8_per_row(w)
    qt, st = fp8kit.quantize_fp8_per_tensor(w)
    e8 = R.encode_ue8m0(fp8kit.weight_quant(w, (64, 128), scale_format="ue8m0")[1]).view(torch.float8_e8m0fnu)
    cases = [
        lambda q, s, *_: fp8kit.weight_dequant(q, s, dtype),
        lambda q, s, *_: fp8kit.weight_dequant(q.t(), s, dtype, transposed=True),
    ]
    for q, s in ((qb, sb), (qr, sr), (qr, sr.unsqueeze(1)), (qt, st)):
        for fn in cases:
            with landed():
                got = fn(*on(CUDA, q, s))
            assert_same_bits(got, fn(q, s))
    with landed():
        got = fp8kit.weight_dequant_block(*on(CUDA, qb, e8), (64, 128), dtype)
    assert_same_bits(got, fp8kit.weight_dequant_block(qb, e8, (64, 128), dtype))


def column_major_copy(s):
    """s [M, G] in the M-major, TMA-padded layout act_quant(column_major_scales=True) produces."""
    out = group_scale_buffer(s.shape[:-1], s.shape[-1], s.dtype, True, s)
    out.copy_(s)
    return out


@pytest.mark.parametrize("m", [1, 4, 64, 129, 1024])
@pytest.mark.parametrize("n,k", [(512, 1536), (7168, 2048), (300, 1000), (2112, 7168)])
def test_block_gemm_against_float64(gen, m, n, k):
    A, As = fp8kit.act_quant(hostile((m, k), torch.bfloat16, gen, huge=False, zero_rows=False))
    B, Bs = fp8kit.weight_quant(torch.randn(n, k, generator=gen))
    A, As, B, Bs = on(CUDA, A, As, B, Bs)
    bias = torch.randn(n, generator=gen).to(CUDA)
    exact = R.w8a8_block_fp8_matmul(A, B, As, Bs, bias=bias, output_dtype=torch.float64,
                                    compute_dtype=torch.float64)
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        for scales in (As, column_major_copy(As)):
            with landed():
                got = fp8kit.w8a8_block_fp8_matmul(A, B, scales, Bs, output_dtype=dtype, bias=bias)
            assert got.device == CUDA and got.dtype == dtype
            assert rel_error(got, exact) <= GEMM_TOL[dtype], (dtype, scales.stride())


def test_block_gemm_agrees_with_cpu_backend(gen):
    A, As = fp8kit.act_quant(torch.randn(3, 17, 1000, generator=gen))
    B, Bs = fp8kit.weight_quant(torch.randn(300, 1000, generator=gen))
    want = fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs, output_dtype=torch.float32)
    with landed():
        got = fp8kit.w8a8_block_fp8_matmul(*on(CUDA, A, B, As, Bs), output_dtype=torch.float32)
    assert rel_error(got, want.double()) <= GEMM_TOL[torch.float32]


@pytest.mark.parametrize("m", [1, 33, 512])
def test_rowwise_gemm_against_float64(gen, m):
    A, As = fp8kit.quantize_fp8_per_row(torch.randn(m, 4096, generator=gen))
    B, Bs = fp8kit.quantize_fp8_per_row(torch.randn(1024, 4096, generator=gen))
    bias = torch.randn(1024, generator=gen).to(torch.bfloat16)
    exact = R.fp8_rowwise_matmul(A, B, As, Bs, bias, torch.float64, compute_dtype=torch.float64)
    with landed():
        got = fp8kit.fp8_rowwise_matmul(*on(CUDA, A, B, As, Bs, bias))
    assert rel_error(got, exact) <= GEMM_TOL[torch.bfloat16]


def linear_setup(gen, device=CUDA, n=1024, k=2048):
    wq, ws = fp8kit.weight_quant(torch.randn(n, k, generator=gen))
    bias = torch.randn(n, generator=gen)
    return on(device, wq, ws, bias)


def test_fp8_linear_under_cuda_graph_capture(gen):
    wq, ws, bias = linear_setup(gen)
    static_x = torch.randn(8, 2048, generator=gen).to(CUDA, torch.bfloat16)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), landed():
        for _ in range(2):  # warm-up outside capture, as the CUDA-graph docs ask
            fp8kit.fp8_linear(static_x, wq, ws, bias)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_y = fp8kit.fp8_linear(static_x, wq, ws, bias)
        static_q, static_s = fp8kit.act_quant(static_x, column_major_scales=True)
    for _ in range(3):
        new_x = torch.randn(8, 2048, generator=gen).to(CUDA, torch.bfloat16)
        static_x.copy_(new_x)
        graph.replay()
        torch.cuda.synchronize()
        assert torch.equal(static_y, fp8kit.fp8_linear(new_x, wq, ws, bias))
        q, s = fp8kit.act_quant(new_x, column_major_scales=True)
        assert_same_bits(static_q, q)
        assert_same_bits(static_s, s)


@pytest.mark.parametrize("mode", [None, "reduce-overhead"])
def test_torch_compile_fullgraph_on_cuda(gen, mode):
    torch._dynamo.reset()
    model = torch.nn.Sequential(fp8kit.FP8Linear.from_linear(torch.nn.Linear(2048, 1024)), torch.nn.SiLU(),
                                fp8kit.FP8Linear.from_linear(torch.nn.Linear(1024, 512), None)).to(CUDA)
    x = torch.randn(16, 2048, generator=gen).to(CUDA, torch.bfloat16)
    with landed():
        eager = model(x)
    compiled = torch.compile(model, fullgraph=True, mode=mode)
    for _ in range(3):
        out = compiled(x)
    assert torch.allclose(out.float(), eager.float(), rtol=2e-2, atol=2e-2)


def test_runs_on_the_callers_stream(gen):
    wq, ws, bias = linear_setup(gen)
    x = torch.zeros(4, 2048, device=CUDA, dtype=torch.bfloat16)
    new_x = torch.randn(4, 2048, generator=gen).to(CUDA, torch.bfloat16)
    with landed():
        expected = fp8kit.fp8_linear(new_x, wq, ws, bias)
    stream = torch.cuda.Stream()
    torch.cuda.synchronize()
    with torch.cuda.stream(stream):
        torch.cuda._sleep(100_000_000)  # the copy below lands long after a launch on any other stream
        x.copy_(new_x)
        y = fp8kit.fp8_linear(x, wq, ws, bias)
    stream.synchronize()
    assert torch.equal(y, expected)


def test_weight_rewritten_just_before_the_linear_is_read_new(gen):
    """The fused linear ops let the Hopper GEMM load the weight before the kernel ahead completes
    (GemmOptions::constant_b); a weight written by the kernels just before the op, on the same stream and
    with no sync, must still be read new. The weight is rewritten by a torch copy or by fp8kit's own block
    quantization right before each call."""
    wq, ws, bias = linear_setup(gen, n=7168, k=2048)
    x = torch.randn(64, 2048, generator=gen).to(CUDA, torch.bfloat16)
    with landed():
        for step in range(3):
            w_new = torch.randn(7168, 2048, generator=gen).to(CUDA, torch.bfloat16)
            wq_new, ws_new = fp8kit.weight_quant(w_new)
            torch.cuda.synchronize()
            expected = fp8kit.fp8_linear(x, wq_new, ws_new, bias)
            torch.cuda.synchronize()
            if step % 2 == 0:
                wq.copy_(wq_new)
                ws.copy_(ws_new)
            else:
                wq, ws = fp8kit.weight_quant(w_new)  # the kernels just ahead of the op
            y = fp8kit.fp8_linear(x, wq, ws, bias)
            torch.cuda.synchronize()
            assert torch.equal(y, expected), f"step {step}"


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs a second CUDA GPU")
def test_tensors_on_a_second_device(gen):
    dev = torch.device("cuda", 1)
    wq, ws, bias = linear_setup(gen, dev)
    x = torch.randn(5, 2048, generator=gen).to(torch.bfloat16)
    torch.cuda.set_device(0)
    with landed():
        y = fp8kit.fp8_linear(x.to(dev), wq, ws, bias)
        q, s = fp8kit.act_quant(x.to(dev))
    assert y.device == dev and q.device == dev
    torch.cuda.synchronize(dev)
    assert rel_error(y, fp8kit.fp8_linear(x, wq.cpu(), ws.cpu(), bias.cpu())) <= GEMM_TOL[torch.bfloat16]
    for g, w in zip((q, s), fp8kit.act_quant(x)):
        assert_same_bits(g, w)


def test_autograd_on_cuda(gen):
    wq, ws, bias = linear_setup(gen)
    x = torch.randn(2, 3, 2048, generator=gen).to(CUDA, torch.bfloat16).requires_grad_()
    dy = torch.randn(2, 3, 1024, generator=gen).to(CUDA, torch.bfloat16)
    dy[1] = 0.0
    with landed():
        fp8kit.FP8BlockQuantLinear.apply(x, wq, ws, bias).backward(dy)
        w = fp8kit.weight_dequant(wq, ws, torch.bfloat16)
    assert torch.equal(x.grad, dy @ w) and torch.all(x.grad[1] == 0)


def test_device_mix_is_a_value_error(gen):
    wq, ws, bias = linear_setup(gen)
    with pytest.raises(ValueError, match="on cpu"):
        fp8kit.fp8_linear(torch.randn(2, 2048).to(torch.bfloat16), wq, ws, bias)
    with pytest.raises(ValueError, match="bias is on cpu"):
        fp8kit.fp8_linear(torch.randn(2, 2048, device=CUDA), wq, ws, bias.cpu())
