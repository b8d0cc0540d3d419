"""Map figures: imagery quicklooks, class maps and error maps, with map-coordinate axes.

Each function returns a :class:`matplotlib.figure.Figure` drawn off-screen
(:func:`eoforge.evaluate.figures.new_figure`) and takes an optional ``path``
to also write it as a PNG. Files are read through
:mod:`eoforge.evaluate.readers`, decimated to ``max_side`` pixels a side, so
memory depends on the figure, not on the scene.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from odc.geo.geobox import GeoBox

from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError, EoforgeError
from eoforge.evaluate.figures import PathLike, finish_figure, new_figure
from eoforge.evaluate.readers import (
    MAX_SIDE,
    Labels,
    fallback_color,
    read_class_pair,
    read_class_raster,
    read_classes,
    read_display_bands,
)
from eoforge.geo.grid import crs_of
from eoforge.io.reader import SourceLike

Float32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]

NODATA_NAMES = frozenset({"nodata", "no_data", "no data", "unlabelled", "unlabeled"})
"""Class names treated as "no class" and drawn transparent."""

UNKNOWN_CLASS = "#ff00ff"
"""Colour of values in a class map that no class describes (magenta, so they are noticed)."""

CORRECT, WRONG, NOT_SCORED = "#a6d96a", "#d7191c", "#d9d9d9"
"""Error-map colours: prediction agrees, disagrees, pixel not scored."""


# --------------------------------------------------------------------------- stretch


def percentile_stretch(
    values: npt.NDArray[np.floating[Any]],
    valid: Bool | None = None,
    percentiles: tuple[float, float] = (2.0, 98.0),
) -> tuple[Float32, list[tuple[float, float]]]:
    """Linear per-band stretch mapping the low/high percentiles of valid pixels to 0 and 1.

    Args:
        values: ``[C, H, W]`` or ``[H, W]`` in physical units (reflectance, dB, ...).
        valid: bool ``[H, W]``; True where a pixel counts (non-finite values never count).
        percentiles: Low and high percentiles, 0-100.

    Returns:
        ``(scaled, limits)``: float32 of the shape of ``values`` clipped to 0-1, and
        per band the ``(low, high)`` values mapped to 0 and 1 (``(0, 1)`` for a band
        without valid pixels).
    """
    stack = values[None] if values.ndim == 2 else values
    scaled = np.zeros(stack.shape, np.float32)
    limits: list[tuple[float, float]] = []
    for c, band in enumerate(stack):
        ok = np.isfinite(band) if valid is None else valid & np.isfinite(band)
        if not ok.any():
            limits.append((0.0, 1.0))
            continue
        low, high = (float(v) for v in np.percentile(band[ok], percentiles))
        span = high - low if high > low else 1.0
        scaled[c] = np.clip((np.nan_to_num(band, nan=low) - low) / span, 0.0, 1.0)
        limits.append((low, high))
    return (scaled[0] if values.ndim == 2 else scaled), limits


# --------------------------------------------------------------------------- map axes


def _extent(grid: GeoBox) -> tuple[float, float, float, float]:
    box = grid.boundingbox
    return box.left, box.right, box.bottom, box.top


def _style_map_axes(ax: Axes, grid: GeoBox | None) -> None:
    """Label the axes with map coordinates (or pixels when there is no grid)."""
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.tick_params(labelsize=7)
    if grid is None:
        ax.set_xlabel("column (pixels)", fontsize=8)
        ax.set_ylabel("row (pixels)", fontsize=8)
        return
    crs = crs_of(grid)
    name = f"EPSG:{crs.epsg}" if crs.epsg else "map CRS"
    res = abs(grid.resolution.x)
    if crs.geographic:
        ax.set_xlabel(f"longitude (°, {name})", fontsize=8)
        ax.set_ylabel(f"latitude (°, {name})", fontsize=8)
        return
    fmt = FuncFormatter(lambda v, _pos: f"{v:,.0f}")
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    unit = crs.units[0] if crs.units else "m"
    unit = "m" if unit in ("metre", "meter") else unit
    ax.set_xlabel(f"easting ({unit}, {name}); pixel {res:g} {unit}", fontsize=8)
    ax.set_ylabel(f"northing ({unit})", fontsize=8)


def _map_figure(shape: tuple[int, int], extra_width: float = 0.0) -> Figure:
    """A figure for a map of ``shape`` ``(H, W)`` pixels, ``extra_width`` inches for a legend."""
    height, width = shape
    aspect = height / max(width, 1)
    base = 6.0
    return new_figure(
        base + extra_width, min(max((base - 0.9) * aspect + 1.0, 3.0), 10.0), layout="compressed"
    )


def _map_legend(fig: Figure, handles: list[Patch], title: str) -> None:
    fig.legend(
        handles=handles,
        loc="outside right upper",
        frameon=False,
        fontsize=8,
        title=title,
        title_fontsize=8,
    )


# --------------------------------------------------------------------------- quicklook


def quicklook(
    sources_or_path: SourceLike | Sequence[SourceLike],
    bands: Sequence[str],
    *,
    grid: GeoBox | None = None,
    stretch: tuple[float, float] = (2.0, 98.0),
    title: str | None = None,
    unit: str | None = None,
    max_side: int = MAX_SIDE,
    path: PathLike | None = None,
) -> Figure:
    """A colour composite (3 bands as RGB) or a grey single band, read by band name.

    Each band is stretched linearly between its ``stretch`` percentiles over valid
    pixels; invalid pixels are drawn black. The axes carry map coordinates.

    Args:
        sources_or_path: Sources, a product folder or a raster file.
        bands: 3 names for red, green, blue (``["S2.B04", "S2.B03", "S2.B02"]`` true
            colour, ``["S2.B08", "S2.B04", "S2.B03"]`` NIR-red-green false colour) or
            1 name drawn grey (``["S1.VV"]``) with a colour bar in physical units.
        grid: Grid to draw; default the grid of the finest requested band.
        stretch: Low and high percentiles (0-100) mapped to black and full brightness.
        title: Figure title; default the band names.
        unit: Unit of a single band for the colour bar (e.g. ``"dB"``); default the
            band's radiometric unit when it has one.
        max_side: Longest side in pixels drawn; larger grids are read averaged down.
        path: Also write the PNG there.

    Returns:
        The figure; its image is RGBA ``[H, W, 4]`` (composite) or the band ``[H, W]``.

    Raises:
        ConfigError: Neither 1 nor 3 bands.
        BandNotFoundError: A band no source provides.
    """
    if len(bands) not in (1, 3):
        raise ConfigError(
            f"a quicklook draws 1 band (grey) or 3 bands (RGB), got {len(bands)}: {list(bands)}.",
            fix="pass three band names for a composite or one for a single band.",
        )
    read = read_display_bands(sources_or_path, bands, grid=grid, max_side=max_side)
    values, valid, draw_grid = read.values, read.valid, read.grid
    scaled, limits = percentile_stretch(values, valid, stretch)
    single = len(bands) == 1
    fig = _map_figure((draw_grid.shape.y, draw_grid.shape.x), 1.2 if single else 0.0)
    ax = fig.add_subplot()
    ax.set_facecolor("black")
    extent = _extent(draw_grid)
    if single:
        low, high = limits[0]
        shown = np.ma.masked_array(values[0], mask=~valid)
        image = ax.imshow(
            shown, cmap="gray", vmin=low, vmax=high, extent=extent, interpolation="nearest"
        )
        unit = unit or read.units[0]
        label = f"{bands[0]} ({unit})" if unit else bands[0]
        fig.colorbar(image, ax=ax, shrink=0.8, label=label)
    else:
        rgba = np.concatenate([scaled, valid[None].astype(np.float32)]).transpose(1, 2, 0)
        ax.imshow(rgba, extent=extent, interpolation="nearest")
    _style_map_axes(ax, draw_grid)
    ranges = ", ".join(
        f"{b.split('.')[-1]} {lo:.3g} to {hi:.3g}"
        for b, (lo, hi) in zip(bands, limits, strict=True)
    )
    note = f"stretch {stretch[0]:g}–{stretch[1]:g} %: {ranges}"
    if not valid.all():
        note += f"; no data (black) {100 * (1 - valid.mean()):.1f} %"
    fig.suptitle(title or " / ".join(bands), fontsize=11)
    ax.set_title(note, fontsize=7.5)
    return finish_figure(fig, path)


# --------------------------------------------------------------------------- class map


def is_nodata_class(name: str) -> bool:
    """True for class names meaning "no class" (:data:`NODATA_NAMES`, any case)."""
    return name.strip().lower() in NODATA_NAMES


def class_map(
    path_or_array: PathLike | Labels,
    classes: Sequence[ClassInfo] | None = None,
    *,
    title: str | None = None,
    grid: GeoBox | None = None,
    nodata: Sequence[int] = (255,),
    max_side: int = MAX_SIDE,
    path: PathLike | None = None,
) -> Figure:
    """A class raster in its class colours, with a legend of class names and area shares.

    Args:
        path_or_array: Single-band integer raster, or an integer array ``[H, W]``.
        classes: The classes to draw; default from the raster
            (:func:`eoforge.evaluate.readers.read_classes`), else one generated
            colour per value present. Values without a class are drawn magenta.
        title: Figure title.
        grid: Grid of an array input, for map coordinates (a file brings its own).
        nodata: Values drawn transparent, besides the file's nodata value and
            classes named "nodata".
        max_side: Longest side drawn; larger rasters are read nearest-decimated.
        path: Also write the PNG there.

    Returns:
        The figure; its image is RGBA ``[H, W, 4]`` and its legend lists every class
        except the no-data ones, as ``"name (share of the valid area %)"``.
    """
    skip = {int(v) for v in nodata}
    if isinstance(path_or_array, np.ndarray):
        labels = np.asarray(path_or_array)
        draw_grid = grid
    else:
        raster = read_class_raster(path_or_array, max_side)
        labels, draw_grid = raster.labels, raster.grid
        if raster.nodata is not None and math.isfinite(raster.nodata):
            skip.add(int(raster.nodata))
        if classes is None:
            classes = read_classes(path_or_array) or None
    if classes is None:
        present = sorted(int(v) for v in np.unique(labels) if int(v) not in skip)
        classes = [
            ClassInfo(id=v, name=f"class {v}", color=fallback_color(i))
            for i, v in enumerate(present)
        ]
    skip |= {c.id for c in classes if is_nodata_class(c.name)}
    shown = [c for c in classes if c.id not in skip]
    lut_size = max(256, int(labels.max(initial=0)) + 1, *(c.id + 1 for c in shown))
    lut = np.zeros((lut_size, 4), np.float32)
    lut[:] = to_rgba(UNKNOWN_CLASS)
    hidden = [v for v in skip if 0 <= v < lut_size]
    lut[hidden] = 0.0
    for item in shown:
        lut[item.id] = to_rgba(item.color)
    clipped = np.clip(labels.astype(np.int64), 0, lut_size - 1)
    counts = np.bincount(clipped.ravel(), minlength=lut_size)
    valid_total = max(int(counts.sum() - counts[hidden].sum()), 1)
    fig = _map_figure(labels.shape, 2.2)
    ax = fig.add_subplot()
    extent = _extent(draw_grid) if draw_grid is not None else None
    ax.imshow(lut[clipped], extent=extent, interpolation="nearest")
    _style_map_axes(ax, draw_grid)
    handles = [
        Patch(
            facecolor=item.color,
            edgecolor="#333333",
            label=f"{item.name} ({100 * counts[item.id] / valid_total:.1f} %)",
        )
        for item in shown
    ]
    blank = int(counts[hidden].sum())
    if blank:
        share = 100 * blank / max(labels.size, 1)
        label = f"no data ({share:.1f} % of map)"
        handles.append(Patch(facecolor="white", edgecolor="#999999", label=label))
    _map_legend(fig, handles, "class (area)")
    fig.suptitle(title or "classes", fontsize=11)
    return finish_figure(fig, path)


# --------------------------------------------------------------------------- error map


def _pair(
    prediction: PathLike | Labels, reference: PathLike | Labels, max_side: int
) -> tuple[Labels, Labels, GeoBox | None, frozenset[int]]:
    """Both maps as arrays on one grid, the grid (None for arrays) and the files' nodata."""
    if isinstance(prediction, np.ndarray) and isinstance(reference, np.ndarray):
        if prediction.shape != reference.shape:
            raise EoforgeError(
                f"prediction {prediction.shape} and reference {reference.shape} differ in shape.",
                fix="compare maps on the same grid.",
            )
        return prediction, reference, None, frozenset()
    if isinstance(prediction, np.ndarray) or isinstance(reference, np.ndarray):
        raise ConfigError(
            "error_map takes two arrays or two raster paths, not one of each.",
            fix="pass both as paths (or read both into arrays).",
        )
    pair = read_class_pair(prediction, reference, max_side)
    return pair.prediction, pair.reference, pair.grid, pair.nodata


