"""Detection boxes on georeferenced windows: map polygons to pixel boxes by the visibility rule.

Object labels of georeferenced imagery are polygons in map coordinates (a
GeoParquet or GeoJSON layer, e.g. the ``vectors/objects.parquet`` of a synthetic
scene with its ``label`` column). :func:`boxes_for_window` gives the boxes of
one window (a grid): a feature is kept when the area of its polygon inside the
window's footprint is at least ``min_visible`` of its whole area, measured in the
window's CRS (the same rule as :class:`eoforge.data.detection.DetectionChipDataset`
applies in pixels; the two agree, areas scaling alike under the grid's affine
transform). Kept features become boxes through
:func:`eoforge.io.vector.boxes.boxes_in_pixels`: horizontal boxes clipped to the
window, oriented boxes (minimum rotated rectangles) kept whole.

:class:`DetectionWindows` reads imagery by band name on a list of windows (or
the windows a sampler yields) and adds the boxes: samples follow the detection
contract (``image``, ``valid``, ``boxes``, ``labels``) plus the grid (``crs``,
``transform``), and batch with :func:`eoforge.data.detection.detection_collate`.
The object layer is checked once (:func:`checked_objects`: class column, CRS,
known classes, polygons with area). For evaluation on overlapping tiles,
:meth:`DetectionWindows.count_once` gives each object to one tile and marks it
``difficult`` (ignored by average precision) in the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely
import torch
from odc.geo.geobox import GeoBox
from torch.utils.data import Dataset

from eoforge.data.bad_files import RAISE, BadFiles
from eoforge.data.datasets import GeoDataset, as_window
from eoforge.data.windows import Window
from eoforge.errors import ConfigError, NotGeoreferencedError
from eoforge.io.reader import SourceLike, as_sources
from eoforge.io.vector import boxes_in_pixels, read_vector
from eoforge.io.vector.placement import place_on_grid
from eoforge.io.vector.rasterize import class_values
from eoforge.io.vector.reading import IN_MEMORY, PARQUET_SUFFIXES, source_of

Sample = dict[str, Any]


def _check_fraction(min_visible: float) -> None:
    if not 0.0 < min_visible <= 1.0:
        raise ConfigError(
            f"min_visible is {min_visible}, not a fraction in (0, 1].",
            fix="give the least visible share of an object's area, e.g. 0.5.",
        )


def visible_fractions(
    labels_frame: gpd.GeoDataFrame, window_grid: GeoBox
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Rows of the features overlapping a window and the share of their area inside it.

    Args:
        labels_frame: Polygon features with a CRS.
        window_grid: The window; its footprint is the clip area.

    Returns:
        Row positions ``[M]`` (in frame order) and the fraction ``[M]`` (0..1] of
        each one's area inside the footprint, both measured in the window's CRS.

    Raises:
        NotGeoreferencedError, CRSMismatchError: As for
            :func:`eoforge.io.vector.placement.to_grid_crs`.
    """
    positions, clipped = place_on_grid(labels_frame, window_grid, allow_empty=True)
    if not len(positions):
        return positions, np.empty(0, np.float64)
    assert window_grid.crs is not None  # place_on_grid refuses a grid without a CRS
    whole = labels_frame.geometry.iloc[positions].to_crs(window_grid.crs.to_wkt())
    area = shapely.area(np.asarray(whole.array, dtype=object))
    fraction = np.asarray(shapely.area(clipped), np.float64) / np.where(area > 0, area, np.inf)
    return positions, np.minimum(fraction, 1.0)


