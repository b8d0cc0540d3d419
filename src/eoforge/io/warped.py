"""Warped views of files: one GDAL warped VRT per file and target lattice, kept open.

A warped read through :func:`rasterio.warp.reproject` builds GDAL's
transformer (a PROJ pipeline between the two CRSs) for every call: about 5 ms
fixed cost, more than the warping itself for a 128² window. Sampling many
windows of one file onto one lattice (the same CRS and pixel size, corners on
the same multiples: what a sampler of input groups asks for) can instead keep
one warped VRT of the file on that lattice, so the transformer is built once
and GDAL's block cache holds warped blocks that neighbouring windows reuse.

The view covers the file's footprint in the target CRS; it yields float32
digital numbers with NaN where the file has no valid pixel (its nodata, or
outside it), and the warper leaves those pixels out of the kernel. Tracking
that validity costs GDAL's warper about half again its time, so a file
without nodata has a second VRT without it, read for windows that lie inside
the file's footprint (two pixels in from its edge): there every pixel is
valid and the two give the same values (except beside NaN pixels of a float
file that declares no nodata: the fast view lets them spread to their kernel
neighbours, which come out invalid, where the other renormalises around
them). GDAL warps a view block by block (512 x 128 pixels) and caches the blocks, so a
block straddling the edge of the scene being sampled is warped whole although
windows only use its inner part: for a 2,048-pixel scene a third more warping.
Inside :func:`anchored_blocks` (the multi-input dataset reads so, with the
corner of the reference scene) new views lay their blocks from that corner.
Radiometry
is applied afterwards, so only sources whose calibration is linear and whose
validity is their nodata alone take this path (:func:`fits_view`); the reader
falls back to a per-call reprojection for the others, for rotated grids and
for decimation (2x coarser or more, which reads overviews first).
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import rasterio
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from eoforge.geo.grid import bounds_in, crs_equal, crs_of
from eoforge.io.handles import FileStamp, file_stamp, is_complex, open_dataset, read_failed
from eoforge.io.source import BandAsset

ViewKey = tuple[str, str, float, float, float, float, str]
"""File, target CRS (its definition string: hashing a CRS object renders its WKT each
time), pixel size (x, y), lattice phase (x, y), resampling."""


BLOCK_ROWS, BLOCK_COLS = 128, 512
"""Block shape of GDAL's warped VRTs (its default), pixels."""

Anchor = tuple[str, float, float]
"""A CRS (its definition string) and a point ``(x, y)`` in it."""

_ANCHOR: ContextVar[Anchor | None] = ContextVar("eoforge_view_anchor", default=None)


@contextmanager
def anchored_blocks(crs: str, x: float, y: float) -> Iterator[None]:
    """Within the block, views opened onto ``crs`` lay their blocks from ``(x, y)``.

    Args:
        crs: The CRS of ``x`` and ``y`` (its definition string); views onto another
            CRS ignore the anchor.
        x: Easting of a block corner, CRS units (e.g. the sampled scene's left edge).
        y: Northing of that corner (e.g. the scene's top edge).

    The point is moved onto the view's lattice (nearest pixel corner); views already
    open keep their blocks. Reads get faster; their values move only within the
    warper's approximation (GDAL interpolates the transformation across each block,
    to 0.125 px), as between any two layouts of a warped VRT.
    """
    token = _ANCHOR.set((crs, x, y))
    try:
        yield
    finally:
        _ANCHOR.reset(token)


def _anchored(start: int, anchor: int, block: int) -> int:
    """The last pixel index at or before ``start`` that is ``anchor`` plus whole blocks."""
    return anchor - math.ceil((anchor - start) / block) * block


@dataclass
class _View:
    """Warped VRTs of one file on one lattice, with the handle they read through.

    Attributes:
        source: The file's own handle.
        vrt: Invalid and outside pixels NaN, left out of the kernel.
        stamp: The file's stamp when opened.
        fast: Without validity tracking (a file without nodata only), or None.
        inner: Where ``fast`` serves: the file's footprint in the target CRS, two
            pixels in from its edge (prepared for repeated tests), or None.
    """

    source: rasterio.io.DatasetReader
    vrt: WarpedVRT
    stamp: FileStamp
    fast: WarpedVRT | None = None
    inner: shapely.Geometry | None = None

    def close(self) -> None:
        self.vrt.close()
        if self.fast is not None:
            self.fast.close()
        self.source.close()