def error_map(
    prediction: PathLike | Labels,
    reference: PathLike | Labels,
    *,
    ignore: Sequence[int] = (255,),
    title: str | None = None,
    grid: GeoBox | None = None,
    max_side: int = MAX_SIDE,
    path: PathLike | None = None,
) -> Figure:
    """Where a class map agrees with the reference: correct, wrong, and not scored.

    Args:
        prediction: Predicted class raster path, or integer array ``[H, W]``.
        reference: Reference class raster on the same grid, or array ``[H, W]``.
        ignore: Values (in either map) that are not scored, besides the files' nodata.
        title: Figure title.
        grid: Grid of array inputs, for map coordinates.
        max_side: Longest side drawn; larger rasters are read nearest-decimated.
        path: Also write the PNG there.

    Returns:
        The figure; its image is RGBA ``[H, W, 4]`` in :data:`CORRECT`,
        :data:`WRONG` and :data:`NOT_SCORED`, and its legend gives the share of
        scored pixels correct and wrong.

    Raises:
        EoforgeError: The two maps are not on the same grid.
        ConfigError: One map is an array and the other a path.
    """
    pred, ref, file_grid, nodata = _pair(prediction, reference, max_side)
    skip = np.array(sorted({int(v) for v in ignore} | nodata), np.int64)
    scored = ~(np.isin(ref, skip) | np.isin(pred, skip))
    correct = scored & (pred == ref)
    wrong = scored & (pred != ref)
    rgba = np.zeros((*ref.shape, 4), np.float32)
    rgba[~scored] = to_rgba(NOT_SCORED)
    rgba[correct] = to_rgba(CORRECT)
    rgba[wrong] = to_rgba(WRONG)
    draw_grid = file_grid or grid
    fig = _map_figure(ref.shape, 2.2)
    ax = fig.add_subplot()
    ax.imshow(rgba, extent=_extent(draw_grid) if draw_grid else None, interpolation="nearest")
    _style_map_axes(ax, draw_grid)
    n_scored = max(int(scored.sum()), 1)
    handles = [
        Patch(facecolor=CORRECT, edgecolor="#333333",
              label=f"correct ({100 * correct.sum() / n_scored:.1f} %)"),
        Patch(facecolor=WRONG, edgecolor="#333333",
              label=f"wrong ({100 * wrong.sum() / n_scored:.1f} %)"),
        Patch(facecolor=NOT_SCORED, edgecolor="#333333",
              label=f"not scored ({100 * (~scored).mean():.1f} % of map)"),
    ]  # fmt: skip
    _map_legend(fig, handles, "share of scored pixels")
    fig.suptitle(title or "prediction vs reference", fontsize=11)
    return finish_figure(fig, path)


__all__ = [
    "CORRECT",
    "NODATA_NAMES",
    "NOT_SCORED",
    "UNKNOWN_CLASS",
    "WRONG",
    "class_map",
    "error_map",
    "is_nodata_class",
    "percentile_stretch",
    "quicklook",
]
