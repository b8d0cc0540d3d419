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

A read much shorter than a batch is not worth a core: a super-resolution tile
decodes in milliseconds and its forward pass takes a tenth of a second, so one
thread fewer for that batch costs far more than the read. Sharing starts once a
read and a batch are timed (the first batch period counts from the first
:meth:`~CoreShare.pace`, which the run calls just before its first batch), and
stays on only while the mean read takes at least ``min_share`` of the mean batch
period (:attr:`CoreShare.worth_it`). Before that every batch keeps all threads:
on a CPU, reads are shorter than a model's batches far more often than not
(bench_sr's first batch took 0.33 s on one thread instead of 0.15 s on two,
beside a read of 1 ms), and where they are longer only the first batch runs on
every thread beside a read.

Reads of remote files mostly wait on the network and leave their core free;
they do not need a core of their own (:func:`decodes_locally`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any

import torch

from eoforge.io.handles import file_stamp
from eoforge.io.source import RasterSource


class CoreShare:
    """PyTorch's intra-op threads, one fewer while a read runs (when reads are long enough).

    Args:
        threads: The model's threads when nothing is read (PyTorch's count now).
        enabled: False: :meth:`pace` leaves the count as it is.
        min_share: Least mean read time, as a share of the mean batch period, for
            which a read is given a core.
    """

    def __init__(
        self, threads: int | None = None, *, enabled: bool = True, min_share: float = 0.25
    ) -> None:
        self.threads = threads or torch.get_num_threads()
        self.enabled = enabled and self.threads > 1
        self.min_share = min_share
        self._reads = 0
        self._lock = threading.Lock()
        self._read_seconds: list[float] = []
        self._batch_seconds: list[float] = []
        self._last_batch: float | None = None  # the first pace() starts the first period

    def track(self, read: Future[Any]) -> None:
        """Count ``read`` (just submitted to the reader thread) as running until it is done."""
        start = time.perf_counter()
        with self._lock:
            self._reads += 1
        read.add_done_callback(lambda _: self._done(time.perf_counter() - start))

    def _done(self, seconds: float) -> None:
        with self._lock:
            self._reads -= 1
            self._read_seconds.append(seconds)

    def batch_done(self) -> None:
        """Mark the end of a batch: the time since the previous mark is a batch period.

        The first period runs from the first :meth:`pace` (the first batch's start).
        """
        now = time.perf_counter()
        if self._last_batch is not None:
            self._batch_seconds.append(now - self._last_batch)
        self._last_batch = now

    @property
    def worth_it(self) -> bool:
        """Whether reads take long enough to be given a core (no until one of each is timed)."""
        with self._lock:
            reads = list(self._read_seconds)
        if not reads or not self._batch_seconds:
            return False
        mean_read = sum(reads) / len(reads)
        mean_batch = sum(self._batch_seconds) / len(self._batch_seconds)
        return mean_read >= self.min_share * mean_batch

    @property
    def busy(self) -> bool:
        """Whether a read is submitted and not done."""
        return self._reads > 0

    def pace(self) -> int:
        """Set PyTorch's threads for the next batch: one fewer while a read runs.

        Returns:
            The thread count set.
        """
        if self._last_batch is None:
            self._last_batch = time.perf_counter()
        if not self.enabled:
            return torch.get_num_threads()
        want = self.threads - 1 if self.busy and self.worth_it else self.threads
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
