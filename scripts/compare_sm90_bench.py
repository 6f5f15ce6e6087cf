#!/usr/bin/env python3
"""compare_sm90_bench.py: two builds' fp8kit_bench_sm90_gemm logs side by side (an A/B run on one card).

    python3 scripts/compare_sm90_bench.py --base LOG [LOG ...] --new LOG [LOG ...]

Each LOG is the output of one benchmark run (the 18-case tables, or the --m tables). Per case it prints the
per-launch sm90 time of each build (the median over that build's logs, with the spread between them), the
ratio new / base, and the same for the chained time under the default overlap (setup); cuBLASLt's
per-launch median of each build's rounds shows how much the card itself drifted between them. Last, the
geometric mean of each ratio over the cases. Run the builds interleaved (base, new, base, new): a
per-launch M <= 128 figure moves by about 0.3 us from one run to the next, an M = 4096 one by 0.5-1%,
with an occasional slow run of 4096 x 7168 x 16384 (BENCHMARKS.md, Hopper v15).
"""
import argparse
import math
import statistics
import sys

PER_LAUNCH_HEADER = "| M | N | K | cuBLASLt us | sm90 us |"
CHAINED_HEADER = "| M | N | K | cuBLASLt us | sm90 us: none / setup / weights |"


def table_rows(lines, header):
    """The rows of the first table whose header line starts with `header`: {(m, n, k): [cells]}."""
    rows = {}
    start = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    if start is None:
        return rows
    for line in lines[start + 2:]:
        if not line.startswith("| "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[(int(cells[0]), int(cells[1]), int(cells[2]))] = cells
    return rows


def read_log(path):
    """(per-launch {case: (cuBLASLt us, sm90 us)}, chained {case: sm90 us with the setup overlap})."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    per_launch = {case: (float(c[3]), float(c[4])) for case, c in table_rows(lines, PER_LAUNCH_HEADER).items()}
    chained = {case: float(c[4].split("/")[1]) for case, c in table_rows(lines, CHAINED_HEADER).items()}
    if not per_launch:
        sys.exit(f"{path}: no per-launch table (a line starting {PER_LAUNCH_HEADER!r})")
    return per_launch, chained


def summary(values):
    """'median' or 'median (min-max)' over a build's runs."""
    med = statistics.median(values)
    return f"{med:.1f}" if len(values) == 1 else f"{med:.1f} ({min(values):.1f}-{max(values):.1f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", nargs="+", required=True, help="the baseline build's benchmark logs")
    parser.add_argument("--new", nargs="+", required=True, help="the changed build's benchmark logs")
    args = parser.parse_args()
    base = [read_log(p) for p in args.base]
    new = [read_log(p) for p in args.new]
    cases = [case for case in base[0][0] if all(case in run[0] for run in base + new)]
    if not cases:
        sys.exit("no case appears in every log")

    print("| M | N | K | sm90 base us | sm90 new us | new / base | chained base | chained new | new / base "
          "| cuBLASLt base / new |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios, chained_ratios = [], []
    for case in cases:
        b = [run[0][case][1] for run in base]
        n = [run[0][case][1] for run in new]
        ratio = statistics.median(n) / statistics.median(b)
        ratios.append(ratio)
        cb = [run[1][case] for run in base if case in run[1]]
        cn = [run[1][case] for run in new if case in run[1]]
        chained = ("", "", "")
        if cb and cn:
            chained_ratio = statistics.median(cn) / statistics.median(cb)
            chained_ratios.append(chained_ratio)
            chained = (summary(cb), summary(cn), f"{chained_ratio:.3f}")
        cublas = (statistics.median(run[0][case][0] for run in base), statistics.median(run[0][case][0] for run in new))
        print(f"| {case[0]} | {case[1]} | {case[2]} | {summary(b)} | {summary(n)} | {ratio:.3f} | {chained[0]} "
              f"| {chained[1]} | {chained[2]} | {cublas[0]:.1f} / {cublas[1]:.1f} |")

    def geomean(values):
        return math.exp(sum(math.log(v) for v in values) / len(values))

    print(f"new / base over {len(cases)} cases, geometric mean: per launch {geomean(ratios):.4f}"
          + (f", chained {geomean(chained_ratios):.4f}" if chained_ratios else "")
          + " (below 1: the new build is faster)")


if __name__ == "__main__":
    main()
