"""Shared fixtures of the Python tests: seeded random generators (the seed is printed, so a failure
can be replayed with FP8KIT_TEST_SEED=<seed>), and hostile inputs."""

from __future__ import annotations

import os
import random

import pytest


@pytest.fixture
def seed(request) -> int:
    value = int(os.environ.get("FP8KIT_TEST_SEED", random.randrange(2**31)))
    print(f"{request.node.nodeid}: seed={value} (replay with FP8KIT_TEST_SEED={value})")
    return value


@pytest.fixture
def np_rng(seed):
    np = pytest.importorskip("numpy")
    return np.random.default_rng(seed)


@pytest.fixture
def gen(seed):
    torch = pytest.importorskip("torch")
    g = torch.Generator()
    g.manual_seed(seed)
    return g
