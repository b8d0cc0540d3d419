"""Samplers whose epochs depend only on ``(seed, epoch)`` and that can skip done batches.

Exact mid-epoch resume needs two things Lightning does not do by itself for a
custom sampler: the interrupted epoch must draw the same items again (the
eoforge samplers draw from ``(seed, epoch)``; :class:`ShuffledIndices` does the
same for chip datasets), and the batches already trained on must be skipped
(:class:`SkippingSampler`, told how many by
:class:`~eoforge.experiment.callbacks.ExactResume`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from torch.utils.data import Sampler

from eoforge.data.sharding import distributed_defaults, shard_positions


class ShuffledIndices(Sampler[int]):
    """Positions ``0..size-1`` of a map-style dataset, shuffled from ``(seed, epoch)``, sharded.

    Args:
        size: Dataset length.
        shuffle: Shuffle each epoch (training) or keep the order (validation).
        seed: Seed of the shuffles.
        rank: DDP rank (default from ``torch.distributed``).
        world_size: DDP world size (default from ``torch.distributed``).
    """

    def __init__(
        self,
        size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        self.size, self.shuffle, self.seed, self.epoch = size, shuffle, seed, 0
        self.rank, self.world_size = distributed_defaults(rank, world_size)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order the next iteration yields."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        order = np.arange(self.size)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        for position in shard_positions(self.size, self.rank, self.world_size):
            yield int(order[position])

    def __len__(self) -> int:
        return math.ceil(self.size / self.world_size)


class SkippingSampler(Sampler[Any]):
    """Wrap a sampler so that one iteration can start after ``skip`` items.

    Args:
        inner: Sampler with ``set_epoch`` (eoforge samplers, :class:`ShuffledIndices`).
    """

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        self.skip_next = 0

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch on to the wrapped sampler."""
        self.inner.set_epoch(epoch)

    def skip_once(self, items: int) -> None:
        """Drop the first ``items`` items of the next iteration only."""
        self.skip_next = int(items)

    def __iter__(self) -> Iterator[Any]:
        skip, self.skip_next = self.skip_next, 0
        for position, item in enumerate(self.inner):
            if position >= skip:
                yield item

    def __len__(self) -> int:
        return len(self.inner)
