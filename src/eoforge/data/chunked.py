"""Random windows drawn several at a time from one read-sized chunk (decode-bound loading).

A random ``256 x 256`` window of a tiled, compressed GeoTIFF touches up to four
internal ``512 x 512`` tiles per band, each decoded whole, and a random next
window almost never reuses them: decoding dominates loading. Here an epoch is
drawn as *chunks* instead: a chunk is a cell of a ``read_size`` grid laid on the
region's lattice from its origin (aligned to the file's internal tiling when
``read_size`` is a multiple of the tile size and windows are on the file grid),
picked area-weighted like :class:`~eoforge.data.samplers.RandomGeoSampler`
picks windows, and ``windows_per_read`` windows are placed uniformly inside it.
The tiles of a chunk are then decoded once per DataLoader worker (GDAL's block
cache keeps them) and cut into several windows; every read is still exactly
the window asked for, on its own grid.

Order. Chunks come in random order; the windows of a chunk are spread over
about ``shuffle_buffer`` consecutive positions (each window's position is its
chunk's start plus a uniform offset in ``[0, shuffle_buffer)``, then sorted),
so a batch holds windows of many chunks. When the DataLoader's batch size and
worker count are given, the epoch is laid out in one *stream* per (DDP rank,
worker): ``DataLoader`` hands batch ``j`` to worker ``j % workers``, so all
windows of a chunk reach the same worker and its tiles are decoded once.
Without them a chunk's windows may reach every worker, each decoding it.

Cost in randomness: windows of one chunk are correlated: they come from one
``read_size`` area, and two of them share on average about 9 % of their
pixels for ``256²`` windows in ``1024²`` chunks (44 % in ``512²`` chunks); a
batch of ``B`` holds about ``min(windows_per_read, B * windows_per_read /
shuffle_buffer)`` windows of any one live chunk (2 for ``B = 16``, ``k =
16``, a buffer of 128); an epoch's windows sit in ``length /
windows_per_read`` independently drawn places instead of ``length``. Chunks
are drawn independently (area-weighted), so every chunk is visited only in
expectation, not as a permutation.
Cost in memory: each worker's GDAL block cache should hold the decoded tiles
of ``shuffle_buffer / windows_per_read + 1`` chunks (``read_size² x bands x
bytes per sample`` each, e.g. 20 MiB for ``1024²`` px of 10 uint16 bands);
nothing is written to disk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.data.placement import IntArray, Lattice, PlacedWindows, Size, as_size
from eoforge.errors import ConfigError

_MAX_ROUNDS = 50  # rejection rounds inside one chunk before another chunk is drawn
_MAX_CHUNK_DRAWS = 200  # chunks drawn for one slot before the footprint is declared too small


@dataclass(frozen=True)
class ChunkOptions:
    """How :class:`~eoforge.data.samplers.RandomGeoSampler` groups windows into reads.

    Attributes:
        windows_per_read: Windows placed in each chunk (``k``); 1 turns chunking off.
        read_size: Chunk ``(height, width)`` in lattice pixels; at least the
            window size, best a multiple of the files' internal tile size.
        shuffle_buffer: Consecutive positions (windows, per stream) over which
            one chunk's windows are spread; 1 keeps them together.
        batch_size: The DataLoader's batch size, or None if unknown.
        workers: The DataLoader's ``num_workers`` (0 counts as 1).
    """

    windows_per_read: int = 1
    read_size: Size = (1024, 1024)
    shuffle_buffer: int = 128
    batch_size: int | None = None
    workers: int = 1

    @classmethod
    def make(
        cls,
        windows_per_read: int,
        read_size: int | Size,
        shuffle_buffer: int,
        batch_size: int | None,
        workers: int,
        size: Size,
    ) -> ChunkOptions:
        """Validated options for windows of ``size`` ``(height, width)`` px.

        Raises:
            ConfigError: A count is below 1 (``workers`` below 0) or, with
                ``windows_per_read > 1``, a window does not fit in a chunk.
        """
        read = as_size(read_size)
        if windows_per_read < 1 or shuffle_buffer < 1 or workers < 0:
            raise ConfigError(
                "windows_per_read and shuffle_buffer must be at least 1 and workers at least 0; "
                f"got {windows_per_read}, {shuffle_buffer}, {workers}."
            )
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1; got {batch_size}.")
        if windows_per_read > 1 and (read[0] < size[0] or read[1] < size[1]):
            raise ConfigError(
                f"read_size {read[0]}x{read[1]} px cannot hold a {size[0]}x{size[1]} px window.",
                fix="use a read_size of at least the window size (a multiple of the tile size).",
            )
        return cls(int(windows_per_read), read, int(shuffle_buffer), batch_size, max(1, workers))


class ChunkedWindows(PlacedWindows):
    """An epoch's windows grouped in chunks; :attr:`chunk` says which chunk each came from.

    Args:
        lattices: The lattices ``which`` indexes.
        size: Window ``(height, width)`` in lattice pixels.
        which: Lattice position per window.
        rows: Top-left row per window.
        cols: Top-left column per window.
        chunk: Chunk id per window (unique within the epoch).
    """

    def __init__(
        self,
        lattices: Sequence[Lattice],
        size: Size,
        which: IntArray,
        rows: IntArray,
        cols: IntArray,
        chunk: IntArray,
    ) -> None:
        super().__init__(lattices, size, which, rows, cols)
        self.chunk = chunk


def stream_of_positions(
    count: int, world_size: int, batch_size: int | None, workers: int
) -> IntArray:
    """The stream (``rank * workers + worker``) each epoch position is read by.

    Position ``p`` goes to rank ``p % world_size`` (see
    :func:`~eoforge.data.sharding.shard_positions`) as its ``q = p // world_size``-th
    window; with a known batch size that is batch ``q // batch_size``, read by
    worker ``batch % workers``. Without one, each rank is one stream.

    Returns:
        int64 ``[count]`` stream ids in ``[0, world_size * workers)``.
    """
    p = np.arange(count, dtype=np.int64)
    rank, local = p % world_size, p // world_size
    if batch_size is None:
        return rank * workers
    return rank * workers + (local // batch_size) % workers


def draw_chunked(
    lattices: Sequence[Lattice],
    probabilities: npt.NDArray[np.float64],
    size: Size,
    count: int,
    options: ChunkOptions,
    rng: np.random.Generator,
    world_size: int,
) -> ChunkedWindows:
    """An epoch of ``count`` windows drawn ``options.windows_per_read`` per chunk.

    Args:
        lattices: Where windows may go (each holding a window of ``size``).
        probabilities: Chance of each lattice per chunk (its share of valid area).
        size: Window ``(height, width)`` in lattice pixels.
        count: Windows in the epoch (all ranks together).
        options: Chunking options.
        rng: The epoch's generator (its state advances; same on every rank).
        world_size: DDP world size.

    Returns:
        The epoch's windows in reading order.

    Raises:
        ConfigError: A footprint leaves no room for a window in any chunk drawn.
    """
    k = options.windows_per_read
    streams = stream_of_positions(count, world_size, options.batch_size, options.workers)
    which = np.zeros(count, np.int64)
    rows = np.zeros(count, np.int64)
    cols = np.zeros(count, np.int64)
    chunk = np.zeros(count, np.int64)
    next_chunk = 0
    for stream in range(world_size * options.workers):
        slots = np.flatnonzero(streams == stream)
        if len(slots) == 0:
            continue
        chunks = math.ceil(len(slots) / k)
        lat, r, c = _draw_stream(lattices, probabilities, size, chunks, options, rng)
        ids = np.repeat(np.arange(chunks, dtype=np.int64), k)
        keys = ids * k + rng.uniform(0, options.shuffle_buffer, len(ids))
        order = np.argsort(keys, kind="stable")[: len(slots)]
        which[slots], rows[slots], cols[slots] = lat[order], r[order], c[order]
        chunk[slots] = ids[order] + next_chunk
        next_chunk += chunks
    return ChunkedWindows(lattices, size, which, rows, cols, chunk)


def _draw_stream(
    lattices: Sequence[Lattice],
    probabilities: npt.NDArray[np.float64],
    size: Size,
    chunks: int,
    options: ChunkOptions,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray, IntArray]:
    """``chunks * k`` windows, chunk after chunk: ``(lattice, rows, cols)`` arrays."""
    k = options.windows_per_read
    which = np.repeat(rng.choice(len(lattices), size=chunks, p=probabilities), k)
    rows = np.zeros(chunks * k, np.int64)
    cols = np.zeros(chunks * k, np.int64)
    for index, lattice in enumerate(lattices):
        mine = np.flatnonzero(which[::k] == index)
        if len(mine) == 0:
            continue
        r, c = _draw_in_lattice(lattice, size, len(mine), options, rng)
        slots = (mine[:, None] * k + np.arange(k)).ravel()
        rows[slots], cols[slots] = r, c
    return which, rows, cols


def _chunk_cells(
    lattice: Lattice, read: Size, count: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Top-left ``(row, col)`` of ``count`` chunk cells, weighted by their area in the lattice."""
    origins = []
    for extent, step in ((lattice.grid.shape.y, read[0]), (lattice.grid.shape.x, read[1])):
        starts = np.arange(0, extent, step, dtype=np.int64)
        weights = np.minimum(starts + step, extent) - starts
        origins.append(rng.choice(starts, size=count, p=weights / weights.sum()))
    return origins[0], origins[1]


