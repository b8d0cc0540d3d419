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

:class:`DetectionWindows` reads imagery by band name on a list of windows and
adds the boxes: samples follow the detection contract (``image``, ``valid``,
``boxes``, ``labels``) plus the grid (``crs``, ``transform``), and batch with
:func:`eoforge.data.detection.detection_collate`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
import torch
from odc.geo.geobox import GeoBox
from torch.utils.data import Dataset

from eoforge.errors import ConfigError
from eoforge.geo.grid import grid_to_sample
from eoforge.io.reader import SourceLike, as_sources, read
from eoforge.io.vector import boxes_in_pixels, read_vector
from eoforge.io.vector.placement import place_on_grid
from eoforge.io.vector.rasterize import class_values

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
    classes: Sequence[str],
    class_attribute: str = "label",
    min_visible: float = 0.5,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Boxes of the features a window shows at least ``min_visible`` of, in its pixels.

    Args:
        labels_frame: Polygon features with a CRS and a class column.
        window_grid: The window (CRS, transform, shape).
        oriented: Oriented ``[N, 5]`` ``(cx, cy, w, h, angle)`` boxes (kept whole)
            instead of ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` (clipped to the window).
        classes: Class names; ``labels`` index them (0..K-1, no background).
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
        classes={name: i for i, name in enumerate(classes)},
        allow_empty=True,
    )


class DetectionWindows(Dataset[Sample]):
    """Imagery read on georeferenced windows, with the boxes of the objects each one shows.

    Samples: ``image`` float32 ``[C, H, W]`` (physical values), ``valid`` bool
    ``[H, W]``, ``boxes`` float32 ``[N, 4]`` (``[N, 5]`` when ``oriented``),
    ``labels`` int64 ``[N]``, ``crs`` (WKT) and ``transform`` (6 floats).

    Args:
        sources: Image sources or paths (a mosaic, earlier ones win).
        labels: Object polygons: a vector file (GeoParquet, GeoJSON...) or a GeoDataFrame.
        grid_windows: The windows (grids) to index by position.
        bands: Band names (or aliases) to read, in channel order.
        oriented: Oriented boxes instead of horizontal ones.
        class_attribute: Column of ``labels`` holding each object's class name.
        classes: Class names; ``labels`` index them.
        min_visible: Least fraction (0..1] of an object's area a window must show.
        transforms: Called on each sample dict last.
        resampling: Image resampling where a source is not pixel-aligned with a window.

    Raises:
        ConfigError: ``min_visible`` out of range, or a feature whose class is
            missing from ``classes`` (checked for the whole layer at once).
    """

    def __init__(
        self,
        sources: SourceLike | Sequence[SourceLike],
        labels: str | os.PathLike[str] | gpd.GeoDataFrame,
        grid_windows: Sequence[GeoBox],
        *,
        bands: Sequence[str],
        oriented: bool,
        class_attribute: str,
        classes: Sequence[str],
        min_visible: float = 0.5,
        transforms: Callable[[Sample], Sample] | None = None,
        resampling: str = "bilinear",
    ) -> None:
        _check_fraction(min_visible)
        self.sources = as_sources(sources)
        self.frame = labels if isinstance(labels, gpd.GeoDataFrame) else read_vector(labels)
        self.windows = list(grid_windows)
        self.bands = list(bands)
        self.oriented = oriented
        self.class_attribute = class_attribute
        self.classes = list(classes)
        self.min_visible = min_visible
        self.transforms = transforms
        self.resampling = resampling
        class_values(self.frame, class_attribute, {name: i for i, name in enumerate(classes)})

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> Sample:
        """Window ``index``: its pixels, valid mask, boxes, labels and grid."""
        grid = self.windows[index]
        image, valid = read(self.sources, grid, self.bands, self.resampling)
        boxes, labels = boxes_for_window(
            self.frame,
            grid,
            oriented=self.oriented,
            classes=self.classes,
            class_attribute=self.class_attribute,
            min_visible=self.min_visible,
        )
        sample: Sample = {
            "image": torch.from_numpy(image),
            "valid": torch.from_numpy(valid),
            "boxes": torch.from_numpy(boxes),
            "labels": torch.from_numpy(labels),
            **grid_to_sample(grid),
        }
        return self.transforms(sample) if self.transforms is not None else sample
