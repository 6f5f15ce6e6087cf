"""Tensor-parallel FP8 linears with torch.distributed (NCCL): column- and row-parallel shards of a
block-quantized weight give the single-GPU result.

    torchrun --nproc-per-node 2 benchmarks/python/tp_check.py

Each rank builds the same bf16 weight (one seed), quantizes it 128 x 128 and computes the full layer on
its GPU (the single-GPU result). Then
  * column-parallel: rank r holds output features [r*N/2, (r+1)*N/2) (fp8kit.shard_fp8_weight, dim=0)
    and its bias slice; an all-gather along the feature dimension reassembles the output;
  * row-parallel: rank r holds input features [r*K/2, (r+1)*K/2) (dim=1), quantizes its slice of the
    activations per 1 x 128 group (the groups coincide with the full K's), multiplies into fp32 and
    all-reduces; the bias is added once after the sum.
Both are compared with the single-GPU output (relative Frobenius error; column-parallel is expected to be
bit-identical where the backend's choice does not depend on N). N = 1000 and K = 1280 are not multiples
of the world size's blocks on purpose: the last shard of N is ragged. Exit code 0 when both pass.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

import fp8kit
from fp8kit.sharding import shard_fp8_weight, shard_sizes

N, K, TOKENS = 1000, 1280, (3, 7)
TOL = 2e-3  # the contract's bf16 GEMM tolerance


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm()).item()


def main() -> int:
    dist.init_process_group("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", rank))
    torch.cuda.set_device(local)
    dev = torch.device("cuda", local)
    gen = torch.Generator().manual_seed(1234)
    w = torch.randn(N, K, generator=gen).to(torch.bfloat16)
    bias = torch.randn(N, generator=gen).to(torch.bfloat16)
    x = torch.randn(*TOKENS, K, generator=gen).to(torch.bfloat16)
    q, s = fp8kit.weight_quant(w.to(dev))
    x, bias = x.to(dev), bias.to(dev)
    single = fp8kit.fp8_linear(x, q, s, bias)

    # column-parallel (split N)
    sizes = shard_sizes(N, world, 128)
    start = sum(sizes[:rank])
    wq, ws = shard_fp8_weight(q, s, dim=0, world_size=world, rank=rank)
    local_out = fp8kit.fp8_linear(x, wq, ws, bias[start:start + sizes[rank]])
    pieces = [torch.empty(*TOKENS, n, device=dev, dtype=local_out.dtype) for n in sizes]
    dist.all_gather(pieces, local_out.contiguous())
    column = torch.cat(pieces, dim=-1)

    # row-parallel (split K)
    k_sizes = shard_sizes(K, world, 128)
    k0 = sum(k_sizes[:rank])
    wq, ws = shard_fp8_weight(q, s, dim=1, world_size=world, rank=rank)
    xq, xs = fp8kit.act_quant(x[..., k0:k0 + k_sizes[rank]])
    partial = fp8kit.w8a8_block_fp8_matmul(xq, wq, xs, ws, output_dtype=torch.float32)
    dist.all_reduce(partial)
    row = (partial + bias.float()).to(torch.bfloat16)

    errors = {"column-parallel": rel(column, single), "row-parallel": rel(row, single)}
    ok = all(e <= TOL for e in errors.values())
    summary = ", ".join(f"{name} rel.err {err:.2e}" for name, err in errors.items())
    print(f"rank {rank}/{world} on {torch.cuda.get_device_name(dev)}: {summary}, column bit-identical: "
          f"{torch.equal(column, single)} -> {'PASS' if ok else 'FAIL'}", flush=True)
    verdict = torch.tensor([1 if ok else 0], device=dev)
    dist.all_reduce(verdict, op=dist.ReduceOp.MIN)
    dist.destroy_process_group()
    return 0 if verdict.item() == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