def fits_view(dtype: str, assets: Sequence[BandAsset], has_mask: bool) -> bool:
    """Whether bands of a file can be warped before calibration without changing the result.

    True when the file is not complex, has no mask band, and every band shares
    one linear radiometry (scale and offset, no thermal constants) whose only
    validity rule is its nodata value.
    """
    if has_mask or is_complex(dtype) or not assets:
        return False
    rad = {a.radiometry for a in assets}
    if len(rad) != 1 or any(a.complex_mode is not None for a in assets):
        return False
    (one,) = rad
    return one.k1 is None and one.valid_range is None


def _lattice(grid: GeoBox) -> tuple[float, float, float, float] | None:
    """``(xres, yres, x phase, y phase)`` of a north-up grid; None when rotated or flipped."""
    aff = grid.affine
    if aff.b != 0 or aff.d != 0 or aff.a <= 0 or aff.e >= 0:
        return None
    return aff.a, aff.e, aff.c % aff.a, aff.f % -aff.e


class WarpedViews:
    """Least-recently-used warped VRTs, bounded in count, per process (like the handle cache).

    Args:
        max_open: Most views kept open at once (each holds its own file handle).
    """

    def __init__(self, max_open: int = 16) -> None:
        self.max_open = max(1, max_open)
        self._views: OrderedDict[ViewKey, _View] = OrderedDict()
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def read(
        self,
        path: str,
        src_grid: GeoBox,
        indexes: list[int],
        nodata: float | None,
        grid: GeoBox,
        resampling: Resampling,
        out: npt.NDArray[np.float32] | None = None,
    ) -> tuple[npt.NDArray[np.float32], bool] | None:
        """Bands ``indexes`` of ``path`` warped onto ``grid``, NaN where invalid.

        Args:
            path: The file.
            src_grid: Its grid.
            indexes: 1-based band indexes.
            nodata: DN marking missing pixels (None: every finite DN is valid).
            grid: The north-up grid to fill.
            resampling: Warp kernel.
            out: C-contiguous float32 ``[C, H, W]`` array to read into (returned as the
                values), or None for a new array.

        Returns:
            ``(values, overlaps)``: float32 DN ``[C, H, W]`` and whether ``grid`` meets the file's
            footprint at all; None when ``grid`` is rotated or the file's footprint
            cannot be expressed in its CRS (the caller's general path then decides).
        """
        lattice = _lattice(grid)
        if lattice is None:
            return None
        key: ViewKey = (path, str(grid.crs), *lattice, resampling.name)
        view = self._view(key, path, src_grid, grid, nodata, resampling)
        if view is None:
            return None
        vrt = view.vrt
        if view.fast is not None and view.inner is not None:
            bb = grid.boundingbox
            if shapely.contains(view.inner, shapely.box(bb.left, bb.bottom, bb.right, bb.top)):
                vrt = view.fast
        col_f, row_f = ~vrt.transform @ (grid.affine.c, grid.affine.f)
        row, col = round(row_f), round(col_f)
        height, width = grid.shape.y, grid.shape.x
        shape = (len(indexes), height, width)
        if out is None or out.shape != shape or not out.flags.c_contiguous:
            out = np.empty(shape, np.float32)
        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + height, vrt.height), min(col + width, vrt.width)
        if r0 >= r1 or c0 >= c1:
            out.fill(np.nan)
            return out, False
        inside = (r0, c0, r1, c1) == (row, col, row + height, col + width)
        try:
            if inside:  # the usual case: straight into the caller's array
                vrt.read(indexes, window=Window(c0, r0, width, height), out=out)
                return out, True
            part = vrt.read(indexes, window=Window(c0, r0, c1 - c0, r1 - r0))
        except RasterioError as exc:
            raise read_failed(path, exc) from exc
        out.fill(np.nan)
        out[:, r0 - row : r1 - row, c0 - col : c1 - col] = part
        return out, True

    def _view(
        self,
        key: ViewKey,
        path: str,
        src_grid: GeoBox,
        grid: GeoBox,
        nodata: float | None,
        resampling: Resampling,
    ) -> _View | None:
        stamp = file_stamp(path)
        with self._lock:
            if os.getpid() != self._pid:  # inherited through fork: forget, never close
                self._views = OrderedDict()
                self._pid = os.getpid()
            view = self._views.get(key)
            if view is not None and view.stamp == stamp:
                self._views.move_to_end(key)
                return view
            if view is not None:
                del self._views[key]  # the file was rewritten; another thread may hold it
        view = _open_view(path, src_grid, grid, nodata, resampling, stamp)
        if view is None:
            return None
        with self._lock:
            self._views[key] = view
            while len(self._views) > self.max_open:
                _, old = self._views.popitem(last=False)
                old.close()
        return view

    def clear(self) -> None:
        """Close every view of this process."""
        with self._lock:
            if os.getpid() == self._pid:
                for view in self._views.values():
                    view.close()
            self._views = OrderedDict()
            self._pid = os.getpid()


