"""Sharing the CPU cores between the model and the thread that reads the next tiles.

A local prediction runs the model's operations on all of PyTorch's intra-op
threads (one per core) while a reader thread decodes the next tiles of local
files, which is CPU work too. With both at once there is one thread more than
cores: the reader takes a core from one of PyTorch's threads, and the others
wait for that one at the end of every operation. :class:`CoreShare` gives the
model one thread fewer for the batches that start while a read is submitted
and not done (reads are submitted just before the batch that needs the
reader's previous group starts), and all of them again once the reader is
idle, so every core does one thing. Thread counts change between batches only;
the block's outputs do not depend on them for the networks tested (ResNet, ViT).

Reads of remote files mostly wait on the network and leave their core free;
they do not need a core of their own (:func:`decodes_locally`).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

import torch

from eoforge.io.handles import file_stamp
from eoforge.io.source import RasterSource


class CoreShare:
    """PyTorch's intra-op threads, one fewer while a read runs.

    Args:
        threads: The model's threads when nothing is read (PyTorch's count now).
        enabled: False: :meth:`pace` leaves the count as it is.
    """

    def __init__(self, threads: int | None = None, *, enabled: bool = True) -> None:
        self.threads = threads or torch.get_num_threads()
        self.enabled = enabled and self.threads > 1
        self._reads = 0
        self._lock = threading.Lock()

    def track(self, read: Future[Any]) -> None:
        """Count ``read`` (just submitted to the reader thread) as running until it is done."""
        with self._lock:
            self._reads += 1
        read.add_done_callback(self._done)

    def _done(self, _: Future[Any]) -> None:
        with self._lock:
            self._reads -= 1

    @property
    def busy(self) -> bool:
        """Whether a read is submitted and not done."""
        return self._reads > 0

    def pace(self) -> int:
        """Set PyTorch's threads for the next batch: one fewer while a read runs.

        Returns:
            The thread count set.
        """
        if not self.enabled:
            return torch.get_num_threads()
        want = self.threads - 1 if self.busy else self.threads
        if torch.get_num_threads() != want:
            torch.set_num_threads(want)
        return want

    def close(self) -> None:
        """Give PyTorch back the thread count it had."""
        if self.enabled and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)


def decodes_locally(inputs: tuple[tuple[RasterSource, ...], ...]) -> bool:
    """Whether every file of ``inputs`` is a local file (reading it is decoding, CPU work)."""
    return all(
        file_stamp(asset.path) is not None
        for date in inputs
        for source in date
        for asset in source.assets.values()
    )
