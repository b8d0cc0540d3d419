"""Label features as detection boxes in grid pixel coordinates (axis-aligned or oriented)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from odc.geo.geobox import GeoBox

from eoforge.errors import (
    ConfigError,
    available_list,
)
from eoforge.io.vector.placement import (
    _grid_crs,
    _outside_error,
    _reproject,
    as_frame,
)
from eoforge.io.vector.rasterize import class_values
from eoforge.io.vector.reading import IN_MEMORY, PathLike, geometries, source_of


def _to_pixels(geoms: npt.NDArray[np.object_], grid: GeoBox) -> npt.NDArray[np.object_]:
    inverse = ~grid.transform

    def world_to_pixel(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = coords[:, 0], coords[:, 1]
        return np.column_stack(
            [inverse.a * x + inverse.b * y + inverse.c, inverse.d * x + inverse.e * y + inverse.f]
        )

    pixels: npt.NDArray[np.object_] = shapely.transform(geoms, world_to_pixel)
    return pixels


def _oriented_parameters(rectangles: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    """``(cx, cy, w, h, angle)`` of minimum rotated rectangles given in pixel coordinates."""
    rings = shapely.get_exterior_ring(rectangles)
    if (shapely.get_num_coordinates(rings) == 5).all():
        corners = shapely.get_coordinates(rings).reshape(-1, 5, 2)[:, :4]
    else:  # GEOS normally closes each rectangle with a fifth point; be safe if it did not
        corners = np.stack([shapely.get_coordinates(ring)[:4] for ring in rings])
    centre = corners.mean(axis=1)
    first = corners[:, 1] - corners[:, 0]
    second = corners[:, 2] - corners[:, 1]
    len_first = np.hypot(first[:, 0], first[:, 1])
    len_second = np.hypot(second[:, 0], second[:, 1])

    def angle_of(edge: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # Rows grow downwards, so a counter-clockwise angle on screen is atan2(-dy, dx).
        raw = np.arctan2(-edge[:, 1], edge[:, 0])
        wrapped: npt.NDArray[np.float64] = np.mod(raw + math.pi / 2, math.pi) - math.pi / 2
        return wrapped

    angle_first, angle_second = angle_of(first), angle_of(second)
    square = np.isclose(len_first, len_second, rtol=1e-9, atol=1e-12)
    # For squares, the side whose angle lies in [-pi/4, pi/4) is taken as w.
    first_is_long = np.where(
        square,
        (angle_first >= -math.pi / 4) & (angle_first < math.pi / 4),
        len_first > len_second,
    )
    width = np.where(first_is_long, len_first, len_second)
    height = np.where(first_is_long, len_second, len_first)
    angle = np.where(first_is_long, angle_first, angle_second)
    return np.column_stack([centre, width, height, angle])


def boxes_in_pixels(
    labels: PathLike | gpd.GeoDataFrame,
    grid: GeoBox,
    attribute: str | None = None,
    *,
    oriented: bool = False,
    classes: Mapping[Any, int] | None = None,
    allow_empty: bool = False,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Detection boxes of polygon labels, in pixel coordinates of a grid.

    Pixel coordinates: ``x`` = column, ``y`` = row, origin at the top-left
    corner of the top-left pixel, units of pixels, measured on pixel edges (a
    box covering exactly pixel ``(row=2, col=3)`` is ``(3, 2, 4, 3)``).

    Axis-aligned boxes are ``(xmin, ymin, xmax, ymax)`` of each polygon after
    clipping it to the grid, so boxes partly outside the grid are clipped to
    ``[0, W] x [0, H]``.

    Oriented boxes are ``(cx, cy, w, h, angle)`` of each polygon's minimum
    rotated rectangle, computed on the whole (unclipped) polygon, so a box
    partly outside the grid is kept whole and its centre may lie outside.
    ``angle`` is in radians, counter-clockwise *as displayed* (rows growing
    downwards) from the image x axis to the box's ``w`` side, in
    ``[-pi/2, pi/2)``; ``w >= h`` (for squares, the side whose angle lies in
    ``[-pi/4, pi/4)`` is ``w``). The ``w`` side thus runs along
    ``(cos(angle), -sin(angle))`` in ``(x, y)`` pixel coordinates. On a
    north-up grid this is the usual map angle (counter-clockwise from east).
    mmrotate/OpenCV "le90" angles are measured clockwise on screen: use
    ``-angle`` (and wrap ``pi/2`` to ``-pi/2``).

    Features whose polygon has no area inside the grid are dropped.

    Args:
        labels: A vector file or GeoDataFrame of polygons, with a CRS.
        grid: The image grid; labels are reprojected to its CRS.
        attribute: Column holding each feature's class; ``None`` labels every
            box 1 (0 is left for background, as torchvision expects).
        oriented: Return oriented ``[N, 5]`` boxes instead of ``[N, 4]``.
        classes: Maps ``attribute`` values (e.g. names) to integers.
        allow_empty: Return empty arrays when no polygon overlaps the grid
            instead of raising :class:`LabelsOutsideSceneError`.

    Returns:
        ``boxes``: float32 ``[N, 4]`` or ``[N, 5]``; ``labels``: int64 ``[N]``.
        Rows follow file order.

    Raises:
        ConfigError: A feature is not a polygon, or class values are unknown.
        LabelsOutsideSceneError: No polygon overlaps the grid (unless
            ``allow_empty``).
        NotGeoreferencedError, CRSMismatchError: As for :func:`to_grid_crs`.
    """
    gdf = as_frame(labels)
    source = source_of(gdf) or IN_MEMORY
    values = class_values(gdf, attribute, classes)
    geoms = geometries(gdf)
    not_polygons = shapely.get_dimensions(geoms) != 2
    if not_polygons.any():
        kinds = available_list(str(t) for t in gdf.geometry[not_polygons].geom_type)
        raise ConfigError(
            f"boxes need polygons, but {int(not_polygons.sum())} features are {kinds}.",
            path=source,
            fix="buffer points or lines to the object's extent, or drop those features.",
        )
    pixels = _to_pixels(_reproject(gdf, _grid_crs(grid)), grid)
    height, width = grid.shape
    inside = shapely.intersection(pixels, shapely.box(0, 0, width, height))
    keep = shapely.area(inside) > 0
    if len(gdf) and not keep.any() and not allow_empty:
        raise _outside_error(gdf, grid, _grid_crs(grid))
    if oriented:
        rectangles = shapely.oriented_envelope(pixels[keep])
        boxes = _oriented_parameters(rectangles) if keep.any() else np.empty((0, 5))
    else:
        boxes = shapely.bounds(inside[keep]).reshape(-1, 4)
    boxes32 = boxes.astype(np.float32)
    if oriented:
        boxes32[:, 4] = _float32_half_open(boxes32[:, 4])
    return boxes32, values[keep]


def _float32_half_open(angle: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Keep float32 angles in [-pi/2, pi/2): rounding to float32 can push them just outside."""
    lowest = np.nextafter(np.float32(-math.pi / 2), np.float32(0))
    wide = angle.astype(np.float64)
    out: npt.NDArray[np.float32] = np.where(
        (wide < -math.pi / 2) | (wide >= math.pi / 2), lowest, angle
    ).astype(np.float32)
    return out


# --------------------------------------------------------------------------- writing
