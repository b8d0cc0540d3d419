"""GeoBox helpers: sub-windows, tiling, footprints, snapping, sample fields.

A grid is an :class:`odc.geo.geobox.GeoBox`: CRS, affine transform and shape
``(height, width)`` in pixels. Pixel coordinates follow rasterio: ``(row,
col)`` with the origin at the top-left corner of the top-left pixel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely.geometry
from affine import Affine
from odc.geo import CRS
from odc.geo.geobox import GeoBox
from pyproj import CRS as ProjCRS
from pyproj import Transformer

AnyCRS = CRS | ProjCRS | str | int | Any

_ALIGN_TOL = 1e-6  # in pixels: offsets closer than this to an integer count as aligned


def to_crs(crs: AnyCRS) -> CRS:
    """Normalise any CRS description (EPSG code, WKT, rasterio/pyproj/odc CRS) to odc's CRS."""
    if isinstance(crs, CRS):
        return crs
    if hasattr(crs, "to_wkt"):
        return CRS(crs.to_wkt())
    return CRS(crs)


def crs_of(grid: GeoBox) -> CRS:
    """The CRS of a grid; eoforge grids always have one.

    Raises:
        ValueError: The grid has no CRS.
    """
    if grid.crs is None:
        raise ValueError(f"grid has no CRS: {grid}")
    return grid.crs


def crs_equal(a: AnyCRS, b: AnyCRS) -> bool:
    """Whether two CRSs give the same coordinates for the same places.

    True for identical definitions, and for definitions that differ only in
    names or in a datum that PROJ relates by a null transformation (e.g. a
    UTM zone "based on the WGS 84 ellipsoid" without an EPSG code, or WGS 84
    versus ETRS89 at PROJ's ballpark accuracy): exactly the cases where GDAL
    would not move a pixel when warping, so a plain windowed read is right.
    EPSG numbers alone are never compared.

    Args:
        a: First CRS, any form accepted by :func:`to_crs`.
        b: Second CRS.

    Returns:
        True when the CRSs are equal as coordinate systems.
    """
    ca, cb = to_crs(a), to_crs(b)
    # Every window read asks this of the same few CRS pairs: remember the answer by the
    # CRSs' definitions (their strings: an EPSG code, or the WKT), whose comparison is free.
    key = (str(ca), str(cb))
    known = _EQUAL.get(key)
    if known is None:
        known = ca == cb or _equivalent_wkt(ca.to_wkt(), cb.to_wkt())
        if len(_EQUAL) > 4096:
            _EQUAL.clear()
        _EQUAL[key] = known
    return known


_EQUAL: dict[tuple[str, str], bool] = {}
"""Answers of :func:`crs_equal` by the pair of CRS definitions, per process."""


@functools.lru_cache(maxsize=256)
def _equivalent_wkt(wkt_a: str, wkt_b: str) -> bool:
    """Whether two WKTs are equal or map every place to the same coordinates.

    For example a UTM zone on an "unknown datum based on WGS 84" versus
    EPSG:326xx: what matters for pixel alignment.
    """
    pa, pb = ProjCRS.from_wkt(wkt_a), ProjCRS.from_wkt(wkt_b)
    if pa.equals(pb, ignore_axis_order=True):
        return True
    if pa.is_geographic != pb.is_geographic:
        return False
    lon, lat = np.meshgrid(np.arange(-180.0, 181.0, 7.5), np.arange(-80.0, 81.0, 5.0))
    try:
        xa, ya = Transformer.from_crs("EPSG:4326", pa, always_xy=True).transform(lon, lat)
        xb, yb = Transformer.from_crs("EPSG:4326", pb, always_xy=True).transform(lon, lat)
    except Exception:  # no transformation known: not provably the same
        return False
    xa, ya, xb, yb = (np.asarray(v, dtype=np.float64) for v in (xa, ya, xb, yb))
    ok = np.isfinite(xa) & np.isfinite(ya) & np.isfinite(xb) & np.isfinite(yb)
    ok &= (np.abs(xa) < 1e7) & (np.abs(ya) < 1e7)  # far outside a projection's domain: ignore
    if ok.sum() < 8:
        return False
    tol = 1e-9 if pa.is_geographic else 1e-3  # degrees / metres
    return bool(np.all(np.abs(xa[ok] - xb[ok]) < tol) and np.all(np.abs(ya[ok] - yb[ok]) < tol))


