"""Window samplers: random (area-weighted), grid (tiling) and time series.

Every sampler yields :class:`~eoforge.data.windows.Window` records whose
``grid`` is an :class:`odc.geo.geobox.GeoBox`. By default windows are
whole-pixel windows of the region's grid, so reads need no resampling. Draws
depend only on ``(seed, epoch)`` and are sharded across DDP ranks (see
:mod:`eoforge.data.sharding`). The class-balanced sampler lives in
:mod:`eoforge.data.balanced`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import overload

import numpy as np
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox
from shapely.geometry.base import BaseGeometry

from eoforge.data.chunked import ChunkOptions, draw_chunked
from eoforge.data.placement import PlacedWindows, Size, as_size, make_lattices
from eoforge.data.sharding import GeoSampler
from eoforge.data.windows import Region, Window, reproject_geometry, valid_area
from eoforge.errors import ConfigError
from eoforge.geo.grid import AnyCRS, make_grid, snap_to_grid, tile_grid


class RandomGeoSampler(GeoSampler):
    """Random windows, area-weighted over the regions, inside their valid footprints.

    A region is picked with probability proportional to its valid area
    (footprint clipped to its grid, in square metres on the ellipsoid, so
    regions in different CRSs or resolutions are weighted fairly); the window
    is then placed uniformly at a whole-pixel offset of the region's lattice
    such that it lies entirely inside the grid *and* inside the footprint
    (rejection sampling against the footprint polygon). Windows therefore
    never hold pixels outside the declared valid data.

    With ``windows_per_read=k > 1`` windows are drawn ``k`` at a time inside
    one ``read_size`` chunk aligned to the lattice's origin (the file's
    internal tiling, for a ``read_size`` that is a multiple of the tile
    size), so loading decodes each tile once for several windows instead of
    once per window; see :mod:`eoforge.data.chunked` for the layout and its
    cost: windows of one chunk are correlated, ``length / k`` independent
    places per epoch, and each worker's GDAL cache should hold
    ``shuffle_buffer / k + 1`` decoded chunks. Windows stay plain whole-pixel
    windows of their region, read exactly as asked.

    Args:
        regions: Where to draw windows.
        size: Window ``(height, width)`` in pixels, or an int for squares.
        length: Windows per epoch over all ranks together (each rank yields
            ``ceil(length / world_size)``).
        res: Window pixel size in CRS units; default the region's own
            (aligned reads). See :func:`eoforge.data.placement.lattice_grid`.
        crs: Window CRS; default each region's own.
        seed: Seed of the draws.
        rank: DDP rank (default from ``torch.distributed``, else 0).
        world_size: DDP world size (default from ``torch.distributed``, else 1).
        windows_per_read: Windows drawn inside each chunk (1: every window
            placed on its own, the default).
        read_size: Chunk ``(height, width)`` in lattice pixels, or an int for
            squares; at least ``size``. Used when ``windows_per_read > 1``.
        shuffle_buffer: Consecutive windows (per stream) a chunk's windows are
            spread over, so batches mix many chunks; 1 keeps them together.
        loader_batch_size: The DataLoader's ``batch_size``; with
            ``loader_workers`` it routes all windows of a chunk to one worker.
        loader_workers: The DataLoader's ``num_workers``.

    Raises:
        ConfigError: No region holds a window of ``size``, ``length < 1``, or
            chunk options out of range (``read_size`` smaller than ``size``).
    """

    def __init__(
        self,
        regions: Sequence[Region],
        size: int | Size,
        length: int,
        *,
        res: float | None = None,
        crs: AnyCRS | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        windows_per_read: int = 1,
        read_size: int | Size = 1024,
        shuffle_buffer: int = 128,
        loader_batch_size: int | None = None,
        loader_workers: int = 0,
    ) -> None:
        super().__init__(seed=seed, rank=rank, world_size=world_size)
        if length < 1:
            raise ConfigError(f"length must be at least 1 window per epoch; got {length}.")
        self.size = as_size(size)
        self.length = int(length)
        self.chunks = ChunkOptions.make(
            windows_per_read,
            read_size,
            shuffle_buffer,
            loader_batch_size,
            loader_workers,
            self.size,
        )
        self.lattices = make_lattices(regions, self.size, res, crs)
        areas = np.array([lat.area for lat in self.lattices], np.float64)
        self.probabilities = areas / areas.sum()

    @property
    def epoch_size(self) -> int:
        """Windows per epoch (``length``)."""
        return self.length

    def epoch_windows(self, epoch: int | None = None) -> Sequence[Window]:
        """Draw an epoch's windows: pick regions by area, then positions inside each.

        With ``windows_per_read > 1`` the result is a
        :class:`~eoforge.data.chunked.ChunkedWindows` whose ``chunk`` array
        names each window's chunk.
        """
        rng = self.rng(epoch)
        if self.chunks.windows_per_read > 1:
            return draw_chunked(
                self.lattices,
                self.probabilities,
                self.size,
                self.length,
                self.chunks,
                rng,
                self.world_size,
            )
        which = rng.choice(len(self.lattices), size=self.length, p=self.probabilities)
        rows = np.zeros(self.length, np.int64)
        cols = np.zeros(self.length, np.int64)
        for k, lattice in enumerate(self.lattices):
            slots = np.flatnonzero(which == k)
            rows[slots], cols[slots] = lattice.draw(rng, len(slots), self.size)
        return PlacedWindows(self.lattices, self.size, which, rows, cols)


class GridGeoSampler(GeoSampler):
    """Every tile of every region, with overlap, in row-major order.

    Tiles come from :func:`eoforge.geo.grid.tile_grid` on each region's
    lattice: they advance by ``size - overlap`` and the last row and column
    are pulled back to end at the grid's edge, so every pixel is covered and
    no tile leaves a grid that is at least one tile large. A grid smaller
    than a tile gets one full-size tile at its origin that reaches past its
    edges (the reader marks those pixels invalid), so batches keep one shape.
    Tiles that share no area with a region's footprint are skipped.

    Args:
        regions: Regions to tile.
        size: Tile ``(height, width)`` in pixels, or an int for squares.
        overlap: Pixels shared by neighbouring tiles, ``0 <= overlap < size``.
        res: Tile pixel size in CRS units; default the region's own.
        crs: Tile CRS; default each region's own.
        shuffle: Shuffle the tiles each epoch (from ``seed`` and the epoch).
        seed: Seed of the shuffle.
        rank: DDP rank (default from ``torch.distributed``, else 0).
        world_size: DDP world size (default from ``torch.distributed``, else 1).
    """

    def __init__(
        self,
        regions: Sequence[Region],
        size: int | Size,
        overlap: int = 0,
        *,
        res: float | None = None,
        crs: AnyCRS | None = None,
        shuffle: bool = False,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__(seed=seed, rank=rank, world_size=world_size)
        self.size = as_size(size)
        self.overlap = int(overlap)
        self.shuffle = shuffle
        self.windows = self._tile(regions, res, crs)

    def _tile(
        self, regions: Sequence[Region], res: float | None, crs: AnyCRS | None
    ) -> list[Window]:
        windows: list[Window] = []
        for lattice in make_lattices(regions, self.size, res, crs, must_fit=False):
            tiles = tile_grid(lattice.grid, self.size, self.overlap)
            rows = np.array([t.window[0] for t in tiles], np.int64)
            cols = np.array([t.window[1] for t in tiles], np.int64)
            keep = lattice.overlaps(rows, cols, self.size)
            windows.extend(
                lattice.window(r, c, self.size)
                for r, c, k in zip(rows, cols, keep, strict=True)
                if k
            )
        return windows

    @property
    def epoch_size(self) -> int:
        """Number of tiles."""
        return len(self.windows)

    def epoch_windows(self, epoch: int | None = None) -> Sequence[Window]:
        """The tiles, shuffled per epoch when ``shuffle`` is set."""
        if not self.shuffle:
            return list(self.windows)
        order = self.rng(epoch).permutation(len(self.windows))
        return [self.windows[i] for i in order]


def _time_order(regions: Sequence[Region]) -> list[int]:
    """Region positions sorted by acquisition time; undated ones keep their order, last."""

    def key(i: int) -> tuple[float, int]:
        when = regions[i].datetime
        return (when.timestamp() if when is not None else math.inf, i)

    return sorted(range(len(regions)), key=key)


def _source_of(region: Region, position: int) -> int:
    return position if region.source is None else region.source


def common_region(regions: Sequence[Region]) -> Region:
    """The region all of ``regions`` cover: the finest grid cropped to the intersection of all.

    The grid is cut (outwards, to whole pixels) to the intersection's bounds, so
    tiles start at the common area's corner; the footprint keeps the exact shape.

    Raises:
        ConfigError: The regions' valid areas do not intersect.
    """
    if not regions:
        raise ConfigError("a time series needs at least one region.")
    base = min(regions, key=lambda r: abs(r.grid.resolution.x)).grid
    parts = [reproject_geometry(valid_area(r), r.grid, base) for r in regions]
    footprint = shapely.intersection_all(parts)
    if footprint.is_empty or footprint.area == 0:
        raise ConfigError(
            f"the {len(regions)} time steps' footprints have no area in common.",
            fix="select sources that overlap (same tile or orbit) before building a time series.",
        )
    return Region(snap_to_grid(_bounds_grid(footprint, base), base), footprint)


def _bounds_grid(geom: BaseGeometry, like: GeoBox) -> GeoBox:
    """A one-pixel grid spanning a polygon's bounds (only its footprint matters)."""
    left, bottom, right, top = geom.bounds
    return make_grid((1, 1), Affine(right - left, 0, left, 0, bottom - top, top), like.crs)


