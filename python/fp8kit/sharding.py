"""Tensor-parallel sharding of block-quantized FP8 weights at block boundaries.

A weight W ``[N, K]`` with block scales ``[ceil(N / bn), ceil(K / bk)]`` splits

* along N (``dim=0``, column-parallel: each rank computes a slice of the output features), or
* along K (``dim=1``, row-parallel: each rank multiplies its slice of the input features and the
  partial outputs are summed, e.g. with an all-reduce; add the bias once, after the sum),

so that every shard starts at a block boundary: each shard owns whole scale rows (columns) and the
activations' 1 x bk groups of a row-parallel shard coincide with those of the full K. A split that
would cut a block is refused (vLLM and SGLang users hit this as "not divisible by block_n"); only the
last shard may end in the ragged last block of a dimension that is not a multiple of the block.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch

from . import _checks as _c
from .functional import BlockSize

__all__ = ["shard_sizes", "split_fp8_weight", "shard_fp8_weight"]


def _cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


def shard_sizes(total: int, world_size: int, block: int) -> List[int]:
    """Sizes of ``world_size`` contiguous shards of ``total`` rows (or columns) that start at multiples of
    ``block``: each holds ``ceil(total / block) / world_size`` blocks, the last one possibly ragged.
    ValueError when the blocks do not split evenly."""
    world_size = _c.positive_int(world_size, "world_size")
    block = _c.positive_int(block, "block")
    blocks = _cdiv(total, block)
    if blocks % world_size:
        raise ValueError(f"world_size: {total} = {blocks} blocks of {block} do not split into {world_size} shards "
                         "of whole blocks; pick a world size that divides the block count or pass explicit sizes")
    per = blocks // world_size * block
    sizes = [per] * (world_size - 1) + [total - per * (world_size - 1)]
    if sizes[-1] <= 0:
        raise ValueError(f"world_size: {world_size} shards of {per} leave nothing for the last shard of {total}")
    return sizes


def _check_sizes(sizes: Sequence[int], total: int, block: int, what: str) -> List[int]:
    sizes = [int(s) for s in sizes]
    if sum(sizes) != total or min(sizes, default=0) <= 0:
        raise ValueError(f"sizes: expected positive sizes adding up to {what} = {total}, got {sizes}")
    start = 0
    for i, size in enumerate(sizes[:-1]):
        start += size
        if start % block:
            raise ValueError(f"sizes: shard {i} ends at {what} index {start}, inside a block of {block}; shards may "
                             "only end at block boundaries")
    return sizes


def split_fp8_weight(
    weight: torch.Tensor,
    weight_scale: torch.Tensor,
    *,
    dim: int,
    world_size: Optional[int] = None,
    sizes: Optional[Sequence[int]] = None,
    block_size: BlockSize = (128, 128),
) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """All shards ``[(weight_i, scale_i), ...]`` (contiguous copies) of a block-quantized weight along
    ``dim`` (0: output features N, column-parallel; 1: input features K, row-parallel). Give
    ``world_size`` for equal shards (see shard_sizes) or explicit ``sizes`` ending at block boundaries."""
    weight, weight_scale = _c.tensor(weight, "weight"), _c.tensor(weight_scale, "weight_scale")
    _c.exact_dim(weight, "weight", 2)
    if dim not in (0, 1):
        raise ValueError(f"dim: expected 0 (split N, column-parallel) or 1 (split K, row-parallel), got {dim!r}")
    block = _c.block_pair(block_size)
    grid = (_cdiv(weight.shape[0], block[0]), _cdiv(weight.shape[1], block[1]))
    if tuple(weight_scale.shape) != grid:
        raise ValueError(f"weight_scale: expected the block grid {list(grid)} of weight {list(weight.shape)} with "
                         f"block_size {block}, got shape {list(weight_scale.shape)}")
    total, what = weight.shape[dim], ("N" if dim == 0 else "K")
    if (world_size is None) == (sizes is None):
        raise ValueError("split_fp8_weight: pass exactly one of world_size and sizes")
    if sizes is None:
        sizes = shard_sizes(total, world_size, block[dim])
    else:
        sizes = _check_sizes(sizes, total, block[dim], what)
    shards = []
    start = 0
    for size in sizes:
        stop = start + size
        g0, g1 = start // block[dim], _cdiv(stop, block[dim])
        shards.append((weight.narrow(dim, start, size).contiguous(),
                       weight_scale.narrow(dim, g0, g1 - g0).contiguous()))
        start = stop
    return shards


def shard_fp8_weight(
    weight: torch.Tensor,
    weight_scale: torch.Tensor,
    *,
    dim: int,
    world_size: int,
    rank: int,
    block_size: BlockSize = (128, 128),
) -> Tuple[torch.Tensor, torch.Tensor]:
    """This rank's ``(weight, weight_scale)`` shard (see split_fp8_weight)."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank: expected 0 <= rank < world_size = {world_size}, got {rank}")
    return split_fp8_weight(weight, weight_scale, dim=dim, world_size=world_size, block_size=block_size)[rank]