def _open_view(
    path: str,
    src_grid: GeoBox,
    grid: GeoBox,
    nodata: float | None,
    resampling: Resampling,
    stamp: FileStamp,
) -> _View | None:
    """A warped VRT of the file's footprint on ``grid``'s lattice (one pixel of margin)."""
    try:
        left, bottom, right, top = bounds_in(src_grid, grid.crs)
    except Exception:  # pyproj/odc raise several types; the general path reports it
        return None
    if not all(math.isfinite(v) for v in (left, bottom, right, top)):
        return None
    aff = grid.affine
    xres, yres = aff.a, -aff.e
    col0 = math.floor((left - aff.c) / xres) - 1
    row0 = math.floor((aff.f - top) / yres) - 1
    col1 = math.ceil((right - aff.c) / xres) + 1
    row1 = math.ceil((aff.f - bottom) / yres) + 1
    anchor = _ANCHOR.get()
    if anchor is not None and crs_equal(anchor[0], grid.crs):
        col0 = _anchored(col0, round((anchor[1] - aff.c) / xres), BLOCK_COLS)
        row0 = _anchored(row0, round((aff.f - anchor[2]) / yres), BLOCK_ROWS)
    width, height = col1 - col0, row1 - row0
    transform = Affine(xres, 0, aff.c + col0 * xres, 0, -yres, aff.f - row0 * yres)
    source = open_dataset(path)
    float_source = np.issubdtype(np.dtype(source.dtypes[0]), np.floating)
    src_nodata = nodata if nodata is not None else (math.nan if float_source else None)
    lattice = {
        "crs": crs_of(grid).to_wkt(),
        "transform": transform,
        "width": width,
        "height": height,
        "resampling": resampling,
        "dtype": "float32",
    }
    try:
        vrt = WarpedVRT(source, src_nodata=src_nodata, nodata=math.nan, **lattice)
        view = _View(source, vrt, stamp)
        if nodata is None and source.nodata is None:
            view.fast = WarpedVRT(source, **lattice)
            view.inner = _inner(src_grid, grid, 2 * max(xres, yres))
    except RasterioError:
        source.close()
        return None
    return view


def _inner(src_grid: GeoBox, grid: GeoBox, margin: float) -> shapely.Geometry | None:
    """The file's footprint in ``grid``'s CRS, ``margin`` in from its edge (prepared), or None."""
    try:  # 64 points an edge keep curved edges within millimetres (15x faster than points
        outline = src_grid.footprint(crs_of(grid), npoints=64).geom  # ``margin`` apart)
    except Exception:  # pyproj/odc raise several types for impossible transforms
        return None
    inner = outline.buffer(-margin)
    if inner.is_empty:
        return None
    shapely.prepare(inner)
    return inner


VIEWS = WarpedViews(int(os.environ.get("EOFORGE_MAX_WARPED_VIEWS", "16")))
"""This process's warped views."""
