"""Burning a label layer into a class mask ``[H, W]`` with a documented burn order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio.features
import shapely
from odc.geo.geobox import GeoBox

from eoforge.errors import (
    ConfigError,
    available_list,
)
from eoforge.io.vector.placement import as_frame, place_on_grid
from eoforge.io.vector.reading import IN_MEMORY, PathLike, source_of


def class_values(
    gdf: gpd.GeoDataFrame, attribute: str | None, classes: Mapping[Any, int] | None
) -> npt.NDArray[np.int64]:
    """Integer class of each row of ``gdf`` (1 for every row when ``attribute`` is None)."""
    source = source_of(gdf) or IN_MEMORY
    if attribute is None:
        if classes is not None:
            raise ConfigError(
                "classes were given without the attribute column they apply to.",
                path=source,
                fix="pass attribute=<column holding the class names>.",
            )
        return np.ones(len(gdf), dtype=np.int64)
    if attribute not in gdf.columns:
        raise ConfigError(
            f"has no class column {attribute!r}; its columns are "
            f"{available_list(str(c) for c in gdf.columns if c != gdf.geometry.name)}.",
            path=source,
            fix="pass an existing column as attribute (Shapefile names are cut to 10 characters).",
        )
    values = gdf[attribute]
    if classes is not None:
        known = values.isin(list(classes))
        if not known.all():
            unknown = [str(v) for v in values[~known].unique()]
            raise ConfigError(
                f"column {attribute!r} has values missing from classes: {available_list(unknown)} "
                f"({int((~known).sum())} features); "
                f"known values: {available_list(str(k) for k in classes)}.",
                path=source,
                fix="add those values to classes, or drop their features first.",
            )
        return np.asarray([classes[v] for v in values], dtype=np.int64)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    array = values.to_numpy(dtype=float) if numeric else np.empty(0)
    if not numeric or not np.isfinite(array).all() or (array != np.round(array)).any():
        examples = available_list([str(v) for v in values.unique()], limit=5)
        raise ConfigError(
            f"class column {attribute!r} must hold integers, but holds {examples}.",
            path=source,
            fix="pass classes={value: integer, ...} to map its values to class numbers.",
        )
    integers: npt.NDArray[np.int64] = array.astype(np.int64)
    return integers


# --------------------------------------------------------------------------- rasterization


def _burn_sequence(
    gdf: gpd.GeoDataFrame,
    positions: npt.NDArray[np.intp],
    geoms: npt.NDArray[np.object_],
    burn_order: str,
) -> npt.NDArray[np.intp]:
    """Burning order of the features ``gdf.iloc[positions]`` (shapes ``geoms``); last wins."""
    if burn_order == "file":
        return np.arange(len(positions))
    if burn_order == "area":
        # Stable sort: equal areas (all lines and points have 0) keep file order.
        return np.argsort(-shapely.area(geoms), kind="stable")
    keys = gdf[burn_order].iloc[positions].reset_index(drop=True)
    ordered = keys.sort_values(kind="stable", na_position="first")
    sequence: npt.NDArray[np.intp] = np.asarray(ordered.index, dtype=np.intp)
    return sequence


def _check_burn_order(gdf: gpd.GeoDataFrame, burn_order: str) -> None:
    if burn_order in ("area", "file"):
        return
    if burn_order not in gdf.columns or burn_order == gdf.geometry.name:
        raise ConfigError(
            f"burn_order {burn_order!r} is neither 'area', 'file' nor a column; columns: "
            f"{available_list(str(c) for c in gdf.columns if c != gdf.geometry.name)}.",
            path=source_of(gdf) or IN_MEMORY,
            fix="use 'area', 'file' or the name of a numeric priority column.",
        )


def _check_fits(
    values: npt.NDArray[np.int64], fill: float, dtype: np.dtype[Any], source: str
) -> None:
    if dtype.kind not in "iuf":
        raise ConfigError(
            f"cannot burn class values into a {dtype} mask.",
            path=source,
            fix="use an integer or float dtype such as 'uint8', 'uint16' or 'int32'.",
        )
    info: np.iinfo[Any] | np.finfo[Any]
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    burnt = [float(fill)]
    if len(values):
        burnt += [float(values.min()), float(values.max())]
    if min(burnt) < info.min or max(burnt) > info.max:
        raise ConfigError(
            f"class values and fill span [{min(burnt):g}, {max(burnt):g}], "
            f"which does not fit {dtype}.",
            path=source,
            fix="choose a wider dtype (e.g. 'uint16' or 'int32') or smaller class numbers.",
        )


def rasterize_labels(
    labels: PathLike | gpd.GeoDataFrame,
    grid: GeoBox,
    attribute: str | None = None,
    *,
    classes: Mapping[Any, int] | None = None,
    all_touched: bool = False,
    fill: float = 0,
    burn_order: str = "area",
    dtype: npt.DTypeLike = "uint8",
    allow_empty: bool = False,
) -> npt.NDArray[Any]:
    """Burn vector labels into a class mask on a grid.

    Labels are reprojected and clipped with :func:`to_grid_crs`, then burnt with
    :func:`rasterio.features.rasterize` using the grid's affine transform and
    shape. Polygons burn the pixels whose centre lies inside them (or every
    pixel they touch with ``all_touched``). Lines (e.g. road centre lines) and
    points burn too, which is where ``all_touched`` matters most: by default a
    line burns a one-pixel-wide, 8-connected trace (GDAL's Bresenham-like walk,
    one pixel per step along its major direction), so diagonal pixels meet only
    at corners; ``all_touched=True`` burns every pixel the line passes through,
    a 4-connected line with up to about twice the pixels on diagonals. A point
    burns the pixel it falls in. To burn roads with a width, buffer the centre
    lines in a metric CRS first.

    Where features overlap, the one burnt last wins. ``burn_order`` sets the
    order, deterministically:

    * ``"area"`` (default): largest area first (area in the grid's CRS), so
      small features stay on top of the large ones they sit in; lines and
      points (area 0) burn last; ties keep file order.
    * ``"file"``: file (row) order; later rows win.
    * a column name: ascending by that column (stable; missing values burn
      first), so higher values win. ``"area"`` and ``"file"`` mean the modes
      above even if such columns exist.

    Args:
        labels: A vector file (any format :func:`read_vector` reads) or a
            GeoDataFrame with a CRS.
        grid: The output grid; its CRS need not equal the labels' CRS.
        attribute: Column holding each feature's class; ``None`` burns 1.
        classes: Maps ``attribute`` values (e.g. class names) to integers. All
            values must be present. Without it, the column must hold integers.
        all_touched: Burn every pixel a feature touches, not only those whose
            centre it covers (or, for lines, those on its trace).
        fill: Value of pixels no feature covers.
        burn_order: ``"area"``, ``"file"`` or a column name (see above).
        dtype: Output data type; any rasterio supports (``uint8``, ``uint16``,
            ``int16``, ``int32``, ``float32``...). Class values must fit in it.
        allow_empty: Return an all-``fill`` mask when no label overlaps the
            grid instead of raising :class:`LabelsOutsideSceneError`.

    Returns:
        The mask, shape ``[H, W]`` = ``grid.shape``, of ``dtype``.

    Raises:
        LabelsOutsideSceneError: No label overlaps the grid (unless
            ``allow_empty``).
        ConfigError: Unknown class values (the message lists the known ones),
            a non-integer class column without ``classes``, an unknown
            ``burn_order`` or column, or values that do not fit ``dtype``.
        MissingFileError, EmptyFileError, UnreadableFileError,
            NotGeoreferencedError: From :func:`read_vector`.
    """
    gdf = as_frame(labels)
    source = source_of(gdf) or IN_MEMORY
    out_dtype = np.dtype(dtype)
    _check_burn_order(gdf, burn_order)
    values = class_values(gdf, attribute, classes)
    _check_fits(values, fill, out_dtype, source)
    positions, geoms = place_on_grid(gdf, grid, allow_empty)
    height, width = grid.shape
    if not len(positions):
        return np.full((height, width), fill, dtype=out_dtype)
    order = _burn_sequence(gdf, positions, geoms, burn_order)
    burn_values = values[positions][order].tolist()
    try:
        mask: npt.NDArray[Any] = rasterio.features.rasterize(
            zip(geoms[order], burn_values, strict=True),
            out_shape=(height, width),
            transform=grid.transform,
            fill=fill,
            all_touched=all_touched,
            dtype=out_dtype.name,
        )
    except ValueError as exc:
        raise ConfigError(
            f"cannot burn labels as {out_dtype} ({exc}).",
            path=source,
            fix="use a dtype rasterio supports: uint8, uint16, int16, int32, float32, float64.",
        ) from exc
    return mask


# --------------------------------------------------------------------------- detection boxes
