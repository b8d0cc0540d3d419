"""Figures of scenes, class maps, errors and training runs, drawn off-screen with matplotlib.

Every function returns a :class:`matplotlib.figure.Figure` built without
``pyplot`` (no global figure state, no display needed; the Agg canvas renders
it) and takes an optional ``path`` to write it as a PNG through
:func:`save_png`, which writes to a temporary name and renames, so a failed
run never leaves a half-written image. Rasters larger than ``max_side``
pixels are read decimated, so memory depends on the figure, not on the scene.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from affine import Affine
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling

from eoforge.errors import BandNotFoundError, ConfigError, EoforgeError, available_list
from eoforge.geo.grid import crs_equal, crs_of
from eoforge.io.handles import dataset_grid, open_dataset
from eoforge.io.reader import SourceLike, as_sources, read

ClassSpec = tuple[int, str, str]
"""One class: ``(id, name, "#rrggbb")``."""

Float32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]
Labels = npt.NDArray[np.integer[Any]]

MAX_SIDE = 1024
"""Default longest side, in pixels, of the rasters drawn (larger ones are read decimated)."""

NODATA_NAMES = frozenset({"nodata", "no_data", "no data", "unlabelled", "unlabeled"})
"""Class names treated as "no class" and drawn transparent."""

CORRECT, WRONG, NOT_SCORED = "#a6d96a", "#d7191c", "#d9d9d9"


class ColumnTable(Protocol):
    """Anything with named columns: a mapping of column name to values, or a pandas DataFrame."""

    def keys(self) -> Iterable[Any]:
        """Column names."""

    def __getitem__(self, key: Any, /) -> Any:
        """The values of one column."""


def new_figure(
    width: float, height: float, *, layout: Literal["constrained", "compressed"] = "constrained"
) -> Figure:
    """A figure on its own Agg canvas (no pyplot state), size in inches.

    ``layout="compressed"`` suits maps (fixed-aspect axes), ``"constrained"`` charts.
    """
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Write a figure as a PNG atomically (temporary name in the same folder, then rename).

    Args:
        fig: The figure.
        path: Final PNG path; its folder is created.
        dpi: Dots per inch (the figure's inches times this give the pixel size).

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _finish(fig: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        save_png(fig, path)
    return fig


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


def _figure_for(shape: tuple[int, int], extra_width: float = 0.0) -> Figure:
    height, width = shape
    aspect = height / max(width, 1)
    base = 6.0
    return new_figure(
        base + extra_width, min(max((base - 0.9) * aspect + 1.0, 3.0), 10.0), layout="compressed"
    )


# --------------------------------------------------------------------------- quicklook


def _display_grid(
    sources: Sequence[Any], bands: Sequence[str], grid: GeoBox | None, max_side: int
) -> tuple[GeoBox, bool]:
    """The grid to draw on (the finest band's file grid by default) and whether it is decimated."""
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
        return _shrunk(grid, factor), True
    return grid, False


def _shrunk(grid: GeoBox, factor: float) -> GeoBox:
    """The same bounds with about ``factor`` times fewer pixels along each axis."""
    height, width = grid.shape.y, grid.shape.x
    shape = (max(1, round(height / factor)), max(1, round(width / factor)))
    scale = Affine.scale(width / shape[1], height / shape[0])
    return GeoBox(shape, grid.affine @ scale, grid.crs)


def _unit_of(sources: Sequence[Any], band: str) -> str | None:
    for source in sources:
        if source.resolve(band) is not None:
            unit = str(source.asset(band).radiometry.unit)
            return None if unit in ("DN", "scaled") else unit
    return None


def quicklook(
    sources_or_path: SourceLike | Sequence[SourceLike],
    bands: Sequence[str],
    *,
    grid: GeoBox | None = None,
    stretch: tuple[float, float] = (2.0, 98.0),
    title: str | None = None,
    unit: str | None = None,
    max_side: int = MAX_SIDE,
    path: str | os.PathLike[str] | None = None,
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
        The figure.

    Raises:
        ConfigError: Neither 1 nor 3 bands.
        BandNotFoundError: A band no source provides.
    """
    if len(bands) not in (1, 3):
        raise ConfigError(
            f"a quicklook draws 1 band (grey) or 3 bands (RGB), got {len(bands)}: {list(bands)}.",
            fix="pass three band names for a composite or one for a single band.",
        )
    sources = as_sources(sources_or_path)
    draw_grid, decimated = _display_grid(sources, bands, grid, max_side)
    values, valid = read(sources, draw_grid, bands, "average" if decimated else "bilinear")
    scaled, limits = percentile_stretch(values, valid, stretch)
    single = len(bands) == 1
    fig = _figure_for((draw_grid.shape.y, draw_grid.shape.x), 1.2 if single else 0.0)
    ax = fig.add_subplot()
    ax.set_facecolor("black")
    extent = _extent(draw_grid)
    if single:
        low, high = limits[0]
        shown = np.ma.masked_array(values[0], mask=~valid)
        image = ax.imshow(
            shown, cmap="gray", vmin=low, vmax=high, extent=extent, interpolation="nearest"
        )
        unit = unit or _unit_of(sources, bands[0])
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
    return _finish(fig, path)


# --------------------------------------------------------------------------- class maps


def _hex(color: Sequence[float] | str) -> str:
    if isinstance(color, str):
        return to_hex(color)
    rgb = [float(v) / 255.0 for v in list(color)[:3]]
    return to_hex((rgb[0], rgb[1], rgb[2]))


def _legend_json(path: Path) -> dict[int, tuple[str, str]]:
    """Classes from a ``legend.json`` beside the raster or one folder up (synthetic scenes)."""
    for folder in (path.parent, path.parent.parent):
        candidate = folder / "legend.json"
        if not candidate.is_file():
            continue
        try:
            legend = json.loads(candidate.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(legend, dict):
            return {}
        keys = [k for k in legend if path.stem.startswith(str(k))] or list(legend)[:1]
        entries = legend.get(keys[0], []) if keys else []
        out: dict[int, tuple[str, str]] = {}
        for entry in entries if isinstance(entries, list) else []:
            try:
                out[int(entry["value"])] = (str(entry["name"]), _hex(entry["color"]))
            except (KeyError, TypeError, ValueError):
                continue
        return out
    return {}


_PALETTE = [
    "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#7f7f7f", "#d62728", "#aec7e8", "#98df8a",
]  # fmt: skip


def read_classes(path: str | os.PathLike[str]) -> list[ClassSpec]:
    """Classes of a class raster: names from ``CLASS_<id>`` band tags, colours from its table.

    Falls back to a ``legend.json`` beside the file (or one folder up, as in
    synthetic scenes) for names and colours.

    Args:
        path: Single-band integer raster.

    Returns:
        ``(id, name, "#rrggbb")`` per known class, sorted by id; empty when the file
        names no class.
    """
    with open_dataset(os.fspath(path)) as ds:
        tags = ds.tags(1)
        try:
            table = ds.colormap(1)
        except ValueError:  # no colour table
            table = {}
    legend = _legend_json(Path(path))
    names = {int(k[6:]): v for k, v in tags.items() if k.startswith("CLASS_") and k[6:].isdigit()}
    ids = sorted(set(names) | set(legend))
    out = []
    for i, value in enumerate(ids):
        name = names.get(value) or legend.get(value, (f"class {value}", ""))[0]
        if value in table:
            color = _hex(table[value])
        elif value in legend:
            color = legend[value][1]
        else:
            color = _PALETTE[i % len(_PALETTE)]
        out.append((value, name, color))
    return out


def _decimated_read(path: str | os.PathLike[str], max_side: int) -> tuple[Labels, GeoBox, Any]:
    """Band 1 read nearest-decimated to at most ``max_side`` pixels, its grid and nodata."""
    with open_dataset(os.fspath(path)) as ds:
        grid = dataset_grid(ds)
        factor = max(ds.height, ds.width) / max_side
        if factor > 1:
            grid = _shrunk(grid, factor)
            data = ds.read(1, out_shape=grid.shape.yx, resampling=Resampling.nearest)
        else:
            data = ds.read(1)
        if not np.issubdtype(data.dtype, np.integer):
            raise EoforgeError(
                f"holds {data.dtype} values, not class ids.",
                path=str(path),
                fix="pass a class raster (integer values, one per class).",
            )
        return np.asarray(data), grid, ds.nodata


def _is_nodata_class(name: str) -> bool:
    return name.strip().lower() in NODATA_NAMES


def class_map(
    path_or_array: str | os.PathLike[str] | Labels,
    classes: Sequence[ClassSpec] | None = None,
    *,
    title: str | None = None,
    grid: GeoBox | None = None,
    nodata: Sequence[int] = (255,),
    max_side: int = MAX_SIDE,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """A class raster in its class colours, with a legend of class names and area shares.

    Args:
        path_or_array: Single-band integer raster, or an integer array ``[H, W]``.
        classes: ``(id, name, "#rrggbb")`` per class; default from the raster (its
            colour table, ``CLASS_<id>`` tags, or a ``legend.json`` beside it), else
            one generated colour per value present.
        title: Figure title.
        grid: Grid of an array input, for map coordinates (a file brings its own).
        nodata: Values drawn transparent, besides the file's nodata value and
            classes named "nodata".
        max_side: Longest side drawn; larger rasters are read nearest-decimated.
        path: Also write the PNG there.

    Returns:
        The figure; its legend lists every class except the no-data ones, as
        ``"name (share of the valid area %)"``.
    """
    skip = {int(v) for v in nodata}
    if isinstance(path_or_array, np.ndarray):
        labels = np.asarray(path_or_array)
        draw_grid = grid
    else:
        labels, draw_grid, file_nodata = _decimated_read(path_or_array, max_side)
        if file_nodata is not None and math.isfinite(file_nodata):
            skip.add(int(file_nodata))
        if classes is None:
            classes = read_classes(path_or_array) or None
    if classes is None:
        present = sorted(int(v) for v in np.unique(labels) if int(v) not in skip)
        classes = [(v, f"class {v}", _PALETTE[i % len(_PALETTE)]) for i, v in enumerate(present)]
    skip |= {c[0] for c in classes if _is_nodata_class(c[1])}
    shown = [c for c in classes if c[0] not in skip]
    lut_size = max(256, int(labels.max(initial=0)) + 1, *(c[0] + 1 for c in shown))
    lut = np.zeros((lut_size, 4), np.float32)
    lut[:] = to_rgba("#ff00ff")  # values without a class: magenta, so they are noticed
    hidden = [v for v in skip if 0 <= v < lut_size]
    lut[hidden] = 0.0
    for value, _name, color in shown:
        lut[value] = to_rgba(color)
    clipped = np.clip(labels.astype(np.int64), 0, lut_size - 1)
    counts = np.bincount(clipped.ravel(), minlength=lut_size)
    valid_total = max(int(counts.sum() - counts[hidden].sum()), 1)
    fig = _figure_for(labels.shape, 2.2)
    ax = fig.add_subplot()
    extent = _extent(draw_grid) if draw_grid is not None else None
    ax.imshow(lut[clipped], extent=extent, interpolation="nearest")
    _style_map_axes(ax, draw_grid)
    handles = [
        Patch(
            facecolor=color,
            edgecolor="#333333",
            label=f"{name} ({100 * counts[v] / valid_total:.1f} %)",
        )
        for v, name, color in shown
    ]
    blank = int(counts[hidden].sum())
    if blank:
        share = 100 * blank / max(labels.size, 1)
        label = f"no data ({share:.1f} % of map)"
        handles.append(Patch(facecolor="white", edgecolor="#999999", label=label))
    fig.legend(
        handles=handles,
        loc="outside right upper",
        frameon=False,
        fontsize=8,
        title="class (area)",
        title_fontsize=8,
    )
    fig.suptitle(title or "classes", fontsize=11)
    return _finish(fig, path)


# --------------------------------------------------------------------------- error map


def _same_grid(a: GeoBox, b: GeoBox) -> bool:
    return a.shape == b.shape and a.affine.almost_equals(b.affine) and crs_equal(a.crs, b.crs)


def _pair(
    prediction: str | os.PathLike[str] | Labels,
    reference: str | os.PathLike[str] | Labels,
    max_side: int,
) -> tuple[Labels, Labels, GeoBox | None, set[int]]:
    """Both maps as arrays on one grid, the grid (None for arrays) and the files' nodata."""
    if isinstance(prediction, np.ndarray) and isinstance(reference, np.ndarray):
        if prediction.shape != reference.shape:
            raise EoforgeError(
                f"prediction {prediction.shape} and reference {reference.shape} differ in shape.",
                fix="compare maps on the same grid.",
            )
        return prediction, reference, None, set()
    if isinstance(prediction, np.ndarray) or isinstance(reference, np.ndarray):
        raise ConfigError(
            "error_map takes two arrays or two raster paths, not one of each.",
            fix="pass both as paths (or read both into arrays).",
        )
    pred, pred_grid, pred_nodata = _decimated_read(prediction, max_side)
    ref, ref_grid, ref_nodata = _decimated_read(reference, max_side)
    if not _same_grid(pred_grid, ref_grid):
        raise EoforgeError(
            f"the prediction ({pred_grid.shape.x}x{pred_grid.shape.y} px) is not on the "
            f"reference's grid ({ref_grid.shape.x}x{ref_grid.shape.y} px, {reference}).",
            path=str(prediction),
            fix="predict on the label raster's grid, or warp one onto the other with gdalwarp.",
        )
    nodata = {int(v) for v in (pred_nodata, ref_nodata) if v is not None and math.isfinite(v)}
    return pred, ref, ref_grid, nodata


def error_map(
    prediction: str | os.PathLike[str] | Labels,
    reference: str | os.PathLike[str] | Labels,
    *,
    ignore: Sequence[int] = (255,),
    title: str | None = None,
    grid: GeoBox | None = None,
    max_side: int = MAX_SIDE,
    path: str | os.PathLike[str] | None = None,
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
        The figure; the legend gives the share of scored pixels correct and wrong.

    Raises:
        EoforgeError: The two maps are not on the same grid.
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
    fig = _figure_for(ref.shape, 2.2)
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
    fig.legend(
        handles=handles,
        loc="outside right upper",
        frameon=False,
        fontsize=8,
        title="share of scored pixels",
        title_fontsize=8,
    )
    fig.suptitle(title or "prediction vs reference", fontsize=11)
    return _finish(fig, path)


# --------------------------------------------------------------------------- confusion matrix

_NORMALIZE = {
    "true": "share of each reference class (rows sum to 1)",
    "pred": "share of each predicted class (columns sum to 1)",
    "all": "share of all scored pixels",
}


def normalized_matrix(
    matrix: npt.ArrayLike, normalize: str | None = "true"
) -> npt.NDArray[np.float64]:
    """Confusion matrix ``[K, K]`` (rows reference, columns prediction) as ratios.

    Args:
        matrix: Counts.
        normalize: ``"true"`` (by row), ``"pred"`` (by column), ``"all"``, or None (counts).

    Returns:
        float64 ``[K, K]``; rows/columns without pixels are 0.
    """
    counts = np.asarray(matrix, np.float64)
    if normalize is None:
        return counts
    if normalize not in _NORMALIZE:
        raise ConfigError(
            f"unknown normalize={normalize!r}.", fix="use 'true', 'pred', 'all' or None."
        )
    if normalize == "true":
        total = counts.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        total = counts.sum(axis=0, keepdims=True)
    else:
        total = np.full_like(counts, counts.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        out: npt.NDArray[np.float64] = np.where(total > 0, counts / np.maximum(total, 1e-300), 0.0)
    return out


def confusion_matrix(
    matrix: npt.ArrayLike,
    names: Sequence[str],
    *,
    normalize: str | None = "true",
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Heatmap of a confusion matrix with ratios and counts written in the cells.

    Args:
        matrix: Pixel counts ``[K, K]``, rows reference classes, columns predicted ones.
        names: ``K`` class names.
        normalize: Colour by ``"true"`` (row shares, i.e. recall on the diagonal),
            ``"pred"`` (column shares, precision), ``"all"``, or None (counts).
        title: Figure title.
        path: Also write the PNG there.

    Returns:
        The figure.

    Raises:
        ConfigError: The matrix is not square or does not match ``names``.
    """
    counts = np.asarray(matrix, np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(names):
        raise ConfigError(
            f"confusion matrix of shape {counts.shape} does not match {len(names)} class names.",
            fix="pass a square [K, K] matrix (rows reference, columns prediction) and K names.",
        )
    ratios = normalized_matrix(counts, normalize)
    k = len(names)
    side = min(max(4.5, 0.55 * k + 2.5), 14.0)
    fig = new_figure(side + 1.0, side)
    ax = fig.add_subplot()
    vmax = 1.0 if normalize else max(float(ratios.max()), 1.0)
    image = ax.imshow(ratios, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label=_NORMALIZE.get(normalize or "", "pixels"))
    if k <= 25:
        size = 8 if k <= 10 else 6
        for r in range(k):
            for c in range(k):
                count = int(counts[r, c])
                text = f"{ratios[r, c]:.2f}" if normalize else f"{count:,}"
                if normalize and k <= 12:
                    text += f"\n{count:,}"
                colour = "white" if ratios[r, c] > 0.55 * vmax else "#222222"
                ax.text(c, r, text, ha="center", va="center", fontsize=size, color=colour)
    ax.set_xticks(range(k), list(names), rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), list(names), fontsize=8)
    ax.set_xlabel("prediction", fontsize=9)
    ax.set_ylabel("reference", fontsize=9)
    fig.suptitle(title or "confusion matrix", fontsize=11)
    return _finish(fig, path)


# --------------------------------------------------------------------------- learning curves


def read_metrics_csv(path: str | os.PathLike[str]) -> dict[str, npt.NDArray[np.float64]]:
    """Columns of a Lightning ``CSVLogger`` ``metrics.csv`` as float arrays (blank cells NaN).

    Raises:
        MissingFileError: The file does not exist.
        UnreadableFileError: It is not a CSV with a header row.
    """
    from eoforge.errors import MissingFileError, UnreadableFileError

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


def _per_x(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[list[float], list[float]]:
    """Mean of the finite ``y`` per distinct ``x`` (step-level rows of one epoch collapse)."""
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[ok], y[ok]
    keys = sorted(set(xs.tolist()))
    return keys, [float(ys[xs == k].mean()) for k in keys]


def _curve_columns(columns: Mapping[str, Any], x_name: str) -> tuple[list[str], list[str]]:
    names = [n for n in columns if n not in ("epoch", "step", x_name)]
    names = [n for n in names if not n.lower().startswith("lr") and "lr-" not in n.lower()]
    names = [n for n in names if not (n.endswith("_step") and f"{n[:-5]}_epoch" in columns)]
    losses = [n for n in names if "loss" in n.lower()]
    metrics = [n for n in names if "loss" not in n.lower()]
    # per-class curves (val/iou_water ...) drown the headline ones: keep those when present
    headline = [n for n in metrics if "_" not in n.split("/")[-1] or n.endswith("f1_macro")]
    if len(metrics) > MAX_METRIC_CURVES and headline:
        metrics = headline[:MAX_METRIC_CURVES]
    if len(losses) > 2 and any(n.endswith("_step") for n in losses):
        losses = [n for n in losses if not n.endswith("_step")] or losses
    return losses, metrics


MAX_METRIC_CURVES = 8
"""Metric curves drawn at most; per-class ones are dropped first (the report has a table)."""


def learning_curves(
    metrics: str | os.PathLike[str] | ColumnTable,
    *,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Loss curves and validation metric curves against epoch.

    Args:
        metrics: A Lightning ``CSVLogger`` ``metrics.csv`` (columns such as ``epoch``,
            ``step``, ``train/loss``, ``val/loss``, ``val/miou``; rows logged separately,
            so most cells are blank), or the same columns as a mapping or DataFrame.
        title: Figure title.
        path: Also write the PNG there.

    Returns:
        The figure: losses on the left, other metrics (validation solid, training
        dashed) on the right, each value averaged per epoch.
    """
    if isinstance(metrics, str | os.PathLike):
        columns = read_metrics_csv(metrics)
    else:
        columns = {str(k): np.asarray(metrics[k], np.float64) for k in metrics.keys()}  # noqa: SIM118
    x_name = "epoch" if "epoch" in columns else "step"
    x = columns.get(
        x_name, np.arange(max((len(v) for v in columns.values()), default=0), dtype=float)
    )
    losses, others = _curve_columns(columns, x_name)
    fig = new_figure(11.0, 4.2)
    for ax, names, heading in zip(
        fig.subplots(1, 2), (losses, others), ("loss", "metrics"), strict=True
    ):
        drawn = 0
        bounded = True
        for name in names:
            xs, ys = _per_x(x, columns[name])
            if not xs:
                continue
            style = "--" if name.startswith("train") else "-"
            ax.plot(xs, ys, style, marker="o" if len(xs) <= 30 else None, markersize=3, label=name)
            bounded &= all(0.0 <= v <= 1.0 for v in ys)
            drawn += 1
        if drawn:
            ax.legend(fontsize=8, frameon=False)
            if heading == "metrics" and bounded:
                ax.set_ylim(0.0, 1.0)
        else:
            ax.text(0.5, 0.5, f"no {heading} logged", ha="center", va="center",
                    transform=ax.transAxes, color="#666666")  # fmt: skip
        ax.set_xlabel(x_name, fontsize=9)
        ax.set_ylabel(heading, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    fig.suptitle(title or "learning curves", fontsize=11)
    return _finish(fig, path)


__all__ = [
    "ClassSpec",
    "class_map",
    "confusion_matrix",
    "error_map",
    "learning_curves",
    "new_figure",
    "normalized_matrix",
    "percentile_stretch",
    "quicklook",
    "read_classes",
    "read_metrics_csv",
    "save_png",
]