def make_grid(shape: tuple[int, int], transform: Affine | Sequence[float], crs: AnyCRS) -> GeoBox:
    """Build a grid.

    Args:
        shape: ``(height, width)`` in pixels.
        transform: Affine transform from pixel to map coordinates, or its first six
            coefficients ``(a, b, c, d, e, f)``.
        crs: Coordinate reference system.

    Returns:
        The GeoBox.
    """
    aff = transform if isinstance(transform, Affine) else Affine(*list(transform)[:6])
    return GeoBox((int(shape[0]), int(shape[1])), aff, to_crs(crs))


def grid_from_bounds(
    bounds: tuple[float, float, float, float], crs: AnyCRS, resolution: float
) -> GeoBox:
    """Grid covering ``bounds`` with square pixels of ``resolution`` map units, north up.

    The origin is snapped to a multiple of the resolution, so two grids built
    this way with the same resolution and CRS are pixel-aligned.

    Args:
        bounds: ``(minx, miny, maxx, maxy)`` in ``crs`` units.
        crs: Coordinate reference system.
        resolution: Pixel size in CRS units (metres for UTM).

    Returns:
        The GeoBox.
    """
    minx, miny, maxx, maxy = bounds
    left = math.floor(minx / resolution + _ALIGN_TOL) * resolution
    top = math.ceil(maxy / resolution - _ALIGN_TOL) * resolution
    width = max(1, math.ceil((maxx - left) / resolution - _ALIGN_TOL))
    height = max(1, math.ceil((top - miny) / resolution - _ALIGN_TOL))
    return make_grid((height, width), Affine(resolution, 0, left, 0, -resolution, top), crs)


def sub_grid(grid: GeoBox, row_off: int, col_off: int, height: int, width: int) -> GeoBox:
    """Pixel-aligned sub-window of ``grid``; it may extend beyond the grid's edges.

    Args:
        grid: Parent grid.
        row_off: Row of the window's top-left pixel in the parent (may be negative).
        col_off: Column of the window's top-left pixel in the parent.
        height: Window height in pixels.
        width: Window width in pixels.

    Returns:
        A GeoBox sharing the parent's CRS and pixel lattice.
    """
    aff = grid.affine @ Affine.translation(col_off, row_off)
    return GeoBox((int(height), int(width)), aff, grid.crs)


def pixel_offsets(source: GeoBox, request: GeoBox) -> tuple[float, float] | None:
    """Position of ``request``'s top-left corner in ``source`` pixels, if the lattices match.

    Args:
        source: The grid of a file.
        request: The grid asked for.

    Returns:
        ``(row, col)`` as floats when both grids share CRS, pixel size and
        rotation (so the request lies on the source's lattice up to a
        sub-pixel shift), else None.
    """
    sa, ra = source.affine, request.affine
    if not (
        math.isclose(sa.a, ra.a, rel_tol=1e-9)
        and math.isclose(sa.e, ra.e, rel_tol=1e-9)
        and math.isclose(sa.b, ra.b, abs_tol=1e-12)
        and math.isclose(sa.d, ra.d, abs_tol=1e-12)
    ):
        return None
    if not crs_equal(source.crs, request.crs):
        return None
    col, row = ~sa @ (ra.c, ra.f)
    return row, col


def is_pixel_aligned(source: GeoBox, request: GeoBox) -> bool:
    """Whether ``request`` is a whole-pixel window of ``source``'s lattice (no resampling)."""
    off = pixel_offsets(source, request)
    if off is None:
        return False
    row, col = off
    return abs(row - round(row)) < _ALIGN_TOL and abs(col - round(col)) < _ALIGN_TOL


