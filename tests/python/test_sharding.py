"""Tensor-parallel shards of block-quantized weights: block boundaries, refusals, and that column- and
row-parallel products reassemble the single-device result (simulated on the CPU)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import fp8kit  # noqa: E402
from fp8kit.sharding import shard_fp8_weight, shard_sizes, split_fp8_weight  # noqa: E402
from helpers import rel_error  # noqa: E402


def test_shard_sizes():
    assert shard_sizes(1024, 4, 128) == [256, 256, 256, 256]
    assert shard_sizes(1000, 2, 128) == [512, 488], "the last shard ends in the ragged block"
    assert shard_sizes(576, 1, 128) == [576]
    with pytest.raises(ValueError, match="768 = 6 blocks of 128 do not split into 4 shards"):
        shard_sizes(768, 4, 128)  # 192 per rank would cut a block (vllm#44763)
    with pytest.raises(ValueError, match="world_size"):
        shard_sizes(256, 0, 128)


def test_split_follows_block_boundaries(gen):
    q, s = fp8kit.weight_quant(torch.randn(1000, 640, generator=gen))
    shards = split_fp8_weight(q, s, dim=0, world_size=2)
    assert [tuple(w.shape) for w, _ in shards] == [(512, 640), (488, 640)]
    assert [tuple(g.shape) for _, g in shards] == [(4, 5), (4, 5)]
    assert torch.equal(torch.cat([w for w, _ in shards]).view(torch.uint8), q.view(torch.uint8))
    cols = split_fp8_weight(q, s, dim=1, sizes=[256, 384])
    assert [tuple(g.shape) for _, g in cols] == [(8, 2), (8, 3)]
    with pytest.raises(ValueError, match="shard 0 ends at K index 200, inside a block of 128"):
        split_fp8_weight(q, s, dim=1, sizes=[200, 440])
    with pytest.raises(ValueError, match="adding up to K = 640"):
        split_fp8_weight(q, s, dim=1, sizes=[256, 256])
    with pytest.raises(ValueError, match="exactly one of world_size and sizes"):
        split_fp8_weight(q, s, dim=0)
    with pytest.raises(ValueError, match="dim: expected 0"):
        split_fp8_weight(q, s, dim=2, world_size=2)
    with pytest.raises(ValueError, match="weight_scale: expected the block grid"):
        split_fp8_weight(q, s.t(), dim=0, world_size=2)
    with pytest.raises(ValueError, match="rank"):
        shard_fp8_weight(q, s, dim=0, world_size=2, rank=2)


def test_column_and_row_parallel_reassemble_the_full_product(gen):
    n, k = 1000, 1280
    q, s = fp8kit.weight_quant(torch.randn(n, k, generator=gen))
    bias = torch.randn(n, generator=gen)
    x = torch.randn(3, 5, k, generator=gen)
    full = fp8kit.fp8_linear(x, q, s, bias)

    columns = []
    for rank in range(2):
        wq, ws = shard_fp8_weight(q, s, dim=0, world_size=2, rank=rank)
        start = 512 * rank
        columns.append(fp8kit.fp8_linear(x, wq, ws, bias[start:start + wq.shape[0]]))
    assert torch.equal(torch.cat(columns, -1), full), "a column shard computes its outputs exactly as before"

    partial = torch.zeros(3, 5, n)
    for rank, size in enumerate(shard_sizes(k, 2, 128)):
        wq, ws = shard_fp8_weight(q, s, dim=1, world_size=2, rank=rank)
        xs = x[..., rank * 640:rank * 640 + size]
        xq, xsc = fp8kit.act_quant(xs)
        partial += fp8kit.w8a8_block_fp8_matmul(xq, wq, xsc, ws, output_dtype=torch.float32)
    row_parallel = partial + bias
    assert rel_error(row_parallel, full) < 1e-5
