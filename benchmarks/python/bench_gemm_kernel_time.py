"""Kernel-only time of the block-scaled FP8 GEMM on the 18 cases of issue #8, as the profiler reports it.

    python benchmarks/python/bench_gemm_kernel_time.py [--flush read|write|cycle|...] [--m 64,128,4096]
                                                       [--iters 30] [--rounds 2] [--json FILE]

For each call, the time from its first kernel's start (no earlier than the end of the kernel ahead; see
KernelTimer.spans_us) to its last kernel's end in the CUPTI activity trace (torch.profiler / kineto), with no
launch latency and no event overhead: the method of DeepGEMM's published figures (`bench_kineto`) and of the
DeepGEMM figures issue #8 quotes. `fp8kit_bench_sm90_gemm` times each launch between two CUDA events instead,
which adds what an empty kernel takes between its events (3.4 us on an H200). The column "sm90 events" times
our calls that way here too, behind a sleep kernel that covers the Python call's host time, to show the
difference in the same run.

Contenders, interleaved per case and round: fp8kit's Hopper kernel (backend `cuda_sm90`), cuBLASLt's
block-scaled GEMM through fp8kit (backend `cublaslt`; only cuBLASLt's own kernels are counted, not fp8kit's
per-call repacking of the scales into cuBLASLt's layout, as in the C++ benchmark) and torch._scaled_mm with
block scales where this torch has it (every kernel it launches). A's scales are M-major (the layout both
Hopper kernels load). Every contender's result is checked against cuBLASLt's before timing.

How each call finds the GPU (--flush, see FLUSHES): by default after torch's sum over 4x the L2, as in a
model, where other kernels run between two GEMMs: no operand in L2, and neither our code in L2 nor in the
SMs' instruction caches (which cost our decode-sized launches 2.5-4 us before Hopper v13; BENCHMARKS.md).
`--flush cycle` is the C++ benchmark's way: operands cycled through copies, our code still cached.

The last lines are a table: us per call, TFLOP/s, ratio to cuBLASLt, and at M = 64 the time over the floor
(the weight's bytes over the card's copy bandwidth, measured here the same way) with the issue's bar,
time <= max(1.3 x floor, floor + 5 us).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys

import torch

import fp8kit
from bench_ops import GEMM_SHAPES, rel, scaled_mm_block

# How each call finds L2 and the SMs: "read", after torch's sum over 4x the L2 (cold operands, L2 full of
# clean lines, the SMs' instruction caches holding the sum's code); "write", after zeroing that buffer
# (DeepGEMM's bench_kineto: L2 full of dirty lines); "cycle", the calls cycle through copies of their operands
# spanning 3x the L2, as fp8kit_bench_sm90_gemm does, each after a short sleep kernel that only separates the
# calls in the trace; "cycle-sum" and "cycle-fill": cycle, with the separator torch's sum or fill kernel over
# 1 MB (the kernels of "read" and "write" without their traffic).
FLUSHES = ("read", "write", "cycle", "cycle-sum", "cycle-fill")

# GPU clocks a sleep kernel holds the queue before each event-timed call (about 100 us at 2 GHz).
SLEEP_CYCLES = 200_000

# fp8kit's cublaslt backend prepares operands with these kernels (src/cuda/cublaslt/cublaslt_operand_prep.cu);
# a caller holding scales in cuBLASLt's layout would not run them, so they are not cuBLASLt's time.
OPERAND_PREP_KERNELS = ("repack_activation_scales_kernel", "repack_weight_scales_kernel", "expand_vector_kernel")


def kernel_events(fn, separator, iters):
    """Profiles `iters` rounds of separator(); fn(). Returns the CUDA kernels as (start_ns, end_ns, name)."""
    activities = [torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(iters):
            separator()
            fn()
        torch.cuda.synchronize()
    events = [e for e in prof.profiler.kineto_results.events()
              if e.device_type() == torch.autograd.DeviceType.CUDA and e.duration_ns() > 0]
    return sorted((e.start_ns(), e.start_ns() + e.duration_ns(), e.name()) for e in events)


class KernelTimer:
    """Per-call kernel spans, each call after a separator kernel (see FLUSHES)."""

    def __init__(self, device: torch.device, flush: str, settle: str = "none"):
        self.l2_bytes = torch.cuda.get_device_properties(device).L2_cache_size
        self.flush, self.settle = flush, settle
        scratch_bytes = max(4 * self.l2_bytes, 256 << 20) if flush in ("read", "write") else 1 << 20
        self.scratch = torch.ones(scratch_bytes // 4, device=device, dtype=torch.float32)
        separator_kernels = {name for _, _, name in kernel_events(lambda: None, self.separator, 3)}
        if not separator_kernels:
            raise RuntimeError("the profiler recorded no CUDA kernels (is CUPTI available to torch?)")
        self.separator_kernels = separator_kernels

    def separator(self) -> None:
        if self.flush in ("read", "cycle-sum"):
            self.scratch.sum()
        elif self.flush in ("write", "cycle-fill"):
            self.scratch.zero_()
        else:
            torch.cuda._sleep(100)
        if self.settle == "sleep":
            torch.cuda._sleep(SLEEP_CYCLES // 5)
        elif self.settle == "sync":
            torch.cuda.synchronize()

    def spans_us(self, fn, iters: int, exclude=()) -> tuple:
        """Per call, us from its first counted kernel's start to its last one's end, where the start is taken no
        earlier than the end of the separator ahead: a kernel launched with programmatic dependent launch (ours,
        Overlap::setup) starts while the kernel ahead drains and waits for it, which is overlap, not its cost.
        Returns (spans, early): early[i] is how long call i's first kernel started before the separator ended
        (0 when after). `exclude`: name fragments of kernels not counted."""
        events = kernel_events(fn, self.separator, iters)
        spans, early, current, separator_end = [], [], [], -math.inf
        for start, end, name in events + [(math.inf, math.inf, None)]:
            if name is None or name in self.separator_kernels:
                if current:
                    first = min(s for s, _ in current)
                    spans.append((max(e for _, e in current) - max(first, separator_end)) / 1e3)
                    early.append(max(0.0, separator_end - first) / 1e3)
                current = []
                separator_end = end
            elif not any(fragment in name for fragment in exclude):
                current.append((start, end))
        if len(spans) != iters:
            names = sorted({name for _, _, name in events})
            raise RuntimeError(f"expected {iters} profiled calls, found {len(spans)} groups of kernels: {names}")
        return spans, early

    def events_us(self, fn, iters: int) -> list:
        """us between two CUDA events around each call (each call after the separator, which keeps the GPU
        busy while the host queues the call): kernel time plus the launch's cost between the events."""
        pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
        for start, end in pairs:
            self.separator()
            torch.cuda._sleep(SLEEP_CYCLES)  # covers the Python call's host time, so the events time the GPU
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize()
        return [start.elapsed_time(end) * 1e3 for start, end in pairs]

    def copy_bandwidth(self, device: torch.device) -> float:
        """Bytes read + written per second by a 1 GiB device-to-device copy (median of 5)."""
        src = torch.empty(1 << 30, dtype=torch.uint8, device=device)
        dst = torch.empty_like(src)
        us = statistics.median(self.spans_us(lambda: dst.copy_(src), 5)[0])
        return 2 * src.numel() / (us * 1e-6)