def pixel_window(source: GeoBox, request: GeoBox) -> tuple[int, int, int, int] | None:
    """Integer window of ``request`` in ``source`` pixels when the two are pixel-aligned.

    Args:
        source: The grid of a file.
        request: The grid asked for.

    Returns:
        ``(row_off, col_off, height, width)`` (which may reach outside the
        source), or None when a warped read is needed.
    """
    off = pixel_offsets(source, request)  # once: it is on every read's path
    if off is None:
        return None
    row, col = off
    if abs(row - round(row)) >= _ALIGN_TOL or abs(col - round(col)) >= _ALIGN_TOL:
        return None
    return round(row), round(col), request.shape.y, request.shape.x


def snap_to_grid(request: GeoBox, source: GeoBox) -> GeoBox:
    """Smallest grid on ``source``'s pixel lattice that covers ``request``'s footprint.

    Use it to turn an arbitrary request (other CRS, other resolution) into a
    request that reads without resampling.

    Args:
        request: The region asked for.
        source: The grid whose lattice (CRS, pixel size, origin) to snap to.

    Returns:
        A grid pixel-aligned with ``source`` covering ``request``.
    """
    left, bottom, right, top = bounds_in(request, source.crs)
    inv = ~source.affine
    corners = [
        inv @ (x, y) for x, y in ((left, top), (right, top), (left, bottom), (right, bottom))
    ]
    cols = [c for c, _ in corners]
    rows = [r for _, r in corners]
    c0 = math.floor(min(cols) + _ALIGN_TOL)
    r0 = math.floor(min(rows) + _ALIGN_TOL)
    c1 = math.ceil(max(cols) - _ALIGN_TOL)
    r1 = math.ceil(max(rows) - _ALIGN_TOL)
    return sub_grid(source, r0, c0, max(1, r1 - r0), max(1, c1 - c0))


def bounds_in(grid: GeoBox, crs: AnyCRS) -> tuple[float, float, float, float]:
    """Bounds ``(minx, miny, maxx, maxy)`` of ``grid`` in another CRS (densified edges)."""
    target = to_crs(crs)
    if crs_equal(grid.crs, target):
        bb = grid.boundingbox
        return float(bb.left), float(bb.bottom), float(bb.right), float(bb.top)
    geom = grid.extent.to_crs(target, resolution=math.inf)
    b = geom.boundingbox
    return float(b.left), float(b.bottom), float(b.right), float(b.top)


def footprint_wgs84(grid: GeoBox, densify: int = 16) -> shapely.geometry.Polygon:
    """Footprint of ``grid`` in EPSG:4326 (lon/lat degrees), edges densified.

    Args:
        grid: The grid.
        densify: Points per edge, so curved edges stay accurate after reprojection.

    Returns:
        Polygon in longitude/latitude.
    """
    geom = grid.footprint("epsg:4326", npoints=densify)
    poly = geom.geom
    assert isinstance(poly, shapely.geometry.Polygon)
    return poly


@dataclass(frozen=True)
class Tile:
    """One tile of a tiled grid.

    Attributes:
        index: ``(tile_row, tile_col)`` position in the tiling.
        window: ``(row_off, col_off, height, width)`` in parent pixels.
        grid: The tile's own grid (pixel-aligned with the parent).
    """

    index: tuple[int, int]
    window: tuple[int, int, int, int]
    grid: GeoBox


def _starts(length: int, size: int, stride: int) -> list[int]:
    if length <= size:
        return [0]
    starts = list(range(0, length - size, stride))
    starts.append(length - size)  # pull the last tile back inside rather than pad
    return starts


