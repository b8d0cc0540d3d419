"""Windows of a scene or catalog → caption table rows.

Windows of ``window`` pixels at ``gsd`` start every ``stride`` pixels on each
label raster's grid (resampled with nearest neighbour when ``gsd`` differs
from the raster's own), row-major, the last ``(size - window) % stride``
pixels of each axis starting none, like ``eoforge embed``'s lattice.
Windows with fewer than ``min_valid`` valid pixels are skipped. Each kept
window gets ``per_window`` different captions of ``sentences`` sentences;
its captions and facts are a function of the seed and the window's id only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.windows import Window
from shapely.geometry import Polygon, box

from eoforge.captions.change import change_facts
from eoforge.captions.facts import WindowFacts
from eoforge.captions.landcover import class_shares, crossings, placements
from eoforge.captions.layers import LabelLayer, find_label_layers, is_synth_scene, layer_classes
from eoforge.captions.sentences import caption
from eoforge.captions.table import COLUMNS, CaptionMeta
from eoforge.captions.vectors import VectorLayer, layer_facts, load_vectors, read_layer
from eoforge.captions.vocabulary import Vocabulary
from eoforge.classes import ClassInfo
from eoforge.errors import (
    ConfigError,
    LabelsOutsideSceneError,
    NotGeoreferencedError,
    available_list,
)
from eoforge.io.handles import open_dataset

Progress = Callable[[int, int], None]
"""Called with ``(windows done, windows in all)``."""


@dataclass(frozen=True)
class CaptionOptions:
    """How windows are cut and captioned.

    Attributes:
        window: Window side, pixels.
        gsd: Pixel size, CRS units (None: the label raster's).
        stride: Pixels between window starts (None: ``window``).
        per_window: Captions per window.
        sentences: Sentences per caption.
        seed: Seed of the sentence draws.
        min_valid: Smallest share of valid pixels for a window to be captioned.
        labels: Label family (synth file prefix, catalog band name).
        legend: A ``legend.json`` naming the classes (None: the raster's own).
        vectors: Vector layers (None: a synth folder's ``vectors/*.parquet``, else none).
        vector_class: Class column of the vector layers (None: found by name).
        dates: Dates to caption (None: every date).
        change: ``(earlier, later)`` dates: caption the later with its change since the earlier.
        bounds: Only windows inside these ``(left, bottom, right, top)`` bounds, labels' CRS.
    """

    window: int = 64
    gsd: float | None = None
    stride: int | None = None
    per_window: int = 3
    sentences: int = 3
    seed: int = 0
    min_valid: float = 0.5
    labels: str = "landcover"
    legend: str | Path | None = None
    vectors: Sequence[str | Path] | None = None
    vector_class: str | None = None
    dates: Sequence[dt.date] | None = None
    change: tuple[dt.date, dt.date] | None = None
    bounds: tuple[float, float, float, float] | None = None


@dataclass
class Captions:
    """What :func:`caption_windows` made.

    Attributes:
        frame: Rows of the caption table (:data:`~eoforge.captions.table.COLUMNS`).
        meta: The table's metadata.
        windows: Windows captioned.
        skipped: Windows skipped for too few valid pixels.
    """

    frame: gpd.GeoDataFrame
    meta: CaptionMeta
    windows: int
    skipped: int


@dataclass(frozen=True)
class _Job:
    layer: LabelLayer
    before: LabelLayer | None


def _jobs(layers: list[LabelLayer], options: CaptionOptions, source: Path) -> list[_Job]:
    dates = sorted({x.date for x in layers if x.date is not None})
    listed = available_list(d.isoformat() for d in dates)
    if options.change is not None:
        start, end = options.change
        if start >= end:
            raise ConfigError(
                f"change dates {start} and {end} are not in order.",
                fix="give the earlier date first.",
            )
        jobs = []
        for scene in sorted({x.scene for x in layers}):
            by_date = {x.date: x for x in layers if x.scene == scene}
            if start in by_date and end in by_date:
                jobs.append(_Job(by_date[end], by_date[start]))
        if not jobs:
            raise ConfigError(
                f"no scene has labels on both {start} and {end}.",
                path=source,
                fix=f"choose two of the labels' dates ({listed}).",
            )
        return jobs
    if options.dates is not None:
        wanted = set(options.dates)
        chosen = [x for x in layers if x.date in wanted]
        if not chosen:
            raise ConfigError(
                f"no labels on {', '.join(str(d) for d in sorted(wanted))}.",
                path=source,
                fix=f"choose among the labels' dates ({listed}).",
            )
        return [_Job(x, None) for x in chosen]
    return [_Job(x, None) for x in layers]


def _vector_paths(source: Path, options: CaptionOptions) -> list[Path]:
    if options.vectors is not None:
        return [Path(p) for p in options.vectors]
    if is_synth_scene(source):
        return sorted((source / "vectors").glob("*.parquet"))
    return []


@dataclass(frozen=True)
class _Grid:
    crs: CRS
    transform: rasterio.Affine
    shape: tuple[int, int]
    gsd: float
    factor: float
    nodata: float | None


def _grid(layer: LabelLayer, options: CaptionOptions) -> _Grid:
    with open_dataset(layer.path) as ds:
        if ds.crs is None:
            raise NotGeoreferencedError(
                "the label raster has no CRS.",
                path=layer.path,
                fix="georeference it (gdal_edit.py -a_srs).",
            )
        native = abs(float(ds.transform.a))
        gsd = options.gsd or native
        factor = gsd / native
        shape = (math.floor(ds.height / factor), math.floor(ds.width / factor))
        transform = ds.transform @ rasterio.Affine.scale(factor)
        return _Grid(CRS(ds.crs), transform, shape, gsd, factor, ds.nodata)


def _starts(length: int, window: int, stride: int) -> list[int]:
    return list(range(0, length - window + 1, stride)) if length >= window else []


def _footprint(grid: _Grid, row: int, col: int, size: int) -> Polygon:
    t = grid.transform
    x0, y0 = t @ (col, row)
    x1, y1 = t @ (col + size, row + size)
    return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _read_rows(layer: LabelLayer, grid: _Grid, row: int, height: int) -> np.ndarray[Any, Any]:
    """Rows ``row..row+height`` of the layer on the output grid, full width."""
    f = grid.factor
    with open_dataset(layer.path) as ds:
        window = Window(0, row * f, grid.shape[1] * f, height * f)
        out: np.ndarray[Any, Any] = ds.read(
            layer.band,
            window=window,
            out_shape=(height, grid.shape[1]),
            resampling=Resampling.nearest,
        )
    return out


def _check_values(
    labels: np.ndarray[Any, Any], valid: np.ndarray[Any, Any], names: dict[int, str], path: Path
) -> None:
    found = np.unique(labels[valid])
    unknown = [int(v) for v in found if int(v) not in names]
    if unknown:
        raise ConfigError(
            f"the labels hold class values the legend does not name: {unknown[:10]} "
            f"(known: {sorted(names)}).",
            path=path,
            fix="add them to the legend.json beside it (or give one with --legend), or set the "
            "raster's nodata to the value of unlabelled pixels.",
        )


def caption_windows(
    source: str | Path, options: CaptionOptions | None = None, progress: Progress | None = None
) -> Captions:
    """Caption every window of the label rasters of a scene folder, raster or catalog.

    Args:
        source: Synth scene folder, class raster, saved catalog or STAC collection
            (see :func:`~eoforge.captions.layers.find_label_layers`).
        options: Windows, captions, vectors and dates (defaults: :class:`CaptionOptions`).
        progress: Called after each row of windows.

    Returns:
        The rows and metadata of the caption table (write them with
        :func:`~eoforge.captions.table.write_captions`).

    Raises:
        ConfigError: Bad options, unknown class values, a vector layer without class column.
        LabelsOutsideSceneError: ``bounds`` or the window lie outside the labels.
        NotGeoreferencedError: A raster or vector layer has no CRS.
    """
    opts = options or CaptionOptions()
    if opts.window < 1 or opts.per_window < 1 or opts.sentences < 1:
        raise ConfigError(
            "window, per_window and sentences must be at least 1.", fix="give positive values."
        )
    path = Path(source)
    jobs = _jobs(find_label_layers(path, opts.labels), opts, path)
    vector_paths = _vector_paths(path, opts)
    scan = _Scan(opts, {p: load_vectors(p) for p in vector_paths}, progress)
    plans = [(job, _grid(job.layer, opts)) for job in jobs]
    for job, grid in plans:
        if job.before is not None:
            _same_grid(grid, _grid(job.before, opts), job)
        scan.total += sum(len(cols) for _, cols in _lattice(grid, opts, job.layer.path))
    frames = [scan.job(job, grid) for job, grid in plans]
    crs = plans[0][1].crs
    frame = gpd.GeoDataFrame(
        pd.concat([f.to_crs(crs) for f in frames], ignore_index=True), geometry="geometry", crs=crs
    )
    frame["window_id"] = frame["window_id"].astype("int64")
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    frame["scene"] = frame["scene"].astype(str)
    used = {str(j.layer.path) for j in jobs} | {str(j.before.path) for j in jobs if j.before}
    labels_text = ", ".join(sorted(used))
    if vector_paths:
        labels_text += "; vectors: " + ", ".join(str(p) for p in vector_paths)
    meta = CaptionMeta(
        seed=opts.seed,
        window_px=opts.window,
        gsd=plans[0][1].gsd,
        classes=tuple(scan.classes[k] for k in sorted(scan.classes)),
        labels=labels_text,
    )
    return Captions(frame, meta, scan.kept, scan.skipped)


def _same_grid(grid: _Grid, other: _Grid, job: _Job) -> None:
    if (grid.crs, grid.transform, grid.shape) != (other.crs, other.transform, other.shape):
        assert job.before is not None
        raise ConfigError(
            "the labels of the two change dates lie on different grids.",
            path=job.before.path,
            fix=f"resample it onto the grid of {job.layer.path} (gdalwarp -tr/-te/-t_srs).",
        )


class _Scan:
    """Windows of label layers → caption rows, with running counts and ids."""

    def __init__(
        self,
        opts: CaptionOptions,
        frames: dict[Path, gpd.GeoDataFrame],
        progress: Progress | None,
    ) -> None:
        self.opts = opts
        self.frames = frames
        self.progress = progress
        self.classes: dict[int, ClassInfo] = {}
        self.total = self.done = self.kept = self.skipped = 0

    def job(self, job: _Job, grid: _Grid) -> gpd.GeoDataFrame:
        """Caption rows of one label layer (in its own CRS)."""
        opts = self.opts
        classes = layer_classes(job.layer, opts.legend, grid.nodata)
        self.classes.update({c.id: c for c in classes})
        names = {c.id: c.name for c in classes}
        vocab = Vocabulary.from_names(names.values())
        layers = [
            read_layer(
                p, _metric_crs(grid), date=job.layer.date, class_column=opts.vector_class, frame=f
            )
            for p, f in self.frames.items()
        ]
        rows: list[dict[str, Any]] = []
        for row, cols in _lattice(grid, opts, job.layer.path):
            labels = _read_rows(job.layer, grid, row, opts.window)
            before = None if job.before is None else _read_rows(job.before, grid, row, opts.window)
            for col in cols:
                self.done += 1
                cut = labels[:, col : col + opts.window]
                valid = _valid(cut, grid.nodata)
                if valid.mean() < opts.min_valid or not valid.any():
                    self.skipped += 1
                    continue
                _check_values(cut, valid, names, job.layer.path)
                footprint = _footprint(grid, row, col, opts.window)
                facts = window_facts(cut, valid, names, layers, _to_metric(footprint, grid))
                if before is not None and job.before is not None:
                    earlier = before[:, col : col + opts.window]
                    both = valid & _valid(earlier, grid.nodata)
                    _check_values(earlier, both, names, job.before.path)
                    start = job.before.date or dt.date.min
                    end = job.layer.date or dt.date.min
                    facts = replace(
                        facts, change=change_facts(earlier, cut, names, both, start, end)
                    )
                rows += _caption_rows(self.kept, facts, vocab, opts, footprint, job.layer)
                self.kept += 1
            if self.progress is not None:
                self.progress(self.done, self.total)
        columns = {c: [r[c] for r in rows] for c in COLUMNS}
        return gpd.GeoDataFrame(columns, geometry="geometry", crs=grid.crs)


def _valid(labels: np.ndarray[Any, Any], nodata: float | None) -> np.ndarray[Any, Any]:
    if nodata is None:
        return np.ones(labels.shape, dtype=bool)
    out: np.ndarray[Any, Any] = labels != nodata
    return out


def _lattice(grid: _Grid, opts: CaptionOptions, path: Path) -> list[tuple[int, list[int]]]:
    stride = opts.stride or opts.window
    rows = _starts(grid.shape[0], opts.window, stride)
    cols = _starts(grid.shape[1], opts.window, stride)
    if not rows or not cols:
        raise LabelsOutsideSceneError(
            f"a window of {opts.window} px at {grid.gsd:g} m does not fit in the labels "
            f"({grid.shape[0]} x {grid.shape[1]} px at that gsd).",
            path=path,
            fix="give a smaller --window or a finer --gsd.",
        )
    if opts.bounds is None:
        return [(r, cols) for r in rows]
    left, bottom, right, top = opts.bounds
    area = box(left, bottom, right, top)
    out = []
    for r in rows:
        inside = [c for c in cols if area.contains(_footprint(grid, r, c, opts.window))]
        if inside:
            out.append((r, inside))
    if not out:
        whole = _footprint_all(grid)
        raise LabelsOutsideSceneError(
            f"no window lies inside the bounds {opts.bounds} (the labels cover "
            f"{tuple(round(v, 2) for v in whole.bounds)} in their CRS).",
            path=path,
            fix="give bounds inside the labels, in their CRS, at least one window wide.",
        )
    return out


def _footprint_all(grid: _Grid) -> Polygon:
    t = grid.transform
    x0, y0 = t @ (0, 0)
    x1, y1 = t @ (grid.shape[1], grid.shape[0])
    return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _metric_crs(grid: _Grid) -> CRS:
    if not grid.crs.is_geographic:
        return grid.crs
    centre = _footprint_all(grid).centroid
    utm = gpd.GeoSeries([centre], crs=grid.crs).estimate_utm_crs()
    return CRS(utm)


def _to_metric(footprint: Polygon, grid: _Grid) -> Polygon:
    if not grid.crs.is_geographic:
        return footprint
    moved = gpd.GeoSeries([footprint], crs=grid.crs).to_crs(_metric_crs(grid)).iloc[0]
    return moved  # type: ignore[no-any-return]


def window_facts(
    labels: np.ndarray[Any, Any],
    valid: np.ndarray[Any, Any],
    names: dict[int, str],
    layers: Sequence[VectorLayer] = (),
    footprint: Polygon | None = None,
) -> WindowFacts:
    """Facts of one window from its class map and the vector layers.

    Args:
        labels: Class ids ``[H, W]``.
        valid: Valid pixels ``[H, W]``.
        names: Class name by id (the legend, nodata left out).
        layers: Vector layers in a metric CRS.
        footprint: The window in the layers' CRS (needed with ``layers``).

    Returns:
        The window's facts.
    """
    ids = {v: k for k, v in names.items()}
    shares = class_shares(labels, names, valid)
    counts, lines, cross = [], [], list(crossings(labels, shares, ids, valid))
    for layer in layers:
        assert footprint is not None, "vector layers need the window footprint"
        c, ln, x = layer_facts(layer, footprint)
        counts += c
        lines += ln
        cross += x
    return WindowFacts(
        legend=tuple(names[k] for k in sorted(names)),
        pixels=int(valid.sum()),
        shares=shares,
        placements=placements(labels, shares, ids, valid),
        crossings=tuple(cross),
        counts=tuple(counts),
        lines=tuple(lines),
    )


def _caption_rows(
    window_id: int,
    facts: WindowFacts,
    vocab: Vocabulary,
    opts: CaptionOptions,
    footprint: Polygon,
    layer: LabelLayer,
) -> list[dict[str, Any]]:
    text = facts.to_json()
    seen: list[str] = []
    for k in range(opts.per_window):
        for attempt in range(8):  # redraw a caption another of the window already has
            rng = np.random.default_rng([opts.seed, window_id, k, attempt])
            found = caption(facts, vocab, opts.sentences, rng)
            if found not in seen:
                seen.append(found)
                break
    when = None if layer.date is None else pd.Timestamp(layer.date, tz="UTC")
    return [
        {
            "window_id": window_id,
            "scene": layer.scene,
            "time": when,
            "caption": c,
            "facts": text,
            "geometry": footprint,
        }
        for c in seen
    ]