def _spans(origin: IntArray, step: int, extent: int, window: int) -> tuple[IntArray, IntArray]:
    """First and last top-left offsets of a window inside chunks starting at ``origin``.

    A chunk cut by the lattice's edge shorter than the window is widened back
    into its neighbour, so every chunk holds a whole window.
    """
    low = np.minimum(origin, extent - window)
    high = np.maximum(low, np.minimum(origin + step, extent) - window)
    return low, high


def _draw_in_lattice(
    lattice: Lattice, size: Size, chunks: int, options: ChunkOptions, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """``chunks * k`` window positions, ``k`` per chunk, inside the lattice's valid area."""
    k, read = options.windows_per_read, options.read_size
    shape = (lattice.grid.shape.y, lattice.grid.shape.x)
    r0, c0 = _chunk_cells(lattice, read, chunks, rng)
    rlo, rhi = _spans(r0, read[0], shape[0], size[0])
    clo, chi = _spans(c0, read[1], shape[1], size[1])
    rows = rng.integers(np.repeat(rlo, k), np.repeat(rhi, k) + 1)
    cols = rng.integers(np.repeat(clo, k), np.repeat(chi, k) + 1)
    if lattice.valid is None:
        return rows, cols
    for n in range(chunks):
        part = slice(n * k, (n + 1) * k)
        span = (int(rlo[n]), int(rhi[n]), int(clo[n]), int(chi[n]))
        rows[part], cols[part] = _fill_chunk(lattice, size, options, rng, span)
    return rows, cols


def _fill_chunk(
    lattice: Lattice,
    size: Size,
    options: ChunkOptions,
    rng: np.random.Generator,
    span: tuple[int, int, int, int],
) -> tuple[IntArray, IntArray]:
    """``k`` positions inside the valid area in one chunk (another chunk if this one has none)."""
    k, read = options.windows_per_read, options.read_size
    shape = (lattice.grid.shape.y, lattice.grid.shape.x)
    for _ in range(_MAX_CHUNK_DRAWS):
        rlo, rhi, clo, chi = span
        rows: list[IntArray] = []
        cols: list[IntArray] = []
        got = 0
        for round_ in range(_MAX_ROUNDS):
            r = rng.integers(rlo, rhi + 1, 4 * k)
            c = rng.integers(clo, chi + 1, 4 * k)
            ok = lattice.inside(r, c, size)
            rows.append(r[ok])
            cols.append(c[ok])
            got += int(ok.sum())
            if got >= k:
                return np.concatenate(rows)[:k], np.concatenate(cols)[:k]
            if got == 0 and round_ >= 2:
                break  # this chunk holds (almost) no valid window: draw another
        r0, c0 = _chunk_cells(lattice, read, 1, rng)
        (rlo_a, rhi_a), (clo_a, chi_a) = (
            _spans(r0, read[0], shape[0], size[0]),
            _spans(c0, read[1], shape[1], size[1]),
        )
        span = (int(rlo_a[0]), int(rhi_a[0]), int(clo_a[0]), int(chi_a[0]))
    raise ConfigError(
        f"region {lattice.region}: no {size[0]}x{size[1]} px window fits inside its valid "
        f"footprint in {_MAX_CHUNK_DRAWS} chunks of {read[0]}x{read[1]} px.",
        fix="use a larger read_size or a smaller window size, or check the region's footprint.",
    )
