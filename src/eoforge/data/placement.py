"""Placing whole-pixel windows inside a region: its lattice, valid area and weight.

Every sampler places windows on a *lattice*: by default the region's own
grid, so each window is a whole-pixel window of the source file and reads take
the aligned fast path (a plain windowed read, no warping). Positions are
integer ``(row, col)`` offsets of a window's top-left pixel in the lattice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox
from shapely.geometry.base import BaseGeometry

from eoforge.data.windows import (
    Region,
    Window,
    geodesic_area,
    reproject_geometry,
    to_pixels,
    valid_area,
)
from eoforge.errors import ConfigError
from eoforge.geo.grid import AnyCRS, bounds_in, crs_equal, grid_from_bounds, make_grid, sub_grid

Size = tuple[int, int]
IntArray = npt.NDArray[np.int64]

_MAX_ROUNDS = 50  # rejection-sampling rounds before a footprint is declared too small
_FULL = 1 - 1e-9  # a valid area this close to the whole lattice needs no footprint test


def as_size(size: int | Size) -> Size:
    """``(height, width)`` in pixels from an int or a pair; both must be positive."""
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if h <= 0 or w <= 0:
        raise ConfigError(f"window size must be positive pixels; got {size!r}.")
    return h, w


def lattice_grid(grid: GeoBox, res: float | None, crs: AnyCRS | None) -> GeoBox:
    """The lattice windows snap to for a region grid.

    Args:
        grid: The region's grid.
        res: Pixel size of the windows in CRS units, or None for the grid's own.
        crs: CRS of the windows, or None for the grid's.

    Returns:
        ``grid`` itself when neither is given (aligned reads); with ``res``
        only, a coarser or finer lattice anchored at the grid's origin (pixel
        edges coincide with the file's where the ratio is whole); with another
        ``crs``, a north-up lattice over the grid's bounds whose origin is a
        multiple of ``res``, shared by every region in that CRS.

    Raises:
        ConfigError: ``crs`` differs from the grid's and ``res`` is missing.
    """
    if crs is None or crs_equal(crs, grid.crs):
        if res is None:
            return grid
        sx, sy = res / abs(grid.resolution.x), res / abs(grid.resolution.y)
        shape = (math.floor(grid.shape.y / sy + 1e-9), math.floor(grid.shape.x / sx + 1e-9))
        return make_grid(shape, grid.affine @ Affine.scale(sx, sy), grid.crs)
    if res is None:
        raise ConfigError(f"windows in another CRS ({crs}) need a pixel size: pass res=.")
    return grid_from_bounds(bounds_in(grid, crs), crs, res)


@dataclass(frozen=True)
class Lattice:
    """Where the windows of one region may go.

    Attributes:
        region: The region's position in the sampler's list.
        grid: The lattice windows snap to.
        valid: Valid area in lattice pixel coordinates (x = column, y = row),
            or None when the whole lattice is valid.
        area: Valid area in square metres (the region's sampling weight).
        sources: Image sources windows of this region read.
    """

    region: int
    grid: GeoBox
    valid: BaseGeometry | None
    area: float
    sources: tuple[int, ...]

    def fits(self, size: Size) -> bool:
        """Whether a window of ``size`` fits inside the lattice at all."""
        return self.grid.shape.y >= size[0] and self.grid.shape.x >= size[1]

    def window(self, row: int, col: int, size: Size) -> Window:
        """The window whose top-left pixel is ``(row, col)`` of the lattice."""
        return Window(sub_grid(self.grid, int(row), int(col), *size), self.sources)

    def inside(self, rows: IntArray, cols: IntArray, size: Size) -> npt.NDArray[np.bool_]:
        """Which windows lie entirely inside the valid area."""
        if self.valid is None:
            return np.ones(len(rows), bool)
        boxes = shapely.box(cols, rows, cols + size[1], rows + size[0])
        return np.asarray(shapely.contains(self.valid, boxes), bool)

    def overlaps(self, rows: IntArray, cols: IntArray, size: Size) -> npt.NDArray[np.bool_]:
        """Which windows share some area (not just an edge) with the valid area."""
        if self.valid is None:
            return np.ones(len(rows), bool)
        boxes = shapely.box(cols, rows, cols + size[1], rows + size[0])
        hit = shapely.intersects(self.valid, boxes) & ~shapely.touches(self.valid, boxes)
        return np.asarray(hit, bool)

    def draw(self, rng: np.random.Generator, count: int, size: Size) -> tuple[IntArray, IntArray]:
        """Uniform random positions of windows lying inside the grid and the valid area.

        Args:
            rng: Random generator (its state advances).
            count: Number of positions.
            size: Window ``(height, width)`` in lattice pixels.

        Returns:
            ``(rows, cols)`` of the windows' top-left pixels, ``count`` each.

        Raises:
            ConfigError: No window of ``size`` fits in the valid area.
        """
        h, w = size
        span = (self.grid.shape.y - h + 1, self.grid.shape.x - w + 1)
        if self.valid is None or count == 0:
            return rng.integers(0, span[0], count), rng.integers(0, span[1], count)
        rate = max(self.valid.area / (span[0] * span[1]), 1e-3)
        rows, cols, got = [], [], 0
        for _ in range(_MAX_ROUNDS):
            batch = min(int((count - got) / rate * 1.2) + 16, 1_000_000)
            r, c = rng.integers(0, span[0], batch), rng.integers(0, span[1], batch)
            ok = self.inside(r, c, size)
            rows.append(r[ok])
            cols.append(c[ok])
            got += int(ok.sum())
            if got >= count:
                return np.concatenate(rows)[:count], np.concatenate(cols)[:count]
        raise ConfigError(
            f"region {self.region}: no {h}x{w} px window fits inside its valid footprint "
            f"(found {got} of {count} after {_MAX_ROUNDS} rounds of draws).",
            fix="use a smaller window size, or check the region's footprint (CRS and extent).",
        )


def make_lattice(
    index: int, region: Region, res: float | None = None, crs: AnyCRS | None = None
) -> Lattice:
    """The lattice, valid area and weight of one region (see :func:`lattice_grid`)."""
    grid = lattice_grid(region.grid, res, crs)
    area_map = reproject_geometry(valid_area(region), region.grid, grid)
    outline = shapely.box(0, 0, grid.shape.x, grid.shape.y)
    pixels = shapely.intersection(to_pixels(area_map, grid), outline)
    valid = None if pixels.area >= outline.area * _FULL else pixels
    if valid is not None:
        shapely.prepare(valid)
    sources = () if region.source is None else (region.source,)
    return Lattice(index, grid, valid, geodesic_area(area_map, grid), sources)


def make_lattices(
    regions: Sequence[Region],
    size: Size,
    res: float | None,
    crs: AnyCRS | None,
    *,
    must_fit: bool = True,
) -> list[Lattice]:
    """Lattices of the regions with valid area (and, with ``must_fit``, room for a window).

    Raises:
        ConfigError: No region qualifies.
    """
    if not regions:
        raise ConfigError("a sampler needs at least one region.")
    lattices = [make_lattice(i, r, res, crs) for i, r in enumerate(regions)]
    usable = [lat for lat in lattices if lat.area > 0 and (lat.fits(size) or not must_fit)]
    if not usable:
        shapes = ", ".join(f"{lat.grid.shape.y}x{lat.grid.shape.x}" for lat in lattices)
        raise ConfigError(
            f"no region can hold a {size[0]}x{size[1]} px window (region lattices: {shapes}) "
            "or their footprints are empty.",
            fix="use a smaller window size or a finer res=.",
        )
    return usable


class PlacedWindows(Sequence[Window]):
    """An epoch's windows kept as arrays; a :class:`Window` is built only when indexed.

    Every rank draws the whole epoch but builds only its own share of windows.

    Args:
        lattices: The lattices ``which`` indexes.
        size: Window ``(height, width)`` in lattice pixels.
        which: Lattice position per window.
        rows: Top-left row per window.
        cols: Top-left column per window.
    """

    def __init__(
        self,
        lattices: Sequence[Lattice],
        size: Size,
        which: IntArray,
        rows: IntArray,
        cols: IntArray,
    ) -> None:
        self.lattices = lattices
        self.size = size
        self.which, self.rows, self.cols = which, rows, cols

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Window: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Window]: ...

    def __getitem__(self, index: int | slice) -> Window | Sequence[Window]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        lattice = self.lattices[int(self.which[index])]
        return lattice.window(int(self.rows[index]), int(self.cols[index]), self.size)