def case_contenders(m: int, n: int, k: int, device: torch.device, copies: int):
    """[(label, call, exclude)] for one case, each call cycling through `copies` sets of operands, and the
    check of each contender against cuBLASLt's result."""
    sets = []
    for _ in range(copies):
        x = torch.randn(m, k, device=device, dtype=torch.bfloat16)
        A, As = fp8kit.act_quant(x, column_major_scales=True)
        B, Bs = fp8kit.weight_quant(torch.randn(n, k, device=device, dtype=torch.bfloat16))
        sets.append((A, B, As, Bs))

    def through(backend, A, B, As, Bs):
        def call():
            with fp8kit.use_backend(backend):
                return fp8kit.w8a8_block_fp8_matmul(A, B, As, Bs)
        return call

    per_set = {"sm90": [through("cuda_sm90", *t) for t in sets], "cuBLASLt": [through("cublaslt", *t) for t in sets]}
    scaled_mm = [scaled_mm_block(A, B, As, Bs, torch.bfloat16) for A, B, As, Bs in sets]
    if scaled_mm[0][0] is not None:
        per_set["_scaled_mm"] = [fn for fn, _ in scaled_mm]
    else:
        print(f"  torch._scaled_mm with block scales: not timed ({scaled_mm[0][1]})", flush=True)
    for i in range(copies):
        reference = per_set["cuBLASLt"][i]()
        for label, calls in per_set.items():
            error = rel(calls[i](), reference)
            if not error < 1e-2:
                raise RuntimeError(f"{m}x{n}x{k}: {label} differs from cuBLASLt by {error:.3e} (relative Frobenius)")

    def cycling(calls):
        turn = itertools.cycle(calls)
        return lambda: next(turn)()

    return [(label, cycling(calls), OPERAND_PREP_KERNELS if label == "cuBLASLt" else ())
            for label, calls in per_set.items()]


