"""Regions to sample from and the windows samplers yield.

A :class:`Region` is where windows may be placed: a grid (usually a scene's
finest file grid) plus an optional footprint of valid data. A :class:`Window`
is what a sampler yields and a dataset reads: a grid plus which image sources
to read for it (one scene, a mosaic, or a time series).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import rasterio.features
import shapely
import shapely.affinity
import shapely.geometry
from affine import Affine
from odc.geo.geobox import GeoBox
from odc.geo.geom import Geometry
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from eoforge.errors import ConfigError
from eoforge.geo.grid import crs_equal, make_grid
from eoforge.io.reader import SourceLike, as_sources, read


@dataclass(frozen=True)
class Region:
    """An area windows may be drawn from.

    Attributes:
        grid: The pixel lattice windows snap to (a scene's file grid), in its CRS.
        footprint: Polygon of valid data in ``grid.crs`` coordinates, or None
            for the whole grid. Only its part inside the grid counts.
        source: Index of the image source this region belongs to (windows
            drawn here read only that source); None reads all sources as a mosaic.
        datetime: Acquisition time of that source, for time series.
    """

    grid: GeoBox
    footprint: BaseGeometry | None = None
    source: int | None = None
    datetime: datetime | None = None


@dataclass(frozen=True)
class Window:
    """One window to read: a grid plus the sources that fill it.

    Attributes:
        grid: The window's grid (CRS, transform, shape ``(H, W)`` in pixels).
        sources: Indices of the image sources to read. For a single-time
            window they form a mosaic (``()`` means every source); for a
            time series there is one source per step, oldest first.
        datetimes: One acquisition time per step for a time series (None
            where unknown), or None for a single-time window.
    """

    grid: GeoBox
    sources: tuple[int, ...] = ()
    datetimes: tuple[datetime | None, ...] | None = None

    @property
    def is_time_series(self) -> bool:
        """Whether each source is a separate time step (image ``[T, C, H, W]``)."""
        return self.datetimes is not None


def grid_geometry(grid: GeoBox) -> BaseGeometry:
    """The grid's outline as a shapely polygon in ``grid.crs`` coordinates."""
    geom: BaseGeometry = grid.extent.geom
    return geom


def valid_area(region: Region) -> BaseGeometry:
    """The region's footprint clipped to its grid, in ``grid.crs`` coordinates."""
    outline = grid_geometry(region.grid)
    if region.footprint is None:
        return outline
    return shapely.intersection(region.footprint, outline)


def reproject_geometry(geom: BaseGeometry, src: GeoBox, dst: GeoBox) -> BaseGeometry:
    """Move a polygon from ``src.crs`` to ``dst.crs`` coordinates (edges densified)."""
    if crs_equal(src.crs, dst.crs):
        return geom
    if dst.crs is None:
        raise ConfigError("a region grid has no CRS; regions must be georeferenced.")
    step = abs(src.resolution.x) * 8
    moved: BaseGeometry = Geometry(shapely.segmentize(geom, step), src.crs).to_crs(dst.crs).geom
    return moved


def to_pixels(geom: BaseGeometry, grid: GeoBox) -> BaseGeometry:
    """Map coordinates of ``grid.crs`` to ``grid`` pixel coordinates (x = column, y = row)."""
    inv = ~grid.affine
    moved: BaseGeometry = shapely.affinity.affine_transform(
        geom, [inv.a, inv.b, inv.d, inv.e, inv.c, inv.f]
    )
    return moved


def geodesic_area(geom: BaseGeometry, grid: GeoBox) -> float:
    """Area in square metres on the WGS84 ellipsoid of a polygon in ``grid.crs`` coordinates.

    Regions in different CRSs (or in degrees) are thus weighted fairly.
    """
    if geom.is_empty:
        return 0.0
    step = abs(grid.resolution.x) * 8
    lonlat = Geometry(shapely.segmentize(geom, step), grid.crs).to_crs("epsg:4326").geom
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(lonlat)
    return abs(float(area))


def regions_from_sources(
    sources: Sequence[SourceLike],
    *,
    footprints: bool = False,
    coarse_size: int = 256,
) -> list[Region]:
    """One region per source: its finest grid, index, datetime and optionally its valid footprint.

    Args:
        sources: Image sources (or paths that :func:`eoforge.io.reader.as_sources` opens).
        footprints: Trace each source's valid data (nodata and mask bands
            excluded) so windows avoid the empty corners of tilted scenes.
            The footprint comes from a read of the first band at about
            ``coarse_size`` pixels across, pulled back by one coarse pixel
            from invalid areas so it stays inside the valid data despite
            the coarse trace.
        coarse_size: Pixels across the coarse read that traces footprints.

    Returns:
        Regions with ``source`` set to each source's position in ``sources``.
    """
    opened = [s for item in sources for s in as_sources(item)]
    regions = []
    for i, source in enumerate(opened):
        grid = source.grid()
        footprint = _valid_footprint(source, grid, coarse_size) if footprints else None
        regions.append(Region(grid, footprint, source=i, datetime=source.datetime))
    return regions


def _valid_footprint(source: SourceLike, grid: GeoBox, coarse_size: int) -> BaseGeometry:
    factor = max(1, math.ceil(max(grid.shape.y, grid.shape.x) / coarse_size))
    coarse = make_grid(
        (math.ceil(grid.shape.y / factor), math.ceil(grid.shape.x / factor)),
        grid.affine @ Affine.scale(factor),
        grid.crs,
    )
    bands = as_sources(source)[0].bands[:1]
    _, valid = read(source, coarse, bands, resampling="nearest")
    shapes = rasterio.features.shapes(
        valid.astype(np.uint8), mask=valid, transform=coarse.affine, connectivity=8
    )
    polygons = [shapely.geometry.shape(geom) for geom, _ in shapes]
    traced = shapely.union_all(polygons)
    # Pull the trace back by one coarse pixel from invalid data only, not from the grid's edges.
    invalid = shapely.difference(grid_geometry(grid), traced)
    shrunk: BaseGeometry = shapely.difference(traced, invalid.buffer(abs(coarse.resolution.x)))
    return shrunk
