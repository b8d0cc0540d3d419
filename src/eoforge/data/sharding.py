"""Epochs and DDP sharding shared by every sampler.

A sampler draws the whole epoch's windows from ``(seed, epoch)`` alone, so
every rank draws the same list; each rank then keeps every
``world_size``-th window starting at its rank, after the list is padded by
wrapping around to a multiple of ``world_size`` (as
:class:`torch.utils.data.DistributedSampler` does). Ranks thus get disjoint
positions of the same list, equally many windows each, and together all of it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np
import torch.distributed as dist
from torch.utils.data import Sampler

from eoforge.data.windows import Window
from eoforge.errors import ConfigError


def distributed_defaults(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)``: as given, else from the initialised process group, else ``(0, 1)``.

    Raises:
        ConfigError: ``rank`` is not in ``[0, world_size)``.
    """
    running = dist.is_available() and dist.is_initialized()
    if world_size is None:
        world_size = dist.get_world_size() if running else 1
    if rank is None:
        rank = dist.get_rank() if running else 0
    if world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(
            f"rank must be in [0, world_size); got rank={rank}, world_size={world_size}."
        )
    return rank, world_size


def shard_positions(count: int, rank: int, world_size: int) -> list[int]:
    """Positions in an epoch list of ``count`` windows that ``rank`` yields.

    The list is padded by wrapping to a multiple of ``world_size``; the rank
    takes positions ``rank, rank + world_size, ...`` of the padded list.

    Returns:
        Indices into the unpadded list, ``ceil(count / world_size)`` of them.
    """
    if count == 0:
        return []
    per_rank = math.ceil(count / world_size)
    return [p % count for p in range(rank, per_rank * world_size, world_size)]


class GeoSampler(Sampler[Window], ABC):
    """Base of eoforge's samplers: seeded epochs, DDP sharding, :class:`Window` items.

    Use it as ``DataLoader(dataset, sampler=sampler, ...)``: the loader hands
    each :class:`Window` to ``dataset[window]``. Call :meth:`set_epoch` before
    each epoch (Lightning does) to draw new windows.

    Args:
        seed: Seed of every draw; the same seed and epoch give the same windows.
        rank: This process's rank; default from ``torch.distributed``, else 0.
        world_size: Number of processes; default from ``torch.distributed``, else 1.
    """

    def __init__(
        self, *, seed: int = 0, rank: int | None = None, world_size: int | None = None
    ) -> None:
        super().__init__()
        self.seed = int(seed)
        self.epoch = 0
        self.rank, self.world_size = distributed_defaults(rank, world_size)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose windows the next iteration yields."""
        self.epoch = int(epoch)

    def rng(self, epoch: int | None = None) -> np.random.Generator:
        """The generator of an epoch's draws (default: the current epoch); the same on all ranks."""
        return np.random.default_rng([self.seed, self.epoch if epoch is None else epoch])

    @abstractmethod
    def epoch_windows(self, epoch: int | None = None) -> Sequence[Window]:
        """All windows of an epoch (default: the current one) before sharding; same on all ranks."""

    @property
    @abstractmethod
    def epoch_size(self) -> int:
        """Number of windows of an epoch before sharding (all ranks together, unpadded)."""

    def __iter__(self) -> Iterator[Window]:
        windows = self.epoch_windows()
        for position in shard_positions(len(windows), self.rank, self.world_size):
            yield windows[position]

    def __len__(self) -> int:
        return math.ceil(self.epoch_size / self.world_size)