def operand_copies(m: int, n: int, k: int, timer: KernelTimer, cycle_anyway: bool) -> int:
    """Operand sets a case cycles through: one after a flush (unless cycle_anyway), else enough to span 3x the
    L2."""
    if timer.flush in ("read", "write") and not cycle_anyway:
        return 1
    set_bytes = m * k + n * k + 2 * m * n + 4 * (m + n // 128) * (k // 128)
    return max(2, -(-3 * timer.l2_bytes // set_bytes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=30, help="profiled calls per contender and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the contenders, interleaved")
    parser.add_argument("--m", default="64,128,4096", help="comma-separated M values")
    parser.add_argument("--flush", choices=FLUSHES, default="read", help="how each call finds L2 (see FLUSHES)")
    parser.add_argument("--settle", choices=("none", "sleep", "sync"), default="none",
                        help="after the flush: nothing, a 20 us sleep kernel, or the GPU idle while the host queues")
    parser.add_argument("--cycle-copies", action="store_true",
                        help="cycle through operand copies spanning 3x the L2 after a read or write flush too")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_gemm_kernel_time: needs a CUDA device (none visible)")
        return 1
    device = torch.device("cuda", 0)
    props = torch.cuda.get_device_properties(device)
    timer = KernelTimer(device, args.flush, args.settle)
    copy = timer.copy_bandwidth(device)
    print(f"{props.name}, {props.multi_processor_count} SMs, torch {torch.__version__}; copy bandwidth "
          f"{copy / 1e9:.0f} GB/s (read + written, kernel time); flush {args.flush}, settle {args.settle}; "
          f"separator kernels: {sorted(timer.separator_kernels)}", flush=True)

    rows = []
    for m in (int(v) for v in args.m.split(",")):
        for n, k in GEMM_SHAPES:
            contenders = case_contenders(m, n, k, device, operand_copies(m, n, k, timer, args.cycle_copies))
            samples = {label: [] for label, _, _ in contenders}
            samples["sm90 events"] = []
            early = {label: [] for label, _, _ in contenders}
            for _ in range(args.rounds):
                for label, call, exclude in contenders:
                    spans, starts_early = timer.spans_us(call, args.iters, exclude)
                    samples[label] += spans
                    early[label] += starts_early
                samples["sm90 events"] += timer.events_us(contenders[0][1], args.iters)
            row = {"m": m, "n": n, "k": k, **{label: statistics.median(v) for label, v in samples.items()}}
            row["floor_us"] = n * k / copy * 1e6
            rows.append(row)
            print(f"{m} x {n} x {k}: " + ", ".join(f"{label} {row[label]:.2f} us" for label in samples)
                  + "; started before the separator ended (median us): "
                  + ", ".join(f"{label} {statistics.median(v):.2f}" for label, v in early.items()), flush=True)

    others = [label for label in rows[0] if label not in ("m", "n", "k", "floor_us", "sm90", "cuBLASLt")]
    print("\n| M | N | K | cuBLASLt us | " + "".join(f"{o} us | " for o in others)
          + "sm90 us | sm90 TFLOP/s | x cuBLASLt | x floor (M = 64; bar) |")
    print("|---|---|---|---|" + "---|" * len(others) + "---|---|---|---|")
    logs, wins, bars = [], 0, []
    for r in rows:
        speedup = r["cuBLASLt"] / r["sm90"]
        logs.append(math.log(speedup))
        wins += speedup >= 1.0
        floor_cell = ""
        if r["m"] == 64:
            bar = max(1.3 * r["floor_us"], r["floor_us"] + 5.0)
            bars.append(r["sm90"] <= bar)
            floor_cell = (f"{r['sm90'] / r['floor_us']:.2f} (floor {r['floor_us']:.1f}, bar {bar:.1f} us"
                          f"{'' if bars[-1] else ', over'})")
        print(f"| {r['m']} | {r['n']} | {r['k']} | {r['cuBLASLt']:.2f} | "
              + "".join(f"{r[o]:.2f} | " for o in others)
              + f"{r['sm90']:.2f} | {2 * r['m'] * r['n'] * r['k'] / r['sm90'] / 1e6:.0f} | {speedup:.3f} | "
              f"{floor_cell} |")
    print(f"\nkernel time, sm90 against cuBLASLt: geomean {math.exp(sum(logs) / len(logs)):.3f}x over {len(rows)} "
          f"cases, {wins} at or above 1.0x" + (f"; M = 64 floor bar met on {sum(bars)} of {len(bars)}" if bars else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": props.name, "copy_bytes_per_s": copy, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
