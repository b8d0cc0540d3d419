"""Fixtures for model tests: band sets and tiny inputs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

S2_4 = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
S2_13 = [
    "S2.B01",
    "S2.B02",
    "S2.B03",
    "S2.B04",
    "S2.B05",
    "S2.B06",
    "S2.B07",
    "S2.B08",
    "S2.B8A",
    "S2.B09",
    "S2.B10",
    "S2.B11",
    "S2.B12",
]


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    """One intra-op thread: on shared, busy cores two threads spin and run ~10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
