#!/usr/bin/env python3
"""Fits the Hopper GEMM planner's cost model to a plan sweep, and scores the planner on it.

Input: the CSV that `fp8kit_bench_sm90_gemm --sweep --csv FILE` writes (one row per case and plan: its
time, the C++ model's prediction and the plan's features). The model is a mirror of `predict_us` in
src/cuda/sm90/sm90_fp8_gemm_plan.cpp, whose constants it reads from that file; the script first checks that the mirror, with the C++ constants,
reproduces the sweep's predicted_us column (so the mirror and the device facts are right), then fits the
constants to two goals at once: the squared log error of the plans within 1.5x of their case's best (the
times should be right where it matters), and the time lost by the plan each case would choose, made smooth
by choosing softly (a softmax over the predicted times, temperature 2%), with a weak pull toward the
current constants (a constant the data does not pin would otherwise run off). A fit of the times alone
ranked worse: it was free to under-predict the slow plans it did not fit. It prints, for the old and the new
constants, how fast the plan each would choose ran against the best plan of each case.

    python3 scripts/fit_sm90_cost_model.py SWEEP.csv [SWEEP.csv ...] [--clock-mhz 1980 --mem-mhz 3201 --bus-bits 6016]
                                                     [--only kName,...] [--other-model]

--only kName,kName refits those constants and keeps the others (Hopper v8: the split-K pair alone, after the
exchange was rebuilt, chose the same plans). --other-model scores and refits a sweep made by an earlier
planner (whose predictions the mirror cannot reproduce): how the current model would have chosen on it,
which is how a change of the model is checked against data it was not fitted to.

The defaults are an H200's (the benchmark's first line prints them: cudaDevAttrClockRate,
MemoryClockRate, GlobalMemoryBusWidth). The sweeps the current constants were fitted to and checked on are
in benchmarks/results/ (M = 64 to 4096; `--m` of the benchmark picks the M values). Pure Python and numpy; the optimiser is a Nelder-Mead search
over the logarithms of the constants.
"""
import argparse
import csv
import math
import pathlib
import re
import sys
from collections import defaultdict

import numpy as np

PLAN_SOURCE = pathlib.Path(__file__).resolve().parent.parent / "src/cuda/sm90/sm90_fp8_gemm_plan.cpp"
FITTED = ["kMacPerClock2Wg", "kMacPerClock1Wg", "kL2BytesPerClock", "kStagingBytesPerClock", "kStoreBoxCycles",
          "kStoreBytesPerClock", "kTileOverheadCycles", "kSplitOverheadCycles", "kDsmemBytesPerClock",
          "kPipelineFillCycles", "kDramEfficiency", "kStreamBytesPerClock", "kLoadExposedFraction",
          "kMulticastTileCycles", "kKBlockCycles"]


def cpp_constants():
    """The model's constants as sm90_fp8_gemm_plan.cpp defines them (constexpr double kName = value;)."""
    found = dict(re.findall(r"constexpr double (k\w+) = ([0-9.eE+-]+);", PLAN_SOURCE.read_text()))
    missing = [name for name in FITTED + ["kSustainedClockFraction", "kLaunchMicroseconds"] if name not in found]
    if missing:
        sys.exit(f"{PLAN_SOURCE}: no constexpr double {', '.join(missing)}")
    return {name: float(value) for name, value in found.items()}


CONSTANTS = cpp_constants()
SUSTAINED_CLOCK_FRACTION = CONSTANTS["kSustainedClockFraction"]
LAUNCH_US = CONSTANTS["kLaunchMicroseconds"]
SOFT_CHOICE_TEMPERATURE = 0.02  # of log time: plans predicted 2% apart weigh e times apart
CHOICE_WEIGHT = 5.0             # the choice's lost log time against the fit's mean squared log error
PRIOR_WEIGHT = 0.01             # pull toward the current constants: unpinned ones otherwise run off to 0 or 1e20


