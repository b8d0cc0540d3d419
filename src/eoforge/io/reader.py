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
import os
from collections.abc import Sequence
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
from eoforge.geo.format import bounds_label, crs_label
from eoforge.geo.grid import bounds_in, crs_of, pixel_window
from eoforge.io.handles import HANDLES, read_failed
from eoforge.io.products import open_sources
from eoforge.io.source import BandAsset, RasterSource
from eoforge.io.warped import VIEWS, fits_view
from eoforge.sensors.indices import is_index_name
from eoforge.sensors.radiometry import Radiometry

SourceLike = RasterSource | str | os.PathLike[str]
"""A source, or a path (file or product folder) that :func:`open_sources` turns into sources."""

_RESAMPLING = {r.name: r for r in Resampling}


def as_sources(sources: SourceLike | Sequence[SourceLike]) -> list[RasterSource]:
    """Normalise paths and sources into a list of :class:`RasterSource`."""
    items: Sequence[SourceLike] = (
        [sources] if isinstance(sources, RasterSource | str | os.PathLike) else list(sources)
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


Calibrated = tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_] | None]
"""Physical values ``[C,h,w]`` and validity ``[C,h,w]`` (None: every pixel valid)."""


def _validity(rad: Radiometry, raw: npt.NDArray[Any], value: npt.NDArray[np.float32]) -> Any:
    """Validity of ``value``, or None when no rule can reject a pixel (the common fast case)."""
    trivially_finite = raw.dtype.kind in "iu" and rad.k1 is None  # integer DN
    if trivially_finite and rad.nodata is None and rad.valid_range is None:
        return None
    return rad.valid(raw, value)


