"""What the figures draw, read from files: class rasters with their classes, bands, training logs.

A class raster's classes come from the raster itself (names from its
``CLASS_<id>`` band tags, colours from its colour table) and, where it lacks
them, from a ``legend.json`` beside it or one folder up (synthetic scenes).
Rasters whose longest side exceeds ``max_side`` pixels are read decimated, so
memory follows the figure, not the scene. Nothing here draws or imports
matplotlib.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from affine import Affine
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling

from eoforge.classes import ClassInfo, hex_color
from eoforge.errors import (
    BandNotFoundError,
    ConfigError,
    EoforgeError,
    MissingFileError,
    UnreadableFileError,
    available_list,
)
from eoforge.geo.grid import crs_equal
from eoforge.io.handles import dataset_grid, open_dataset
from eoforge.io.reader import SourceLike, as_sources, read
from eoforge.io.source import RasterSource

Labels = npt.NDArray[np.integer[Any]]
PathLike = str | os.PathLike[str]

MAX_SIDE = 1024
"""Default longest side, in pixels, of a raster read for a figure (larger ones are decimated)."""

FALLBACK_COLORS = (
    "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#7f7f7f", "#d62728", "#aec7e8", "#98df8a",
)  # fmt: skip
"""Colours, ``#rrggbb``, given in turn to classes that bring none."""


def fallback_color(index: int) -> str:
    """The ``index``-th colour of :data:`FALLBACK_COLORS`, cycling, as ``#rrggbb``."""
    return FALLBACK_COLORS[index % len(FALLBACK_COLORS)]


# --------------------------------------------------------------------------- classes


def legend_classes(path: PathLike) -> dict[int, ClassInfo]:
    """Classes of a raster from a ``legend.json`` beside it or one folder up.

    The legend maps a label family to its entries (``{"landcover": [{"value": 1,
    "name": "water", "color": [38, 115, 202], "description": "..."}, ...]}``); the
    family whose name starts the raster's file name is used, else the first one.
    Entries that are not a class (missing keys, bad colour) are skipped.

    Args:
        path: The raster.

    Returns:
        Classes by id; empty when there is no readable legend.
    """
    raster = Path(path)
    for folder in (raster.parent, raster.parent.parent):
        candidate = folder / "legend.json"
        if not candidate.is_file():
            continue
        try:
            legend = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(legend, dict):
            return {}
        keys = [k for k in legend if raster.stem.startswith(str(k))] or list(legend)[:1]
        entries = legend.get(keys[0], []) if keys else []
        out: dict[int, ClassInfo] = {}
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            try:
                info = ClassInfo(
                    id=int(entry["value"]),
                    name=str(entry["name"]),
                    color=entry["color"],
                    description=str(entry.get("description") or ""),
                )
            except (KeyError, TypeError, ValueError):  # pydantic's ValidationError included
                continue
            out[info.id] = info
        return out
    return {}


def read_classes(path: PathLike) -> list[ClassInfo]:
    """Classes of a class raster: names from ``CLASS_<id>`` band tags, colours from its table.

    Names and colours the raster lacks come from :func:`legend_classes`; a class
    with neither gets ``"class <id>"`` and a colour of :data:`FALLBACK_COLORS`.

    Args:
        path: Single-band integer raster.

    Returns:
        One :class:`ClassInfo` per known class, sorted by id; empty when the file
        names no class.

    Raises:
        MissingFileError, UnreadableFileError: The raster cannot be opened.
    """
    with open_dataset(os.fspath(path)) as ds:
        tags = ds.tags(1)
        try:
            table = ds.colormap(1)
        except ValueError:  # no colour table
            table = {}
    legend = legend_classes(path)
    names = {int(k[6:]): v for k, v in tags.items() if k.startswith("CLASS_") and k[6:].isdigit()}
    out = []
    for i, value in enumerate(sorted(set(names) | set(legend))):
        known = legend.get(value)
        name = names.get(value) or (known.name if known else f"class {value}")
        if value in table:
            color = hex_color(tuple(table[value][:3]))
        elif known is not None:
            color = known.color
        else:
            color = fallback_color(i)
        description = known.description if known is not None and known.name == name else ""
        out.append(ClassInfo(id=value, name=name, color=color, description=description))
    return out


# --------------------------------------------------------------------------- class rasters