def ceil_div(a, b):
    return -(-a // b)


class Plan:
    """One timed plan of a case: its features as the sweep CSV gives them."""

    def __init__(self, row):
        self.m, self.n, self.k = int(row["m"]), int(row["n"]), int(row["k"])
        self.text, self.us, self.predicted = row["plan"], float(row["us"]), float(row["predicted_us"])
        self.bm, self.bn = int(row["block_m"]), int(row["block_n"])
        self.wg = int(row["math_warpgroups"])
        self.multicast = row["multicast"] == "1"
        self.split = int(row["split_k"])
        self.tma_store = row["tma_store"] == "1"
        self.grid, self.num_tiles = int(row["grid"]), int(row["num_tiles"])
        self.cluster = 2 if self.multicast else self.split
        # TMA store boxes per tile: (BLOCK_M / 64) x (BLOCK_N / box columns). Sweeps before the column
        # existed: the box width of TileShape::kChunkCols from each warpgroup's columns.
        chunk = row.get("store_chunk_cols")
        if not chunk:
            cols = self.bn // (self.wg if self.bm == 64 else 1)
            chunk = 64 if cols % 64 == 0 else 32 if cols % 32 == 0 else 16
        self.store_boxes = (self.bm / 64.0) * (self.bn / int(chunk))


def predict_us(plan, c, dev):
    """Mirror of predict_us (bf16 output: 2 bytes per element)."""
    out_size = 2.0
    bm, bn = plan.bm, plan.bn
    k_blocks_per_cta = ceil_div(ceil_div(plan.k, 128), plan.split)
    clusters = plan.grid // plan.cluster
    tiles_per_cluster = math.ceil(plan.num_tiles / clusters)
    mma = bm * bn * 128.0 / (c["kMacPerClock2Wg"] if plan.wg == 2 else c["kMacPerClock1Wg"])
    load = 128.0 * (bm + (bn / 2 if plan.multicast else bn)) / c["kL2BytesPerClock"]
    if plan.tma_store:
        epilogue = bm * bn * 2.0 / c["kStagingBytesPerClock"] + plan.store_boxes * c["kStoreBoxCycles"]
    else:
        epilogue = bm * bn * out_size / plan.split / c["kStoreBytesPerClock"]
    per_tile = (k_blocks_per_cta * (max(mma, load) + c["kLoadExposedFraction"] * min(mma, load) + c["kKBlockCycles"])
                + c["kTileOverheadCycles"]
                + epilogue + (c["kMulticastTileCycles"] if plan.multicast else 0.0))
    if plan.split > 1:
        per_tile += (c["kSplitOverheadCycles"]
                     + bm * bn * 4.0 * (plan.split - 1) / plan.split / (c["kDsmemBytesPerClock"] * plan.wg))
    sm_s = (tiles_per_cluster * per_tile + c["kPipelineFillCycles"]) / dev["clock_hz"]
    dram_bytes_per_s = c["kDramEfficiency"] * dev["dram_interface"]
    m, n, k = float(plan.m), float(plan.n), float(plan.k)
    dram_s = (m * k + n * k + m * n * out_size) / dram_bytes_per_s
    active = min(plan.grid, plan.num_tiles * plan.cluster)
    stream_s = (m * k + n * k) / (active * c["kStreamBytesPerClock"] * dev["clock_hz"])
    return max(sm_s, dram_s, stream_s) * 1e6 + LAUNCH_US


def load(paths):
    """The sm90 plans of each case, a case being one (M, N, K) of one sweep: sweeps of different runs (or
    kernels) are not mixed, each case's best plan is the best of its own sweep."""
    cases = defaultdict(list)
    for path in paths:
        with open(path) as f:
            for row in csv.DictReader(f):
                if row["backend"] != "sm90":
                    continue
                plan = Plan(row)
                cases[(path, plan.m, plan.n, plan.k)].append(plan)
    return cases


def score(cases, c, dev):
    """(geomean and worst of best/chosen measured time, per-case list) for the plans c's model would choose."""
    logs, rows = [], []
    for key, plans in sorted(cases.items()):
        chosen = min(plans, key=lambda p: predict_us(p, c, dev))
        best = min(plans, key=lambda p: p.us)
        ratio = best.us / chosen.us
        logs.append(math.log(ratio))
        rows.append((key, chosen, best, ratio))
    return math.exp(sum(logs) / len(logs)), min(r[3] for r in rows), rows


def nelder_mead(f, x0, step=0.15, iters=4000, tol=1e-9):
    n = len(x0)
    simplex = [np.array(x0, dtype=float)]
    for i in range(n):
        x = np.array(x0, dtype=float)
        x[i] += step
        simplex.append(x)
    values = [f(x) for x in simplex]
    for _ in range(iters):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if values[-1] - values[0] < tol:
            break
        centroid = sum(simplex[:-1]) / n
        reflected = centroid + (centroid - simplex[-1])
        fr = f(reflected)
        if fr < values[0]:
            expanded = centroid + 2.0 * (centroid - simplex[-1])
            fe = f(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:
                simplex = [simplex[0] + 0.5 * (x - simplex[0]) for x in simplex]
                values = [f(x) for x in simplex]
    best = int(np.argmin(values))
    return simplex[best], values[best]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweeps", nargs="+", help="one or more sweep CSVs, fitted together")
    ap.add_argument("--clock-mhz", type=float, default=1980.0)
    ap.add_argument("--mem-mhz", type=float, default=3201.0)
    ap.add_argument("--bus-bits", type=int, default=6016)
    ap.add_argument("--within", type=float, default=1.5, help="fit the plans within this factor of their case's best")
    ap.add_argument("--only", default="", help="comma-separated constants to fit (default: all of FITTED)")
    ap.add_argument("--other-model", action="store_true",
                    help="the sweep's predictions came from an earlier model: skip the mirror check")
    args = ap.parse_args()
    dev = {"clock_hz": SUSTAINED_CLOCK_FRACTION * args.clock_mhz * 1e6,
           "dram_interface": 2.0 * args.mem_mhz * 1e6 * args.bus_bits / 8.0}
    cases = load(args.sweeps)
    if not cases:
        sys.exit(f"{', '.join(args.sweeps)}: no sm90 rows")

    # The mirror must reproduce the C++ predictions made with the same constants.
    worst = max(abs(predict_us(p, CONSTANTS, dev) / p.predicted - 1.0) for ps in cases.values() for p in ps)
    print(f"mirror vs the sweep's predicted_us: worst relative difference {worst:.2e}")
    if worst > 1e-3 and not args.other_model:
        sys.exit("the mirror or the device facts differ from the C++ model: fix them before fitting (or pass "
                 "--other-model for a sweep made by an earlier planner)")

    names = [n for n in args.only.split(",") if n] or FITTED
    unknown = [n for n in names if n not in FITTED]
    if unknown:
        sys.exit(f"--only: not fitted constants: {', '.join(unknown)} (choose from {', '.join(FITTED)})")
    fitted_plans = [p for ps in cases.values() for p in ps if p.us <= args.within * min(q.us for q in ps)]

    x0 = [math.log(CONSTANTS[name]) for name in names]
    case_plans = list(cases.values())
    best_log = [math.log(min(p.us for p in ps)) for ps in case_plans]

    def loss(x):
        c = {**CONSTANTS, **{name: math.exp(v) for name, v in zip(names, x)}}
        if c["kDramEfficiency"] > 1.0:
            return 1e9
        fit = sum((math.log(predict_us(p, c, dev)) - math.log(p.us)) ** 2 for p in fitted_plans) / len(fitted_plans)
        choice = 0.0
        for ps, best in zip(case_plans, best_log):
            logs = np.array([math.log(predict_us(p, c, dev)) for p in ps])
            weights = np.exp(-(logs - logs.min()) / SOFT_CHOICE_TEMPERATURE)
            lost = np.array([math.log(p.us) - best for p in ps])
            choice += float(weights @ lost / weights.sum())
        prior = sum((v - v0) ** 2 for v, v0 in zip(x, x0)) / len(x)
        return fit + CHOICE_WEIGHT * choice / len(case_plans) + PRIOR_WEIGHT * prior

    x, value = nelder_mead(loss, x0)
    x, value = nelder_mead(loss, x, step=0.05)
    fitted = {name: math.exp(v) for name, v in zip(names, x)}
    print(f"fit on {len(fitted_plans)} plans of {len(cases)} cases: loss {loss(x0):.4f} -> {value:.4f}")
    for name in names:
        print(f"  constexpr double {name} = {fitted[name]:.4g};  // was {CONSTANTS[name]:.4g}")
    for label, c in (("current constants", CONSTANTS), ("fitted constants", {**CONSTANTS, **fitted})):
        geo, worst_ratio, rows = score(cases, c, dev)
        print(f"{label}: chosen plans run at {geo:.3f} of the best plans' speed (geomean), worst {worst_ratio:.3f}")
        for (path, m, n, k), chosen, best, ratio in rows:
            if ratio < 0.97:
                print(f"    {pathlib.Path(path).name} M={m} N={n} K={k}: {chosen.text} {chosen.us:.1f} us, best {best.text} {best.us:.1f} us")


if __name__ == "__main__":
    main()