def boxes_for_window(
    labels_frame: gpd.GeoDataFrame,
    window_grid: GeoBox,
    *,
    oriented: bool,
    classes: Sequence[str] | Mapping[str, int],
    class_attribute: str = "label",
    min_visible: float = 0.5,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Boxes of the features a window shows at least ``min_visible`` of, in its pixels.

    Args:
        labels_frame: Polygon features with a CRS and a class column.
        window_grid: The window (CRS, transform, shape).
        oriented: Oriented ``[N, 5]`` ``(cx, cy, w, h, angle)`` boxes (kept whole)
            instead of ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` (clipped to the window).
        classes: Class names, which ``labels`` index (0..K-1, no background), or a
            mapping of class column values to class ids (several values may share one).
        class_attribute: The column holding each feature's class name.
        min_visible: Least fraction (0..1] of a feature's area inside the window.

    Returns:
        ``boxes`` float32 ``[N, 4|5]`` in the window's pixel coordinates (the
        convention of :func:`eoforge.io.vector.boxes.boxes_in_pixels`) and
        ``labels`` int64 ``[N]``, in frame order.

    Raises:
        ConfigError: ``min_visible`` out of range, no ``class_attribute`` column,
            a kept feature of a class not in ``classes``, or a feature that is
            not a polygon.
    """
    _check_fraction(min_visible)
    positions, fraction = visible_fractions(labels_frame, window_grid)
    kept = positions[fraction >= min_visible - 1e-9]
    if not len(kept):
        return np.empty((0, 5 if oriented else 4), np.float32), np.empty(0, np.int64)
    subset = labels_frame.iloc[kept]
    subset.attrs = dict(labels_frame.attrs)
    return boxes_in_pixels(
        subset,
        window_grid,
        class_attribute,
        oriented=oriented,
        classes=class_ids(classes),
        allow_empty=True,
    )


def class_ids(classes: Sequence[str] | Mapping[str, int]) -> dict[str, int]:
    """Class column value to class id: names in order (0..K-1), or the mapping itself."""
    if isinstance(classes, Mapping):
        return dict(classes)
    return {name: i for i, name in enumerate(classes)}


CLASS_ID = "_eoforge_class_id"
"""Column of a checked object layer holding each object's class id."""
ROW = "_eoforge_row"
"""Column of a checked object layer holding each object's row position (over all layers)."""
GROUP = "_eoforge_group"
"""Column of the object layers of :class:`DetectionWindows`: the layer each object came from."""
_CODE = "_eoforge_code"  # class id, plus K for objects that only show (difficult)
_LONLAT_LIMIT = 360.0  # a longitude/latitude layer never reaches past this


def _bad_rows(frame: gpd.GeoDataFrame, ids: Mapping[str, int], attribute: str) -> dict[str, Any]:
    """Masks of the rows that cannot become boxes, by reason."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms)
    empty = missing | shapely.is_empty(geoms)
    polygon = ~empty & (shapely.get_dimensions(geoms) == 2)
    flat = polygon & ~(shapely.area(geoms) > 0)
    invalid = polygon & ~flat & ~shapely.is_valid(geoms)
    unknown = ~frame[attribute].isin(list(ids)).to_numpy()
    return {
        "of an unknown class": unknown,
        "empty": empty,
        "not polygons": ~empty & ~polygon,
        "degenerate polygons (no area)": flat,
        "invalid (self-intersecting) polygons": invalid,
    }


def _rows_in_file(path: Path) -> int | None:
    """Features stored in a vector file (None when the count is not cheap to get)."""
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return int(pq.read_metadata(path).num_rows)
        return int(pyogrio.read_info(path)["features"])
    except Exception:  # the count only adds a message; reading the file reports real problems
        return None


def checked_objects(
    labels: str | os.PathLike[str] | gpd.GeoDataFrame,
    class_attribute: str,
    classes: Sequence[str] | Mapping[str, int],
    bad_files: BadFiles = RAISE,
) -> gpd.GeoDataFrame:
    """An object layer checked once, with each object's class id and row position.

    Args:
        labels: A vector file (GeoParquet, GeoJSON...) or a GeoDataFrame.
        class_attribute: The column holding each object's class.
        classes: Class names (ids in order) or a column value to class id mapping.
        bad_files: What to do with objects of an unknown class and polygons that
            cannot be boxes (missing, empty, not a polygon, no area,
            self-intersecting): raise, or leave them out and log their number.

    Returns:
        The usable rows, with the columns :data:`CLASS_ID` (int64) and
        :data:`ROW` (position in the layer as read), ``attrs["source"]`` kept.

    Raises:
        ConfigError: No ``class_attribute`` column (always), or bad objects
            under the ``error`` policy; the message names the file.
        NotGeoreferencedError: The layer has no CRS, or claims longitude/latitude
            (a GeoJSON without a CRS member) while its coordinates are not.
    """
    frame = labels if isinstance(labels, gpd.GeoDataFrame) else read_vector(labels)
    source = source_of(frame) or IN_MEMORY
    ids = class_ids(classes)
    stored = None if isinstance(labels, gpd.GeoDataFrame) else _rows_in_file(Path(labels))
    if class_attribute not in frame.columns:
        class_values(frame, class_attribute, ids)  # raises, naming the columns there are
    if frame.crs is None:
        raise NotGeoreferencedError(
            "the object layer has no CRS.",
            path=source,
            fix="write the layer with its CRS (GeoParquet and GeoPackage keep it).",
        )
    if frame.crs.is_geographic and len(frame):
        left, bottom, right, top = (float(v) for v in frame.total_bounds)
        if max(abs(left), abs(right), abs(bottom), abs(top)) > _LONLAT_LIMIT:
            raise NotGeoreferencedError(
                f"coordinates up to ({left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}) are "
                "not longitude/latitude, yet the layer claims it: its CRS is missing "
                "(a GeoJSON without a CRS member is read as EPSG:4326).",
                path=source,
                fix="write the objects as GeoParquet, or reproject them to EPSG:4326.",
            )
    bad = _bad_rows(frame, ids, class_attribute)
    drop = np.logical_or.reduce(list(bad.values()))
    unread = 0 if stored is None else max(0, stored - len(frame))
    if drop.any() or unread:
        total = len(frame) + unread
        reasons = ", ".join(f"{int(m.sum())} {why}" for why, m in bad.items() if m.any())
        if unread:
            lost = f"{unread} without area (empty or degenerate polygons, dropped on reading)"
            reasons = ", ".join(r for r in (lost, reasons) if r)
        first = ""
        if drop.any():
            row = int(np.flatnonzero(drop)[0])
            first = f"; the first is at index {frame.index[row]!r} "
            first += f"({class_attribute}={frame[class_attribute].iloc[row]!r})"
        error = ConfigError(
            f"{int(drop.sum()) + unread} of {total} objects cannot be boxes ({reasons}){first}; "
            f"known classes: {', '.join(map(str, ids))}.",
            path=source,
            fix="correct or delete those rows, add their classes to data.classes, or set "
            "data.on_bad_file: skip to leave them out.",
        )
        bad_files.handle(error)
    kept = frame.iloc[np.flatnonzero(~drop)].copy()
    kept[CLASS_ID] = np.asarray([ids[v] for v in kept[class_attribute]], np.int64)
    kept[ROW] = np.flatnonzero(~drop).astype(np.int64)
    kept.attrs = {**frame.attrs, "source": source}
    return kept


def object_layers(
    labels: str | os.PathLike[str] | gpd.GeoDataFrame | Sequence[str | os.PathLike[str]],
    class_attribute: str,
    classes: Sequence[str] | Mapping[str, int],
    bad_files: BadFiles = RAISE,
) -> gpd.GeoDataFrame:
    """One or several object layers checked (:func:`checked_objects`) and stacked.

    Returns:
        The objects in the first layer's CRS, with :data:`GROUP` (the layer's
        position) and :data:`ROW` (position in the stacked frame).
    """
    layers = [labels] if isinstance(labels, str | os.PathLike | gpd.GeoDataFrame) else labels
    frames: list[gpd.GeoDataFrame] = []
    for group, layer in enumerate(layers):
        frame = checked_objects(layer, class_attribute, classes, bad_files)
        if frames:
            frame = frame.to_crs(frames[0].crs)
        frames.append(frame.assign(**{GROUP: group}))
    stacked = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    stacked[ROW] = np.arange(len(stacked), dtype=np.int64)
    stacked.attrs = {"source": ", ".join(str(f.attrs.get("source", IN_MEMORY)) for f in frames)}
    return stacked


def _window_key(window: Window) -> tuple[tuple[int, ...], float, float, int, int]:
    a = window.grid.affine
    return window.sources, round(a.c, 6), round(a.f, 6), window.grid.shape.y, window.grid.shape.x


class DetectionWindows(Dataset[Sample]):
    """Imagery read on georeferenced windows, with the boxes of the objects each one shows.

    Samples: ``image`` float32 ``[C, H, W]`` (physical values), ``valid`` bool
    ``[H, W]``, ``boxes`` float32 ``[N, 4]`` (``[N, 5]`` when ``oriented``),
    ``labels`` int64 ``[N]``, ``crs`` (WKT) and ``transform`` (6 floats). After
    :meth:`count_once`, samples of those windows also hold ``difficult`` bool
    ``[N]`` (see there).

    Windows are :class:`~eoforge.data.windows.Window` records (their
    ``sources`` index ``sources``; bands those lack come from the other
    sources, as :class:`~eoforge.data.datasets.GeoDataset` reads them) or
    grids; index the dataset by position in ``grid_windows`` or with a window.

    Args:
        sources: Image sources or paths (a mosaic, earlier ones win).
        labels: Object polygons: a vector file (GeoParquet, GeoJSON...) or a
            GeoDataFrame, or several files: one per group of ``source_groups``.
        grid_windows: The windows to index by position, or None (index with
            windows only, e.g. those a sampler yields).
        bands: Band names (or aliases) to read, in channel order.
        oriented: Oriented boxes instead of horizontal ones.
        class_attribute: Column of ``labels`` holding each object's class name.
        classes: Class names (``labels`` index them) or a value to class id mapping.
        min_visible: Least fraction (0..1] of an object's area a window must show.
        transforms: Called on each sample dict last.
        resampling: Image resampling where a source is not pixel-aligned with a window.
        bad_files: What to do with objects that cannot be boxes (see
            :func:`checked_objects`).
        source_groups: With several label files: the file (position in
            ``labels``) that labels each source, so that a window reading
            source ``i`` (its first source) shows only the objects of
            ``labels[source_groups[i]]``. Scenes of one place at other times
            thus keep their own objects.

    Raises:
        ConfigError, NotGeoreferencedError: ``min_visible`` out of range, or a
            bad object layer (see :func:`checked_objects`; the whole layer is
            checked at once).
    """

    def __init__(
        self,
        sources: SourceLike | Sequence[SourceLike],
        labels: str | os.PathLike[str] | gpd.GeoDataFrame | Sequence[str | os.PathLike[str]],
        grid_windows: Sequence[GeoBox | Window] | None,
        *,
        bands: Sequence[str],
        oriented: bool,
        class_attribute: str,
        classes: Sequence[str] | Mapping[str, int],
        min_visible: float = 0.5,
        transforms: Callable[[Sample], Sample] | None = None,
        resampling: str = "bilinear",
        bad_files: BadFiles = RAISE,
        source_groups: Sequence[int] | None = None,
    ) -> None:
        _check_fraction(min_visible)
        self.sources = as_sources(sources)
        self.frame = object_layers(labels, class_attribute, classes, bad_files)
        layers = int(self.frame[GROUP].max()) + 1 if len(self.frame) else 1
        if source_groups is not None and len(source_groups) != len(self.sources):
            raise ConfigError(
                f"{len(source_groups)} source groups for {len(self.sources)} sources.",
                fix="give the label file of every source.",
            )
        if source_groups is None and layers > 1:
            raise ConfigError(
                f"{layers} label files but no source_groups saying which labels which sources.",
                fix="pass source_groups, or one label file.",
            )
        self.source_groups = None if source_groups is None else list(source_groups)
        self.windows = None if grid_windows is None else list(grid_windows)
        self.images = GeoDataset(None, self.sources, bands, resampling=resampling)
        self.bands = list(bands)
        self.oriented = oriented
        self.class_attribute = class_attribute
        self.num_classes = max(class_ids(classes).values(), default=-1) + 1
        self.min_visible = min_visible
        self.transforms = transforms
        self.owners: dict[tuple[tuple[int, ...], float, float, int, int], set[int]] | None = None
        self._in_crs: dict[str, gpd.GeoDataFrame] = {}

    def __len__(self) -> int:
        if self.windows is None:
            raise TypeError("these DetectionWindows have no window list; index them with windows.")
        return len(self.windows)

    def _window(self, key: int | Window | GeoBox) -> Window:
        if isinstance(key, Window | GeoBox):
            return as_window(key)
        if self.windows is None:
            raise TypeError("index these DetectionWindows with the windows a sampler yields.")
        return as_window(self.windows[key])

    def _with_own_group(self, window: Window) -> Window:
        """The window reading its own source first, then the other sources of its label file.

        Bands its source lacks (a scene's VH file beside its VV file) are read
        from the same scene, never from another scene of the same place.
        """
        group = self.group_of(window)
        if group is None or self.source_groups is None:
            return window
        own = window.sources[0]
        others = tuple(i for i, g in enumerate(self.source_groups) if g == group and i != own)
        return Window(window.grid, (own, *others), window.datetimes)

    def group_of(self, window: Window) -> int | None:
        """The label file of a window's (first) source, or None when one file labels all."""
        if self.source_groups is None or not window.sources:
            return None
        return self.source_groups[window.sources[0]]

    def near(self, grid: GeoBox, group: int | None = None) -> gpd.GeoDataFrame:
        """The objects whose bounds meet a grid's, in the grid's CRS (cached per CRS).

        Args:
            grid: The window's grid.
            group: Only the objects of this label file (None: all).
        """
        assert grid.crs is not None
        wkt = grid.crs.to_wkt()
        if wkt not in self._in_crs:
            moved = self.frame.to_crs(wkt)
            moved.attrs = dict(self.frame.attrs)
            self._in_crs[wkt] = moved
        frame = self._in_crs[wkt]
        box = grid.boundingbox
        hits = np.sort(frame.sindex.query(shapely.box(box.left, box.bottom, box.right, box.top)))
        if group is not None:
            hits = hits[frame[GROUP].to_numpy()[hits] == group]
        near = frame.iloc[hits]
        near.attrs = dict(frame.attrs)
        return near

    def count_once(self, windows: Sequence[Window]) -> None:
        """Score each object in one window only: the one showing most of it.

        Overlapping evaluation tiles show an object near their shared edge
        twice. Among the windows reading the same sources (one image), each
        object belongs to the window holding the largest share of its area
        (the first in ``windows`` on ties). Samples of these windows then list
        every object they show any of, with ``difficult`` False for the
        objects they own and True for the others, which average precision
        ignores (a detection of them is neither right nor wrong). Objects
        counted once therefore do not depend on ``min_visible``.

        Args:
            windows: The evaluation windows (e.g. a grid sampler's tiles).
        """
        best: dict[tuple[int, ...], dict[int, tuple[float, int]]] = {}
        for index, window in enumerate(windows):
            near = self.near(window.grid, self.group_of(window))
            positions, fractions = visible_fractions(near, window.grid)
            group = best.setdefault(window.sources, {})
            for row, fraction in zip(near[ROW].to_numpy()[positions], fractions, strict=True):
                if fraction > group.get(int(row), (0.0, -1))[0]:
                    group[int(row)] = (float(fraction), index)
        owners: dict[tuple[tuple[int, ...], float, float, int, int], set[int]] = {}
        for window in windows:
            owners.setdefault(_window_key(window), set())
        for group in best.values():
            for row, (_, index) in group.items():
                owners[_window_key(windows[index])].add(row)
        self.owners = owners

    def __getitem__(self, key: int | Window | GeoBox) -> Sample:
        """A window's pixels, valid mask, boxes, labels and grid (and ``difficult``)."""
        window = self._window(key)
        sample = self.images[self._with_own_group(window)]
        near = self.near(window.grid, self.group_of(window))
        owned = None if self.owners is None else self.owners.get(_window_key(window))
        positions, fractions = visible_fractions(near, window.grid)
        if owned is None:
            kept = positions[fractions >= self.min_visible - 1e-9]
            subset = near.iloc[kept].copy()
            subset[_CODE] = subset[CLASS_ID]
        else:
            subset = near.iloc[positions].copy()
            shown_only = ~subset[ROW].isin(list(owned)).to_numpy()
            subset[_CODE] = subset[CLASS_ID].to_numpy() + self.num_classes * shown_only
        subset.attrs = dict(near.attrs)
        boxes, codes = boxes_in_pixels(
            subset, window.grid, _CODE, oriented=self.oriented, allow_empty=True
        )
        if not len(subset):
            boxes = np.empty((0, 5 if self.oriented else 4), np.float32)
        sample["boxes"] = torch.from_numpy(boxes)
        sample["labels"] = torch.from_numpy(codes % max(self.num_classes, 1))
        if owned is not None:
            sample["difficult"] = torch.from_numpy(codes >= self.num_classes)
        return self.transforms(sample) if self.transforms is not None else sample