class TimeSeriesSampler(GeoSampler):
    """Windows over the area every dated source covers, each with its ordered time steps.

    The regions (one per source, e.g. from
    :func:`~eoforge.data.windows.regions_from_sources`) are intersected on the
    finest region grid; windows are drawn there like
    :class:`RandomGeoSampler` (when ``length`` is given) or tiled like
    :class:`GridGeoSampler` (when it is None). Each window lists every
    source, oldest first (undated ones last, in given order), so a
    :class:`~eoforge.data.datasets.GeoDataset` stacks them as ``[T, C, H, W]``.

    Args:
        regions: One region per time step; ``Region.source`` (or, if None,
            the region's position) names the image source to read.
        size: Window ``(height, width)`` in pixels, or an int for squares.
        length: Random windows per epoch over all ranks, or None to tile.
        overlap: Tile overlap in pixels when tiling.
        res: Window pixel size in CRS units; default the finest grid's own.
        crs: Window CRS; default the finest grid's.
        seed: Seed of the draws.
        rank: DDP rank (default from ``torch.distributed``, else 0).
        world_size: DDP world size (default from ``torch.distributed``, else 1).
    """

    def __init__(
        self,
        regions: Sequence[Region],
        size: int | Size,
        length: int | None = None,
        *,
        overlap: int = 0,
        res: float | None = None,
        crs: AnyCRS | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__(seed=seed, rank=rank, world_size=world_size)
        order = _time_order(regions)
        self.sources = tuple(_source_of(regions[i], i) for i in order)
        self.datetimes = tuple(regions[i].datetime for i in order)
        common = [common_region(regions)]
        self.inner: GeoSampler
        if length is None:
            self.inner = GridGeoSampler(
                common, size, overlap, res=res, crs=crs, rank=0, world_size=1
            )
        else:
            self.inner = RandomGeoSampler(
                common, size, length, res=res, crs=crs, seed=seed, rank=0, world_size=1
            )

    @property
    def steps(self) -> int:
        """Number of time steps ``T`` per window."""
        return len(self.sources)

    @property
    def epoch_size(self) -> int:
        """Windows per epoch before sharding."""
        return self.inner.epoch_size

    def epoch_windows(self, epoch: int | None = None) -> Sequence[Window]:
        """The epoch's windows, each carrying the ordered sources and datetimes."""
        epoch = self.epoch if epoch is None else epoch
        return StepWindows(self.inner.epoch_windows(epoch), self.sources, self.datetimes)


class StepWindows(Sequence[Window]):
    """Windows of another sequence, each given the time steps of a series (built on access)."""

    def __init__(
        self,
        windows: Sequence[Window],
        sources: tuple[int, ...],
        datetimes: tuple[datetime | None, ...],
    ) -> None:
        self.windows, self.sources, self.datetimes = windows, sources, datetimes

    def __len__(self) -> int:
        return len(self.windows)

    @overload
    def __getitem__(self, index: int) -> Window: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Window]: ...

    def __getitem__(self, index: int | slice) -> Window | Sequence[Window]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return Window(self.windows[index].grid, self.sources, self.datetimes)