class ClassRaster(NamedTuple):
    """Band 1 of a class raster as read for a figure.

    Attributes:
        labels: Integer class ids ``[H, W]`` (decimated when the file is larger).
        grid: The grid of ``labels``: the file's, or the same bounds with fewer pixels.
        nodata: The file's nodata value, None when it has none.
    """

    labels: Labels
    grid: GeoBox
    nodata: float | None


class ClassPair(NamedTuple):
    """A predicted and a reference class raster read on one grid.

    Attributes:
        prediction: Integer class ids ``[H, W]``.
        reference: Integer class ids ``[H, W]``, same shape.
        grid: Their common grid (decimated like the arrays).
        nodata: The finite nodata values of either file, as integers.
    """

    prediction: Labels
    reference: Labels
    grid: GeoBox
    nodata: frozenset[int]


def decimated_grid(grid: GeoBox, factor: float) -> GeoBox:
    """The same bounds with about ``factor`` times fewer pixels along each axis.

    Args:
        grid: Grid of ``(H, W)`` pixels.
        factor: Decimation factor, > 1 to shrink.

    Returns:
        A grid of ``(max(1, round(H / factor)), max(1, round(W / factor)))`` pixels.
    """
    height, width = grid.shape.y, grid.shape.x
    shape = (max(1, round(height / factor)), max(1, round(width / factor)))
    scale = Affine.scale(width / shape[1], height / shape[0])
    return GeoBox(shape, grid.affine @ scale, grid.crs)


def read_class_raster(path: PathLike, max_side: int = MAX_SIDE) -> ClassRaster:
    """Band 1 of a class raster, nearest-decimated to at most ``max_side`` pixels a side.

    Nearest resampling keeps class ids: a decimated map holds no blended values.

    Args:
        path: Single-band integer raster.
        max_side: Longest side, in pixels, of the array returned.

    Returns:
        The ids, their grid and the file's nodata value.

    Raises:
        EoforgeError: The raster holds floating-point values, not class ids
            (or cannot be opened: MissingFileError, UnreadableFileError).
    """
    with open_dataset(os.fspath(path)) as ds:
        grid = dataset_grid(ds)
        factor = max(ds.height, ds.width) / max_side
        if factor > 1:
            grid = decimated_grid(grid, factor)
            data = ds.read(1, out_shape=grid.shape.yx, resampling=Resampling.nearest)
        else:
            data = ds.read(1)
        if not np.issubdtype(data.dtype, np.integer):
            raise EoforgeError(
                f"holds {data.dtype} values, not class ids.",
                path=str(path),
                fix="pass a class raster (integer values, one per class).",
            )
        return ClassRaster(np.asarray(data), grid, ds.nodata)


def same_grid(a: GeoBox, b: GeoBox) -> bool:
    """True when two grids have the same shape, transform (to rounding) and CRS."""
    return a.shape == b.shape and a.affine.almost_equals(b.affine) and crs_equal(a.crs, b.crs)


def read_class_pair(
    prediction: PathLike, reference: PathLike, max_side: int = MAX_SIDE
) -> ClassPair:
    """A predicted and a reference class raster, which must share a grid, read decimated alike.

    Args:
        prediction: Predicted class raster.
        reference: Reference class raster.
        max_side: Longest side, in pixels, of the arrays returned.

    Returns:
        Both id arrays ``[H, W]``, their grid and the files' nodata values.

    Raises:
        EoforgeError: The rasters are not on the same grid, or hold no class ids.
    """
    pred = read_class_raster(prediction, max_side)
    ref = read_class_raster(reference, max_side)
    if not same_grid(pred.grid, ref.grid):
        raise EoforgeError(
            f"the prediction ({pred.grid.shape.x}x{pred.grid.shape.y} px) is not on the "
            f"reference's grid ({ref.grid.shape.x}x{ref.grid.shape.y} px, {reference}).",
            path=str(prediction),
            fix="predict on the label raster's grid, or warp one onto the other with gdalwarp.",
        )
    nodata = frozenset(
        int(v) for v in (pred.nodata, ref.nodata) if v is not None and math.isfinite(v)
    )
    return ClassPair(pred.labels, ref.labels, ref.grid, nodata)


# --------------------------------------------------------------------------- bands


class DisplayBands(NamedTuple):
    """Named bands read onto the grid a figure draws.

    Attributes:
        values: float32 ``[C, H, W]`` in physical units (reflectance, dB, ...).
        valid: bool ``[H, W]``, True where every band is valid.
        grid: The grid read (decimated when the source grid is larger than asked).
        units: Per band its radiometric unit (``"dB"``, ...), None for raw or scaled
            numbers.
    """

    values: npt.NDArray[np.float32]
    valid: npt.NDArray[np.bool_]
    grid: GeoBox
    units: tuple[str | None, ...]