def tile_grid(grid: GeoBox, size: int | tuple[int, int], overlap: int = 0) -> list[Tile]:
    """Cover ``grid`` with overlapping tiles that stay inside it.

    Tiles advance by ``size - overlap``; the last tile in each direction is
    pulled back to end at the grid's edge, so no tile reaches outside. A grid
    smaller than ``size`` gives one tile of the grid's size.

    Args:
        grid: Grid to cover.
        size: Tile ``(height, width)`` in pixels, or one int for square tiles.
        overlap: Pixels shared by neighbouring tiles; ``0 <= overlap < size``.

    Returns:
        Tiles in row-major order.

    Raises:
        ValueError: If ``overlap`` is negative or not smaller than ``size``.
    """
    th, tw = (size, size) if isinstance(size, int) else size
    if overlap < 0 or overlap >= min(th, tw):
        raise ValueError(f"overlap must be in [0, tile size); got overlap={overlap}, size={size}")
    height, width = grid.shape.y, grid.shape.x
    tiles: list[Tile] = []
    for i, r in enumerate(_starts(height, th, th - overlap)):
        for j, c in enumerate(_starts(width, tw, tw - overlap)):
            h, w = min(th, height), min(tw, width)
            tiles.append(Tile((i, j), (r, c, h, w), sub_grid(grid, r, c, h, w)))
    return tiles


def pixel_size(grid: GeoBox) -> tuple[float, float]:
    """The true size of a grid's pixels, whatever their rotation or skew.

    Args:
        grid: The grid.

    Returns:
        ``(width, height)`` in CRS units (metres for UTM): the lengths of the
        transform's column vectors ``(a, d)`` and ``(b, e)``. For north-up
        grids these are ``|a|`` and ``|e|``; for a grid of 10 m pixels turned
        30 degrees they are still 10 and 10, where ``|a|`` and ``|e|`` are 8.66.
    """
    a = grid.affine
    return math.hypot(a.a, a.d), math.hypot(a.b, a.e)


def grid_rotation(grid: GeoBox) -> float:
    """How far a grid's rows are turned from the CRS's x axis, in degrees.

    Args:
        grid: The grid.

    Returns:
        The angle from the CRS's x axis (east) to the direction in which
        column numbers grow, counter-clockwise, in ``(-180, 180]`` degrees:
        0 for north-up grids, 30 for a grid whose rows point 30 degrees north
        of east. :func:`pixel_size` gives the pixels' size whatever the rotation.
    """
    a = grid.affine
    angle = math.degrees(math.atan2(a.d, a.a))
    return 180.0 if angle == -180.0 else angle + 0.0  # + 0.0 turns -0.0 into 0.0


def grid_skew(grid: GeoBox) -> float:
    """Degrees by which a grid's row and column directions miss being perpendicular.

    Args:
        grid: The grid.

    Returns:
        0 for the usual rectangular pixels (rotated or not); the angle between
        the transform's column vectors minus 90 degrees otherwise.
    """
    a = grid.affine
    between = math.degrees(math.atan2(abs(a.a * a.e - a.b * a.d), a.a * a.b + a.d * a.e))
    return abs(between - 90.0)


def grid_to_sample(grid: GeoBox) -> dict[str, Any]:
    """The grid fields of a sample: ``crs`` as WKT and ``transform`` as six floats."""
    a = grid.affine
    crs = crs_of(grid)
    key = str(crs)  # the CRS's definition; rendering its WKT costs ~0.3 ms per sample
    wkt = _WKT.get(key)
    if wkt is None:
        if len(_WKT) > 4096:
            _WKT.clear()
        wkt = _WKT[key] = crs.to_wkt()
    return {"crs": wkt, "transform": [a.a, a.b, a.c, a.d, a.e, a.f]}


_WKT: dict[str, str] = {}
"""WKT of each CRS definition :func:`grid_to_sample` met, per process."""


def grid_from_sample(crs: str, transform: Sequence[float], shape: tuple[int, int]) -> GeoBox:
    """Inverse of :func:`grid_to_sample` given the array's ``(height, width)``."""
    return make_grid(shape, transform, crs)
