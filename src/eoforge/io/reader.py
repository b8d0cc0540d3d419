"""Fill a grid with named bands from one or more sources.

``read(sources, grid, bands)`` is the one place where files become arrays:
pixel-aligned requests take a plain windowed read (no resampling, no warper),
others a warped read of just the source window that covers the request.
Radiometry (scale, offset, thermal conversion), nodata and the valid mask are
applied here, once. Several sources form a mosaic: earlier sources win where
they are valid, later ones fill the gaps, whatever their CRS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.warp import reproject
from rasterio.windows import Window

from eoforge.errors import (
    BandNotFoundError,
    CRSMismatchError,
    OutsideSourcesError,
    available_list,
)
from eoforge.geo.grid import bounds_in, crs_of, pixel_window
from eoforge.io.handles import HANDLES, dataset_grid, read_failed
from eoforge.io.source import BandAsset, RasterSource

SourceLike = RasterSource | str | Path

_RESAMPLING = {r.name: r for r in Resampling}


def as_sources(sources: SourceLike | Sequence[SourceLike]) -> list[RasterSource]:
    """Normalise paths and sources into a list of :class:`RasterSource`."""
    from eoforge.io.products import open_sources

    items: Sequence[SourceLike] = (
        [sources] if isinstance(sources, RasterSource | str | Path) else list(sources)
    )
    out: list[RasterSource] = []
    for item in items:
        out.extend([item] if isinstance(item, RasterSource) else open_sources(item))
    return out


def _resampling(value: str | Resampling) -> Resampling:
    if isinstance(value, Resampling):
        return value
    try:
        return _RESAMPLING[value]
    except KeyError:
        raise ValueError(
            f"unknown resampling {value!r}; use one of {', '.join(sorted(_RESAMPLING))}"
        ) from None


def _to_real(dn: npt.NDArray[Any], mode: str | None) -> npt.NDArray[Any]:
    if mode is None or not np.iscomplexobj(dn):
        return dn
    power: npt.NDArray[np.float32] = np.abs(dn).astype(np.float32) ** 2
    if mode == "amplitude":
        return np.asarray(np.sqrt(power))
    if mode == "intensity":
        return power
    with np.errstate(divide="ignore"):
        return np.asarray(10.0 * np.log10(power))


def _calibrate(
    dn: npt.NDArray[Any], assets: Sequence[BandAsset], mask: npt.NDArray[np.bool_] | None
) -> npt.NDArray[np.float32]:
    """DN ``[C,h,w]`` to physical float32 with NaN where invalid."""
    out = np.empty(dn.shape, np.float32)
    for c, asset in enumerate(assets):
        raw = _to_real(dn[c], asset.complex_mode)
        value = asset.radiometry.apply(raw)
        ok = asset.radiometry.valid(raw, value)
        if mask is not None:
            ok &= mask
        value[~ok] = np.nan
        out[c] = value
    return out


def _read_window(
    ds: rasterio.io.DatasetReader,
    indexes: list[int],
    window: Window,
    out_shape: tuple[int, int] | None = None,
    resampling: Resampling = Resampling.nearest,
) -> npt.NDArray[Any]:
    try:
        if out_shape is None:
            return np.asarray(ds.read(indexes, window=window))
        return np.asarray(
            ds.read(
                indexes, window=window, out_shape=(len(indexes), *out_shape), resampling=resampling
            )
        )
    except RasterioError as exc:
        raise read_failed(ds.name, exc) from exc


def _mask_for(
    source: RasterSource,
    path: str,
    ds: rasterio.io.DatasetReader,
    window: Window,
    out_shape: tuple[int, int] | None = None,
) -> npt.NDArray[np.bool_] | None:
    index = source.mask_assets.get(path)
    if index is None:
        return None
    alpha = _read_window(ds, [index], window, out_shape)
    return np.asarray(alpha[0] > 0)


def _read_aligned(
    source: RasterSource,
    ds: rasterio.io.DatasetReader,
    assets: list[BandAsset],
    win: tuple[int, int, int, int],
) -> tuple[npt.NDArray[np.float32], tuple[slice, slice]] | None:
    """Plain windowed read of the part of ``win`` inside the file; None if disjoint."""
    row, col, height, width = win
    r0, c0 = max(row, 0), max(col, 0)
    r1, c1 = min(row + height, ds.height), min(col + width, ds.width)
    if r0 >= r1 or c0 >= c1:
        return None
    window = Window(c0, r0, c1 - c0, r1 - r0)
    dn = _read_window(ds, [a.index for a in assets], window)
    mask = _mask_for(source, ds.name, ds, window)
    target = (slice(r0 - row, r1 - row), slice(c0 - col, c1 - col))
    return _calibrate(dn, assets, mask), target


def _read_warped(
    source: RasterSource,
    ds: rasterio.io.DatasetReader,
    assets: list[BandAsset],
    src_grid: GeoBox,
    grid: GeoBox,
    resampling: Resampling,
) -> npt.NDArray[np.float32] | None:
    """Read the source window covering ``grid`` and warp it onto ``grid``; None if disjoint."""
    try:
        left, bottom, right, top = bounds_in(grid, src_grid.crs)
    except Exception as exc:  # pyproj/odc raise several types for impossible transforms
        raise CRSMismatchError(
            f"cannot reproject between the file's CRS ({src_grid.crs}) and the request's "
            f"({grid.crs}): {exc}.",
            path=ds.name,
            fix="reproject the file to a standard CRS with gdalwarp, or request a grid in the "
            "file's CRS.",
        ) from exc
    if not all(math.isfinite(v) for v in (left, bottom, right, top)):
        return None
    inv = ~src_grid.affine
    xs, ys = zip(
        *[inv @ (x, y) for x, y in ((left, top), (right, top), (left, bottom), (right, bottom))],
        strict=True,
    )
    pad = 2  # pixels of context for bilinear/cubic kernels at the window edge
    c0 = max(math.floor(min(xs)) - pad, 0)
    r0 = max(math.floor(min(ys)) - pad, 0)
    c1 = min(math.ceil(max(xs)) + pad, ds.width)
    r1 = min(math.ceil(max(ys)) + pad, ds.height)
    if c0 >= c1 or r0 >= r1:
        return None
    window = Window(c0, r0, c1 - c0, r1 - r0)
    # Downsampling by 2x or more: let GDAL decimate (and use overviews) before warping.
    factor = max(1, int(abs(grid.resolution.x) / abs(src_grid.resolution.x) + 1e-9))
    out_shape = None
    if factor >= 2 and resampling != Resampling.nearest:
        out_shape = (max(1, (r1 - r0) // factor), max(1, (c1 - c0) // factor))
    dn = _read_window(ds, [a.index for a in assets], window, out_shape, Resampling.average)
    mask = _mask_for(source, ds.name, ds, window, out_shape)
    values = _calibrate(dn, assets, mask)
    src_transform = ds.window_transform(window)
    if out_shape is not None:
        src_transform = src_transform @ rasterio.Affine.scale(
            (c1 - c0) / out_shape[1], (r1 - r0) / out_shape[0]
        )
    dest = np.full((len(assets), grid.shape.y, grid.shape.x), np.nan, np.float32)
    reproject(
        values,
        dest,
        src_transform=src_transform,
        src_crs=ds.crs,
        src_nodata=np.nan,
        dst_transform=grid.affine,
        dst_crs=crs_of(grid).to_wkt(),
        dst_nodata=np.nan,
        resampling=resampling,
    )
    return dest


def _resolve_bands(
    sources: list[RasterSource], bands: Sequence[str]
) -> list[list[tuple[int, BandAsset]]]:
    """Per source, the (output channel, asset) pairs it can fill."""
    plan: list[list[tuple[int, BandAsset]]] = [[] for _ in sources]
    for c, name in enumerate(bands):
        found = False
        for s, source in enumerate(sources):
            key = source.resolve(name)
            if key is not None:
                plan[s].append((c, source.assets[key]))
                found = True
        if not found:
            provided = {b for src in sources for b in src.bands}
            raise BandNotFoundError(
                f"no source provides band {name!r}; they provide: {available_list(provided)}.",
                path=", ".join(p for src in sources for p in src.paths[:1]),
                fix="ask for one of the listed bands (canonical names like 'S2.B04' or aliases "
                "like 'red'), or add the files that hold it.",
            )
    return plan


def read(
    sources: SourceLike | Sequence[SourceLike],
    grid: GeoBox,
    bands: Sequence[str],
    resampling: str | Resampling = "bilinear",
    *,
    fill: float = 0.0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Read named bands from sources onto a grid.

    Args:
        sources: A source, a path (file or product folder), or a sequence of
            them forming a mosaic (earlier ones win where valid).
        grid: The grid to fill: CRS, transform and shape ``(H, W)``.
        bands: Band names or aliases (``"S2.B04"``, ``"red"``), in the order
            wanted; each must be provided by at least one source.
        resampling: Used only when a source is not pixel-aligned with the
            grid: ``"nearest"`` (labels), ``"bilinear"``, ``"cubic"``, ``"average"``...
        fill: Value written where a pixel is invalid.

    Returns:
        ``(array, valid)``: float32 ``[C, H, W]`` in physical units (per the
        bands' radiometry) and bool ``[H, W]``, True where every band is valid.

    Raises:
        BandNotFoundError: A band no source provides.
        OutsideSourcesError: The grid overlaps none of the sources.
        UnreadableFileError, NotGeoreferencedError, CRSMismatchError: Bad files.
    """
    src_list = as_sources(sources)
    rs = _resampling(resampling)
    plan = _resolve_bands(src_list, bands)
    out = np.full((len(bands), grid.shape.y, grid.shape.x), np.nan, np.float32)
    touched = False
    for source, pairs in zip(src_list, plan, strict=True):
        by_path: dict[str, list[tuple[int, BandAsset]]] = {}
        for c, asset in pairs:
            by_path.setdefault(asset.path, []).append((c, asset))
        for path, group in by_path.items():
            touched |= _fill_from_file(source, path, group, grid, rs, out)
    if not touched:
        raise OutsideSourcesError(
            f"the requested grid ({_describe(grid)}) does not overlap any of the "
            f"{len(src_list)} source(s).",
            path=", ".join(p for s in src_list for p in s.paths[:1]),
            fix="request a window inside the sources' footprint (check its CRS and bounds with "
            "`eoforge info FILE`).",
        )
    valid = np.all(np.isfinite(out), axis=0)
    out[~np.isfinite(out)] = fill
    return out, valid


def _fill_from_file(
    source: RasterSource,
    path: str,
    group: list[tuple[int, BandAsset]],
    grid: GeoBox,
    resampling: Resampling,
    out: npt.NDArray[np.float32],
) -> bool:
    ds = HANDLES.get(path)
    src_grid = dataset_grid(ds)
    channels = [c for c, _ in group]
    assets = [a for _, a in group]
    win = pixel_window(src_grid, grid)
    if win is not None:
        got = _read_aligned(source, ds, assets, win)
        if got is None:
            return False
        values, (rows, cols) = got
        for i, c in enumerate(channels):
            view = out[c, rows, cols]  # a view: basic slicing
            np.copyto(view, values[i], where=np.isnan(view))
        return True
    warped = _read_warped(source, ds, assets, src_grid, grid, resampling)
    if warped is None:
        return False
    for i, c in enumerate(channels):
        np.copyto(out[c], warped[i], where=np.isnan(out[c]))
    return True


def _describe(grid: GeoBox) -> str:
    b = grid.boundingbox
    crs = crs_of(grid).epsg
    name = f"EPSG:{crs}" if crs else "custom CRS"
    return f"{name} bounds {b.left:.6g}, {b.bottom:.6g}, {b.right:.6g}, {b.top:.6g}"