def display_grid(
    sources: Sequence[RasterSource], bands: Sequence[str], grid: GeoBox | None, max_side: int
) -> tuple[GeoBox, bool]:
    """The grid to draw bands on and whether it is decimated.

    Args:
        sources: Sources providing the bands.
        bands: Band names.
        grid: Grid asked for; None for the grid of the finest band's file.
        max_side: Longest side, in pixels; a larger grid is decimated to it.

    Returns:
        ``(grid, decimated)``.

    Raises:
        BandNotFoundError: No source provides any of the bands.
    """
    if grid is None:
        grids = []
        for band in bands:
            for source in sources:
                if source.resolve(band) is not None:
                    grids.append(source.grid(band))
                    break
        if not grids:
            provided = {b for s in sources for b in s.bands}
            raise BandNotFoundError(
                f"no source provides any of {', '.join(bands)}; "
                f"they provide: {available_list(provided)}.",
                fix="ask for bands the scene holds (canonical names such as 'S2.B04').",
            )
        grid = min(grids, key=lambda g: abs(g.resolution.x))
    factor = max(grid.shape.y, grid.shape.x) / max_side
    if factor > 1:
        return decimated_grid(grid, factor), True
    return grid, False


def band_unit(sources: Sequence[RasterSource], band: str) -> str | None:
    """The physical unit of a band (``"dB"``, ``"reflectance"``, ...), None for DN or scaled."""
    for source in sources:
        if source.resolve(band) is not None:
            unit = str(source.asset(band).radiometry.unit)
            return None if unit in ("DN", "scaled") else unit
    return None


def read_display_bands(
    sources_or_path: SourceLike | Sequence[SourceLike],
    bands: Sequence[str],
    *,
    grid: GeoBox | None = None,
    max_side: int = MAX_SIDE,
) -> DisplayBands:
    """Named bands read for display: averaged when decimated, bilinear otherwise.

    Args:
        sources_or_path: Sources, a product folder or a raster file.
        bands: Band names (``"S2.B04"``, ``"S1.VV"``).
        grid: Grid to read; default the grid of the finest requested band.
        max_side: Longest side, in pixels; larger grids are read averaged down.

    Returns:
        The values, valid mask, grid and units.

    Raises:
        ConfigError: No band asked for.
        BandNotFoundError: A band no source provides.
    """
    if not bands:
        raise ConfigError("no band to read.", fix="name at least one band (e.g. 'S2.B04').")
    sources = as_sources(sources_or_path)
    draw_grid, decimated = display_grid(sources, bands, grid, max_side)
    values, valid = read(sources, draw_grid, bands, "average" if decimated else "bilinear")
    units = tuple(band_unit(sources, band) for band in bands)
    return DisplayBands(values, valid, draw_grid, units)


# --------------------------------------------------------------------------- training logs


def read_metrics_csv(path: PathLike) -> dict[str, npt.NDArray[np.float64]]:
    """Columns of a Lightning ``CSVLogger`` ``metrics.csv`` as float arrays.

    Args:
        path: The CSV file.

    Returns:
        Column name to float64 ``[rows]``; blank or non-numeric cells are NaN.

    Raises:
        MissingFileError: The file does not exist.
        UnreadableFileError: It is not a CSV with a header row.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(
            "metrics CSV does not exist.", path=p, fix="train with a CSVLogger (eoforge train)."
        )
    try:
        with p.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableFileError(f"cannot be read as CSV ({exc}).", path=p) from exc
    if not rows:
        raise UnreadableFileError("is empty; it has no header row.", path=p)
    header, body = rows[0], rows[1:]
    columns: dict[str, list[float]] = {name: [] for name in header}
    for row in body:
        for i, name in enumerate(header):
            columns[name].append(_as_float(row[i] if i < len(row) else ""))
    return {name: np.asarray(values, np.float64) for name, values in columns.items()}


def _as_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


__all__ = [
    "FALLBACK_COLORS",
    "MAX_SIDE",
    "ClassPair",
    "ClassRaster",
    "DisplayBands",
    "band_unit",
    "decimated_grid",
    "display_grid",
    "fallback_color",
    "legend_classes",
    "read_class_pair",
    "read_class_raster",
    "read_classes",
    "read_display_bands",
    "read_metrics_csv",
    "same_grid",
]