def _calibrate(
    dn: npt.NDArray[Any],
    assets: Sequence[BandAsset],
    mask: npt.NDArray[np.bool_] | None,
    out: npt.NDArray[np.float32] | None = None,
) -> Calibrated:
    """DN ``[C,h,w]`` to physical float32 values and their validity.

    Bands sharing one radiometry (the usual case: all bands of a product) are
    converted in one vectorised pass, straight into ``out`` when given.
    """
    groups: dict[tuple[Radiometry, str | None], list[int]] = {}
    for c, asset in enumerate(assets):
        groups.setdefault((asset.radiometry, asset.complex_mode), []).append(c)
    values = np.empty(dn.shape, np.float32) if out is None else out
    ok: npt.NDArray[np.bool_] | None = None
    for (rad, mode), channels in groups.items():
        whole = len(channels) == len(assets)
        raw = _to_real(dn if whole else dn[channels], mode)
        value = rad.apply(raw, out=values if whole else None)
        valid = _validity(rad, raw, value)
        if whole:
            values, ok = value, valid
            break
        values[channels] = value
        if valid is not None:
            if ok is None:
                ok = np.ones(dn.shape, bool)
            ok[channels] = valid
    if mask is not None:
        ok = np.broadcast_to(mask, dn.shape).copy() if ok is None else ok & mask
    return values, ok


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
    canvas: _Canvas,
    channels: list[int],
) -> tuple[Calibrated, tuple[slice, slice]] | None:
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
    return _calibrate(dn, assets, mask, canvas.direct_target(channels, target)), target


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
            f"cannot reproject between the file's CRS ({crs_label(src_grid.crs)}) and the "
            f"request's ({crs_label(grid.crs)}): {exc}.",
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
    if _decimates(src_grid, grid, resampling):
        out_shape = (max(1, (r1 - r0) // factor), max(1, (c1 - c0) // factor))
    dn = _read_window(ds, [a.index for a in assets], window, out_shape, Resampling.average)
    mask = _mask_for(source, ds.name, ds, window, out_shape)
    values, ok = _calibrate(dn, assets, mask)
    if ok is not None:
        values[~ok] = np.nan  # NaN is the warper's nodata: invalid pixels never blend in
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


def _decimates(src_grid: GeoBox, grid: GeoBox, resampling: Resampling) -> bool:
    """Whether a warped read first decimates the source (2x coarser or more, not nearest)."""
    factor = abs(grid.resolution.x) / abs(src_grid.resolution.x)
    return factor + 1e-9 >= 2 and resampling != Resampling.nearest


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
    out: npt.NDArray[np.float32] | None = None,
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
        fill: Value written where a band has no valid data (per band; ``valid`` is
            False where any band lacks it).
        out: float32 ``[C, H, W]`` array to fill (e.g. one item of a batch in shared
            memory); values are converted straight into it. None: a new array.

    Returns:
        ``(array, valid)``: float32 ``[C, H, W]`` in physical units (per the
        bands' radiometry) and bool ``[H, W]``, True where every band is valid.

    Raises:
        BandNotFoundError: A band no source provides.
        OutsideSourcesError: The grid overlaps none of the sources.
        UnreadableFileError, NotGeoreferencedError, CRSMismatchError: Bad files.
    """
    src_list = as_sources(sources)
    if any(is_index_name(b) for b in bands):
        # PyTorch and the index catalogue load only when a band is an index (``eoforge info``
        # and plain reads keep their start-up time)
        from eoforge.io.derived import derived_names, read_derived

        if derived_names(src_list, bands):
            return read_derived(read, src_list, grid, bands, resampling, fill, out)
    rs = _resampling(resampling)
    plan = _resolve_bands(src_list, bands)
    canvas = _Canvas(len(bands), grid.shape.y, grid.shape.x, _checked_out(out, bands, grid))
    touched = False
    for source, pairs in zip(src_list, plan, strict=True):
        by_path: dict[str, list[tuple[int, BandAsset]]] = {}
        for c, asset in pairs:
            by_path.setdefault(asset.path, []).append((c, asset))
        for path, group in by_path.items():
            touched |= _fill_from_file(source, path, group, grid, rs, canvas)
    if not touched:
        raise OutsideSourcesError(
            f"the requested grid ({_describe(grid)}) does not overlap any of the "
            f"{len(src_list)} source(s).",
            path=", ".join(p for s in src_list for p in s.paths[:1]),
            fix="request a window inside the sources' footprint (check its CRS and bounds with "
            "`eoforge info FILE`).",
        )
    return canvas.finish(fill)


def _checked_out(
    out: npt.NDArray[np.float32] | None, bands: Sequence[str], grid: GeoBox
) -> npt.NDArray[np.float32] | None:
    expected = (len(bands), grid.shape.y, grid.shape.x)
    if out is not None and (out.shape != expected or out.dtype != np.float32):
        raise ValueError(f"out must be float32 {expected}; got {out.dtype} {out.shape}")
    return out


class _Canvas:
    """The output being filled: values ``[C,H,W]`` and which pixels hold valid data.

    The first source to write a channel copies straight in (or hands over its
    array when it fills every channel and pixel); later ones, in a mosaic,
    only fill pixels still missing, so earlier sources win. Channels known
    to be fully valid skip the per-pixel bookkeeping.
    """

    def __init__(
        self, channels: int, height: int, width: int, out: npt.NDArray[np.float32] | None = None
    ) -> None:
        self.shape = (channels, height, width)
        self.values = np.empty(self.shape, np.float32) if out is None else out
        self.have = np.zeros(self.shape, bool)
        self.fresh = [True] * channels
        self.full = [False] * channels

    def _covers(self, region: tuple[slice, slice]) -> bool:
        rows, cols = region
        _, height, width = self.shape
        return (rows.start, rows.stop, cols.start, cols.stop) == (0, height, 0, width)

    def direct_target(
        self, channels: Sequence[int], region: tuple[slice, slice]
    ) -> npt.NDArray[np.float32] | None:
        """The output array itself when a read fills all of it first (then no copy is needed)."""
        whole = list(channels) == list(range(self.shape[0]))
        return self.values if whole and all(self.fresh) and self._covers(region) else None

    def put(
        self,
        channels: Sequence[int],
        region: tuple[slice, slice],
        values: npt.NDArray[np.float32],
        ok: npt.NDArray[np.bool_] | None,
    ) -> None:
        covers = self._covers(region)
        if covers and all(self.fresh) and list(channels) == list(range(self.shape[0])):
            if values is not self.values:
                self.values[...] = values
            self.fresh = [False] * len(channels)
            if ok is None:
                self.full = [True] * len(channels)
            else:
                self.have = ok
            return
        rows, cols = region
        for i, c in enumerate(channels):
            if self.full[c]:
                continue
            out, have = self.values[c, rows, cols], self.have[c, rows, cols]  # views
            if self.fresh[c]:
                out[...] = values[i]
                self.fresh[c] = False
                if ok is None and covers:
                    self.full[c] = True
                else:
                    have[...] = True if ok is None else ok[i]
                continue
            take = ~have if ok is None else ~have & ok[i]
            np.copyto(out, values[i], where=take)
            have |= take

    def finish(self, fill: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        partial = [c for c in range(self.shape[0]) if not self.full[c]]
        if not partial:
            return self.values, np.ones(self.shape[1:], bool)
        have = self.have[partial]
        valid: npt.NDArray[np.bool_] = np.asarray(have.all(axis=0))
        if not valid.all():
            self.values[partial] = np.where(have, self.values[partial], np.float32(fill))
        return self.values, valid


def _fill_from_file(
    source: RasterSource,
    path: str,
    group: list[tuple[int, BandAsset]],
    grid: GeoBox,
    resampling: Resampling,
    canvas: _Canvas,
) -> bool:
    ds, src_grid = HANDLES.get_with_grid(path)
    channels = [c for c, _ in group]
    assets = [a for _, a in group]
    win = pixel_window(src_grid, grid)
    if win is not None:
        got = _read_aligned(source, ds, assets, win, canvas, channels)
        if got is None:
            return False
        (values, ok), region = got
        canvas.put(channels, region, values, ok)
        return True
    viewed = _fill_from_view(source, ds, path, assets, src_grid, grid, resampling, canvas, channels)
    if viewed is not None:
        return viewed
    warped = _read_warped(source, ds, assets, src_grid, grid, resampling)
    if warped is None:
        return False
    whole = (slice(0, grid.shape.y), slice(0, grid.shape.x))
    canvas.put(channels, whole, np.nan_to_num(warped, nan=0.0), np.isfinite(warped))
    return True


def _fill_from_view(
    source: RasterSource,
    ds: rasterio.io.DatasetReader,
    path: str,
    assets: list[BandAsset],
    src_grid: GeoBox,
    grid: GeoBox,
    resampling: Resampling,
    canvas: _Canvas,
    channels: list[int],
) -> bool | None:
    """A warped read through the file's kept-open view (:mod:`eoforge.io.warped`).

    Returns:
        Whether the file met the grid, or None when the view cannot serve it (non-linear
        radiometry, mask bands, complex data, decimation, rotated grids).
    """
    if _decimates(src_grid, grid, resampling) or not fits_view(
        ds.dtypes[assets[0].index - 1], assets, path in source.mask_assets
    ):
        return None
    rad = assets[0].radiometry
    whole = (slice(0, grid.shape.y), slice(0, grid.shape.x))
    target = canvas.direct_target(channels, whole)  # the output itself when this read fills it
    indexes = [a.index for a in assets]
    got = VIEWS.read(path, src_grid, indexes, rad.nodata, grid, resampling, out=target)
    if got is None:
        return None
    dn, overlaps = got
    if not overlaps:
        return False
    values = dn if rad.is_identity else rad.apply(dn, out=dn)
    ok = np.isfinite(values)
    if not ok.all():  # else nothing to replace (nan_to_num costs more than the check)
        values = np.nan_to_num(values, nan=0.0, copy=False)
    canvas.put(channels, whole, values, ok)
    return True


def _describe(grid: GeoBox) -> str:
    b = grid.boundingbox
    return f"bounds {bounds_label(b, grid.crs)} in {crs_label(grid.crs)}"
