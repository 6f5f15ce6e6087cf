"""fp8kit's torch ops beside the pure-PyTorch reference (fp8kit.reference) and, for the GEMMs,
torch._scaled_mm with block / row scales where this torch supports them; plus the Python-side
overhead per call for decode-sized inputs.

    python benchmarks/python/bench_ops.py                 # on cuda:0 when there is a GPU, else the CPU
    python benchmarks/python/bench_ops.py --device cpu --quick
    python benchmarks/python/bench_ops.py --json out.json --only overhead

Times are per call: CUDA events around back-to-back calls on the card (warm L2 for shapes that fit),
the best of several repeats on the CPU. Every contender's result is checked against fp8kit's before it
is timed (relative Frobenius error printed), so the table compares the same computation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import contextmanager
from unittest import mock

import torch

import fp8kit
from fp8kit import _ops
from fp8kit import reference as R

GEMM_SHAPES = [(7168, 16384), (4096, 7168), (2112, 7168), (24576, 1536), (32768, 512), (7168, 2048)]


def timer(device: torch.device, warmup: int, iters: int):
    if device.type == "cuda":

        def run(fn):
            for _ in range(warmup):
                fn()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            samples = []
            for _ in range(3):
                start.record()
                for _ in range(iters):
                    fn()
                end.record()
                end.synchronize()
                samples.append(start.elapsed_time(end) * 1e3 / iters)
            return statistics.median(samples)

    else:

        def run(fn):
            for _ in range(warmup):
                fn()
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(iters):
                    fn()
                best = min(best, (time.perf_counter() - t0) * 1e6 / iters)
            return best

    return run


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def row(name, ours, contenders, extra=""):
    parts = [f"{name:44s} fp8kit {ours:10.1f} us"]
    for label, t, err in contenders:
        if t is None:
            parts.append(f"{label} n/a ({err})")
        else:
            parts.append(f"{label} {t:10.1f} us (fp8kit speedup x{t / ours:5.2f}, rel.err {err:.1e})")
    print("  ".join(parts) + (f"  {extra}" if extra else ""), flush=True)


def bench_quantization(dev, run, quick, results):
    m, k = (256, 7168) if quick else (16384, 7168)
    x = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
    n, kw = (1024, 2048) if quick else (7168, 18432)
    w = torch.randn(n, kw, device=dev, dtype=torch.bfloat16)
    wq, ws = fp8kit.weight_quant(w)
    cases = [
        (f"act_quant 1x128 {m}x{k} bf16", lambda: fp8kit.act_quant(x), lambda: R.act_quant(x), 3 * x.numel()),
        (f"act_quant ue8m0 col-major {m}x{k}", lambda: fp8kit.act_quant(x, scale_format="ue8m0", column_major_scales=True),
         lambda: R.act_quant(x, scale_format="ue8m0"), 3 * x.numel()),
        (f"quantize_fp8_per_row {m}x{k}", lambda: fp8kit.quantize_fp8_per_row(x),
         lambda: R.quantize_fp8_per_row(x), 3 * x.numel()),
        (f"weight_quant 128x128 {n}x{kw}", lambda: fp8kit.weight_quant(w), lambda: R.weight_quant(w), 3 * w.numel()),
        (f"weight_dequant 128x128 {n}x{kw} -> bf16", lambda: fp8kit.weight_dequant(wq, ws),
         lambda: R.weight_dequant(wq, ws), 3 * w.numel()),
    ]
    for name, ours, ref, nbytes in cases:
        try:
            t_ours = run(ours)
        except ValueError as error:
            print(f"{name:44s} fp8kit refused: {error}", flush=True)
            continue
        a, b = ours(), ref()
        a, b = (a, b) if isinstance(a, torch.Tensor) else (a[0].float(), b[0].float())
        t_ref = run(ref)
        row(name, t_ours, [("torch-ref", t_ref, rel(a.float(), b.float()))],
            f"{nbytes / t_ours / 1e3:8.1f} GB/s")
        results.append({"op": name, "fp8kit_us": t_ours, "reference_us": t_ref, "gb_per_s": nbytes / t_ours / 1e3})


def scaled_mm_block(A, B, As, Bs, out_dtype):
    """torch._scaled_mm with (1x128, 128x128) block scales; None and the reason where unsupported."""
    if not hasattr(torch, "_scaled_mm"):
        return None, "torch has no _scaled_mm"
    if A.device.type != "cuda":
        return None, "CUDA only"
    errors = []
    layouts = [
        ("As M-major, Bs^T", lambda: As.t().contiguous().t(), lambda: Bs.t()),
        ("As M-major, Bs^T contiguous", lambda: As.t().contiguous().t(), lambda: Bs.t().contiguous()),
        ("As row-major, Bs^T contiguous", lambda: As.contiguous(), lambda: Bs.t().contiguous()),
    ]
    for label, sa, sb in layouts:
        try:
            a_s, b_s = sa(), sb()
            out = torch._scaled_mm(A, B.t(), a_s, b_s, out_dtype=out_dtype)
            return (lambda: torch._scaled_mm(A, B.t(), a_s, b_s, out_dtype=out_dtype)), out
        except (RuntimeError, ValueError) as error:
            errors.append(f"{label}: {str(error).splitlines()[0][:90]}")
    return None, "; ".join(errors)


def bench_gemm(dev, run, quick, results):
    shapes = [(64, 512, 1024), (128, 1024, 2048)] if quick else [
        (m, n, k) for m in (64, 128, 4096) for n, k in GEMM_SHAPES]
    for m, n, k in shapes:
        x = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        A, As = fp8kit.act_quant(x)
        _, As_mmajor = fp8kit.act_quant(x, column_major_scales=True)  # the layout Hopper loads by TMA
        B, Bs = fp8kit.weight_quant(torch.randn(n, k, device=dev, dtype=torch.bfloat16))
        name = f"block GEMM M={m} N={n} K={k}"
        try:
            ours = fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs)
            backend = fp8kit._C.choose_gemm_backend(_ops._desc(A), _ops._desc(B), _ops._desc(As), _ops._desc(Bs),
                                                    _ops._desc(ours))
            t_ours = run(lambda: fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs))
        except ValueError as error:
            print(f"{name:44s} fp8kit refused: {str(error).splitlines()[0]}", flush=True)
            continue
        mmajor = lambda: fp8kit.w8a8_block_fp8_matmul(A, B, As_mmajor, Bs)  # noqa: E731
        contenders = [("fp8kit M-major As", run(mmajor), rel(mmajor(), ours))]
        ref = lambda: R.w8a8_block_fp8_matmul(A, B, As, Bs, compute_dtype=torch.bfloat16)  # noqa: E731
        contenders.append(("torch-ref(dequant+bf16 mm)", run(ref), rel(ref(), ours)))
        fn, out = scaled_mm_block(A, B, As, Bs, torch.bfloat16)
        contenders.append(("_scaled_mm", run(fn) if fn else None, rel(out, ours) if fn else out))
        tflops = 2 * m * n * k / t_ours / 1e6
        row(name, t_ours, contenders, f"{tflops:7.1f} TFLOP/s [{backend}]")
        results.append({"op": name, "fp8kit_us": t_ours, "backend": backend, "tflops": tflops,
                        **{f"{c[0]}_us": c[1] for c in contenders}})

    m, n, k = (64, 512, 1024) if quick else (4096, 4096, 7168)
    A, As = fp8kit.quantize_fp8_per_row(torch.randn(m, k, device=dev, dtype=torch.bfloat16))
    B, Bs = fp8kit.quantize_fp8_per_row(torch.randn(n, k, device=dev, dtype=torch.bfloat16))
    name = f"row GEMM M={m} N={n} K={k}"
    try:
        ours = fp8kit.fp8_rowwise_matmul(A, B, As, Bs)
        t_ours = run(lambda: fp8kit.fp8_rowwise_matmul(A, B, As, Bs))
    except ValueError as error:
        print(f"{name:44s} fp8kit refused: {str(error).splitlines()[0]}", flush=True)
        return
    ref = lambda: R.fp8_rowwise_matmul(A, B, As, Bs, compute_dtype=torch.bfloat16)  # noqa: E731
    contenders = [("torch-ref(dequant+bf16 mm)", run(ref), rel(ref(), ours))]
    try:
        if dev.type != "cuda":
            raise RuntimeError("CUDA only")
        a_s, b_s = As.reshape(m, 1).contiguous(), Bs.reshape(1, n).contiguous()
        sm = lambda: torch._scaled_mm(A, B.t(), a_s, b_s, out_dtype=torch.bfloat16)  # noqa: E731
        contenders.append(("_scaled_mm rowwise", run(sm), rel(sm(), ours)))
    except (RuntimeError, ValueError) as error:
        contenders.append(("_scaled_mm rowwise", None, str(error).splitlines()[0][:90]))
    row(name, t_ours, contenders, f"{2 * m * n * k / t_ours / 1e6:7.1f} TFLOP/s")
    results.append({"op": name, "fp8kit_us": t_ours})


def _accept(*args, **kwargs):
    return None


class _NativeStub:
    """Stands in for fp8kit._C: its entry points accept every call and do nothing (isolates the Python
    layer's cost; the real calls' argument parsing and validation count as native time)."""

    quantize = dequantize = gemm = silu_mul_quantize = silu_mul = staticmethod(_accept)


@contextmanager
def native_stubbed():
    with mock.patch.object(_ops, "_C", _NativeStub()):
        yield


def bench_overhead(dev, results):
    """Per-call cost of the Python layer for decode-sized inputs (M = 1)."""
    k, n = 7168, (256 if dev.type == "cpu" else 7168)
    x = torch.randn(1, k, device=dev, dtype=torch.bfloat16)
    wq, ws = fp8kit.weight_quant(torch.randn(n, k, device=dev, dtype=torch.bfloat16))
    xq, xs = fp8kit.act_quant(x)
    y = fp8kit.w8a8_block_fp8_matmul(xq, wq, xs, ws)
    d = {name: _ops._desc(t) for name, t in (("x", x), ("xq", xq), ("xs", xs), ("wq", wq), ("ws", ws), ("y", y))}
    stream = _ops._stream(x)
    x3 = x.view(1, 1, k)  # the [batch, seq, hidden] form transformers' layers pass
    cases = [
        ("act_quant", lambda: fp8kit.act_quant(x),
         lambda: fp8kit._C.quantize(d["x"], d["xq"], d["xs"], "group", 1, 128, False, 0.0, "auto", stream)),
        ("act_quant [1, 1, K]", lambda: fp8kit.act_quant(x3),
         lambda: fp8kit._C.quantize(d["x"], d["xq"], d["xs"], "group", 1, 128, False, 0.0, "auto", stream)),
        ("act_quant out=(q, s)", lambda: fp8kit.act_quant(x, out=(xq, xs)),
         lambda: fp8kit._C.quantize(d["x"], d["xq"], d["xs"], "group", 1, 128, False, 0.0, "auto", stream)),
        ("w8a8_block_fp8_matmul", lambda: fp8kit.w8a8_block_fp8_matmul(xq, wq, xs, ws),
         lambda: fp8kit._C.gemm(d["xq"], d["wq"], d["xs"], d["ws"], d["y"], None, "block", 128, 128, "auto", stream)),
        ("fp8_linear (act_quant + GEMM)", lambda: fp8kit.fp8_linear(x, wq, ws), None),
    ]
    print(f"\nPython-side overhead per call, decode-sized (x [1, {k}] bf16, weight [{n}, {k}]) on {dev}:")
    for name, public, native in cases:
        def loop(fn):
            for _ in range(5):
                fn()
            sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            iters = max(10, min(5000, int(0.05 / max(time.perf_counter() - t0, 1e-7))))
            best = float("inf")
            for _ in range(7):
                t0 = time.perf_counter()
                for _ in range(iters):
                    fn()
                sync()
                best = min(best, (time.perf_counter() - t0) * 1e6 / iters)
            return best

        def host_time(fn):
            """Median host time of one call on an idle queue: the time until it returns, kernel not included."""
            sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
            samples = []
            for _ in range(400):
                sync()
                t0 = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - t0) * 1e6)
            sync()
            return statistics.median(samples)

        try:
            t_public = loop(public)
        except ValueError as error:
            print(f"  {name:32s} refused: {str(error).splitlines()[0]}")
            continue
        t_native = loop(native) if native else None
        with native_stubbed():
            t_python = loop(public)
        h_public, h_native = host_time(public), (host_time(native) if native else None)
        line = f"  {name:32s} public call {t_public:9.2f} us"
        if t_native is not None:
            line += f"   native call (prebuilt args) {t_native:9.2f} us   difference {t_public - t_native:7.2f} us"
        line += f"   Python layer alone (native stubbed) {t_python:6.2f} us"
        line += f"   host time of one call: public {h_public:6.2f} us"
        if h_native is not None:
            line += f", native {h_native:6.2f} us"
        print(line, flush=True)
        results.append({"op": f"overhead {name}", "public_us": t_public, "native_us": t_native,
                        "python_layer_us": t_python, "public_host_us": h_public, "native_host_us": h_native})


def bench_overhead_steps(dev, results):
    """Each step of a decode-sized act_quant / fp8_linear call timed alone (host time, no launches but
    the native calls'), to show where the Python layer's microseconds go on this host."""
    from fp8kit import _checks, _backend, linear

    k, n = 7168, (256 if dev.type == "cpu" else 7168)
    x = torch.randn(1, k, device=dev, dtype=torch.bfloat16)
    wq, ws = fp8kit.weight_quant(torch.randn(n, k, device=dev, dtype=torch.bfloat16))
    xq, xs = fp8kit.act_quant(x)
    dx, dq, ds = _ops._desc(x), _ops._desc(xq), _ops._desc(xs)
    stream = _ops._stream(x)
    steps = [
        ("torch.empty(1, 7168, bf16)", lambda: torch.empty(1, k, dtype=torch.bfloat16, device=dev)),
        ("torch.empty_like(x, dtype=e4m3)", lambda: torch.empty_like(x, dtype=torch.float8_e4m3fn)),
        ("x.data_ptr()", lambda: x.data_ptr()),
        ("x.get_device()", lambda: x.get_device()),
        ("x.device == wq.device", lambda: x.device == wq.device),
        ("x.is_contiguous()", lambda: x.is_contiguous()),
        ("_ops._desc(x)", lambda: _ops._desc(x)),
        ("_ops._stream(x)", lambda: _ops._stream(x)),
        ("_ops._direct (eager check)", lambda: _ops._direct((x, 128), (0,))),
        ("torch.compiler.is_compiling()", lambda: torch.compiler.is_compiling()),
        ("torch.is_grad_enabled()", lambda: torch.is_grad_enabled()),
        ("elementwise_backend()", _backend.elementwise_backend),
        ("act_quant argument checks", lambda: (_checks.tensor(x, "x"), _checks.dtype_in(x, "x", _checks.HIGH_PRECISION),
                                               _checks.min_dim(x, "x", 1), _checks.positive_int(128, "block_size"),
                                               _checks.scale_format("fp32"))),
        ("fp8_linear _check_inputs", lambda: linear._check_inputs(x, wq, ws, None)),
        ("group_scale_buffer", lambda: _ops.group_scale_buffer(x.shape[:-1], 56, torch.float32, False, x)),
        ("_activation_scratch", lambda: _ops._activation_scratch(x, x, 56)),
        ("native quantize (prebuilt args)",
         lambda: fp8kit._C.quantize(dx, dq, ds, "group", 1, 128, False, 0.0, "auto", stream)),
    ]
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    print(f"\nSteps of the Python layer on {dev}, each alone (host us per call, best of 7 x 2000):")
    for name, fn in steps:
        for _ in range(50):
            fn()
        sync()
        best = float("inf")
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(2000):
                fn()
            sync()
            best = min(best, (time.perf_counter() - t0) * 1e6 / 2000)
        print(f"  {name:36s} {best:7.2f} us", flush=True)
        results.append({"op": f"overhead step {name}", "us": best})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="small shapes (a smoke run)")
    parser.add_argument("--only", choices=["quant", "gemm", "overhead"], action="append")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    dev = torch.device(args.device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        name = torch.cuda.get_device_name(dev)
    else:
        name = f"CPU ({fp8kit.capabilities()['cpu_threads']} threads)"
    quick = args.quick or dev.type == "cpu"
    print(f"fp8kit {fp8kit.__version__}, torch {torch.__version__}, device {dev}: {name}"
          f"{' (quick shapes)' if quick else ''}", flush=True)
    run = timer(dev, warmup=3 if quick else 10, iters=5 if quick else 50)
    results = []
    sections = args.only or ["quant", "gemm", "overhead"]
    if "quant" in sections:
        bench_quantization(dev, run, quick, results)
    if "gemm" in sections:
        bench_gemm(dev, run, quick, results)
    if "overhead" in sections:
        bench_overhead(dev, results)
        bench_overhead_steps(dev, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name, "torch": torch.__version__, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
