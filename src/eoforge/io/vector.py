"""Vector labels: read them, put them on a grid, burn them into masks, turn them into boxes.

A label layer is a :class:`geopandas.GeoDataFrame` read from GeoJSON, GeoPackage,
Shapefile, GeoParquet or FlatGeobuf. It is placed on a grid (an
:class:`odc.geo.geobox.GeoBox`: CRS + affine transform + shape) by reprojecting it
to the grid's CRS and clipping it to the grid's footprint; from there it becomes
either a class mask ``[H, W]`` (semantic segmentation) or boxes in pixel
coordinates (object detection).

Pixel coordinates used here are those of the grid: ``x`` is the column and ``y``
the row, both measured in pixels from the top-left corner of the top-left pixel
(pixel edges, not centres), so pixel ``(row, col)`` covers ``[col, col + 1) x
[row, row + 1)``. The grid's affine transform maps them to world coordinates
whatever its orientation (north-up grids with a negative y resolution, y-down
pixel grids, rotated grids).

The source file of a layer is kept in ``gdf.attrs["source"]`` so that errors
raised later (e.g. labels outside the scene) can name it.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow
import pyarrow.parquet as pq
import pyogrio
import pyogrio.errors
import pyproj
import rasterio.features
import shapely
from odc.geo.geobox import GeoBox

from eoforge.errors import (
    ConfigError,
    CRSMismatchError,
    EmptyFileError,
    LabelsOutsideSceneError,
    MissingFileError,
    NotGeoreferencedError,
    UnreadableFileError,
    available_list,
)

__all__ = [
    "boxes_in_pixels",
    "rasterize_labels",
    "read_vector",
    "to_grid_crs",
    "write_vector",
]

PathLike = str | os.PathLike[str]

_PARQUET_SUFFIXES = (".parquet", ".geoparquet")
_GEOJSON_SUFFIXES = (".geojson", ".json")
_OGR_DRIVERS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
    ".fgb": "FlatGeobuf",
}
_WRITE_DRIVERS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".fgb": "FlatGeobuf",
}
_READABLE = (
    "GeoJSON (.geojson), GeoPackage (.gpkg), Shapefile (.shp), "
    "GeoParquet (.parquet, .geoparquet), FlatGeobuf (.fgb)"
)
_OGR_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.FieldError,
)
_GEOMETRY_COLLECTION = 7
_IN_MEMORY = "<in-memory GeoDataFrame>"


# --------------------------------------------------------------------------- reading


def read_vector(
    path: PathLike,
    layer: str | None = None,
    columns: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector label layer and clean its geometries.

    Null and empty geometries are dropped; invalid ones are repaired with
    :func:`shapely.make_valid`, keeping only the parts of the original dimension
    (a self-intersecting polygon stays polygonal). Row order is the file order
    and the original index is kept. An empty layer gives an empty frame.

    Args:
        path: A GeoJSON (``.geojson``/``.json``), GeoPackage (``.gpkg``),
            Shapefile (``.shp``, with its ``.shx``/``.dbf``/``.prj`` beside it),
            GeoParquet (``.parquet``/``.geoparquet``) or FlatGeobuf (``.fgb``)
            file. Other suffixes are handed to GDAL, which may know them.
        layer: The layer to read from a multi-layer file (GeoPackage). Required
            when the file holds more than one layer.
        columns: Attribute columns to read (the geometry is always read);
            ``None`` reads them all.

    Returns:
        The layer in its own CRS (GeoJSON without a CRS member is EPSG:4326,
        as RFC 7946 says), with ``attrs["source"]`` set to ``path``.

    Raises:
        MissingFileError: ``path`` does not exist.
        EmptyFileError: The file has zero bytes.
        UnreadableFileError: The file is not a readable vector file.
        NotGeoreferencedError: The layer has no CRS (e.g. a Shapefile without
            its ``.prj``).
        ConfigError: ``layer`` or ``columns`` name something the file lacks, or
            a multi-layer file was given without ``layer``.
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        if layer is not None:
            raise ConfigError(
                f"GeoParquet holds a single layer, but layer={layer!r} was asked for.",
                path=path,
                fix="drop the layer argument.",
            )
        gdf = _read_geoparquet(path, columns)
    else:
        gdf = _read_ogr(path, layer, columns)
    if gdf.crs is None:
        if suffix not in _GEOJSON_SUFFIXES:
            raise _no_crs_error(path)
        gdf = gdf.set_crs("EPSG:4326")
    gdf = _clean_frame(gdf)
    gdf.attrs["source"] = str(path)
    return gdf


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MissingFileError(
            "vector label file does not exist.",
            path=path,
            fix=f"check the path (relative paths start from {Path.cwd()}).",
        )
    if path.is_dir():
        raise UnreadableFileError(
            "is a folder, not a vector file.",
            path=path,
            fix="pass the file itself, e.g. labels.gpkg or roads.shp.",
        )
    if path.stat().st_size == 0:
        raise EmptyFileError(
            "vector label file is empty (0 bytes).",
            path=path,
            fix="copy or export it again; an interrupted download or copy leaves empty files.",
        )


def _no_crs_error(path: Path) -> NotGeoreferencedError:
    if path.suffix.lower() == ".shp" and not path.with_suffix(".prj").exists():
        what = f"layer has no CRS: {path.with_suffix('.prj').name} is missing next to the .shp."
        fix = (
            "put the .prj that came with the data next to the .shp, or set the CRS with "
            "gdf.set_crs(...) and save the layer with eoforge.io.write_vector."
        )
    else:
        what = "layer has no CRS, so its coordinates cannot be placed on a scene."
        fix = "set the CRS with gdf.set_crs(...) and save the layer with eoforge.io.write_vector."
    return NotGeoreferencedError(what, path=path, fix=fix)


def _read_geoparquet(path: Path, columns: Sequence[str] | None) -> gpd.GeoDataFrame:
    try:
        schema = pq.read_schema(path)
    except (pyarrow.ArrowException, OSError) as exc:
        raise UnreadableFileError(
            f"cannot be read as Parquet ({exc}).",
            path=path,
            fix="check that it is a complete GeoParquet file; write it again if it was cut short.",
        ) from exc
    geo = (schema.metadata or {}).get(b"geo")
    if geo is None:
        raise UnreadableFileError(
            "is a Parquet file without GeoParquet 'geo' metadata, so it has no geometry column.",
            path=path,
            fix="write it with GeoDataFrame.to_parquet or eoforge.io.write_vector.",
        )
    primary = str(json.loads(geo)["primary_column"])
    wanted = None
    if columns is not None:
        _check_columns(path, columns, schema.names)
        wanted = [*dict.fromkeys([*columns, primary])]
    try:
        return gpd.read_parquet(path, columns=wanted)
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        raise UnreadableFileError(
            f"cannot be decoded as GeoParquet ({exc}).",
            path=path,
            fix="write it again with GeoDataFrame.to_parquet or eoforge.io.write_vector.",
        ) from exc


def _read_ogr(path: Path, layer: str | None, columns: Sequence[str] | None) -> gpd.GeoDataFrame:
    fix = f"check that it is a complete file in a supported format: {_READABLE}."
    if path.suffix.lower() == ".shp":
        fix += " A Shapefile also needs its .shx and .dbf next to the .shp."
    try:
        names = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
        if layer is None and len(names) > 1:
            raise ConfigError(
                f"holds {len(names)} layers ({available_list(names)}) and none was chosen.",
                path=path,
                fix="pass layer=<name>.",
            )
        if layer is not None and layer not in names:
            raise ConfigError(
                f"has no layer {layer!r}; its layers are {available_list(names)}.",
                path=path,
                fix="pass one of those names as layer.",
            )
        if columns is not None:
            _check_columns(path, columns, list(pyogrio.read_info(path, layer=layer)["fields"]))
        return gpd.read_file(path, layer=layer, columns=columns, engine="pyogrio")
    except _OGR_ERRORS as exc:
        raise UnreadableFileError(
            f"cannot be read as a vector file ({exc}).", path=path, fix=fix
        ) from exc


def _check_columns(path: Path, columns: Sequence[str], present: Sequence[str]) -> None:
    missing = [name for name in columns if name not in present]
    if missing:
        raise ConfigError(
            f"has no column(s) {available_list(missing)}; "
            f"its columns are {available_list(present)}.",
            path=path,
            fix="ask for existing columns (Shapefile names are cut to 10 characters).",
        )


# --------------------------------------------------------------------------- geometry hygiene


def _geometries(gdf: gpd.GeoDataFrame) -> npt.NDArray[np.object_]:
    return np.asarray(gdf.geometry.array, dtype=object)


def _with_geometries(gdf: gpd.GeoDataFrame, geoms: npt.NDArray[np.object_]) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    out.attrs = dict(gdf.attrs)
    return out


def _keep_dimension(
    geoms: npt.NDArray[np.object_], dims: npt.NDArray[np.integer[Any]]
) -> npt.NDArray[np.object_]:
    """Keep, in each geometry, only the parts of dimension ``dims`` (0 point, 1 line, 2 area).

    Repairing or clipping a polygon can leave slivers of lower dimension (a
    polygon touching the clip edge yields a line); those are not labels.
    """
    out = geoms.copy()
    mixed = (shapely.get_type_id(geoms) == _GEOMETRY_COLLECTION) | (
        shapely.get_dimensions(geoms) != dims
    )
    for i in np.flatnonzero(mixed & ~shapely.is_empty(geoms)):
        parts = shapely.get_parts(geoms[i])
        parts = parts[shapely.get_dimensions(parts) == dims[i]]
        out[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    return out


def _repair(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Repair invalid geometries with ``make_valid``, keeping their dimension."""
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    out = geoms.copy()
    dims = shapely.get_dimensions(geoms[invalid])
    out[invalid] = _keep_dimension(shapely.make_valid(geoms[invalid]), dims)
    return out


def _clean_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop null/empty geometries and repair invalid ones; keeps row order and index."""
    geoms = _geometries(gdf)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    repaired = _repair(geoms[present])
    usable = ~shapely.is_empty(repaired)
    kept = gdf.loc[present].loc[usable]
    return _with_geometries(kept, repaired[usable])


# --------------------------------------------------------------------------- grid placement


def _source(gdf: gpd.GeoDataFrame) -> str | None:
    source = gdf.attrs.get("source")
    return None if source is None else str(source)


def _grid_crs(grid: GeoBox) -> pyproj.CRS:
    if grid.crs is None:
        raise NotGeoreferencedError(
            "the grid has no CRS, so labels cannot be placed on it.",
            fix="build the GeoBox with the CRS of the scene it describes.",
        )
    return pyproj.CRS.from_wkt(grid.crs.to_wkt())


def _crs_name(crs: Any) -> str:
    crs = pyproj.CRS.from_user_input(crs)
    authority = crs.to_authority()
    code = f"{authority[0]}:{authority[1]}" if authority else "no EPSG code"
    return f"{code} ({crs.name})"


def _fmt_bounds(bounds: Sequence[float]) -> str:
    return "(" + ", ".join(f"{value:.10g}" for value in bounds) + ")"


def _reproject(gdf: gpd.GeoDataFrame, crs: pyproj.CRS) -> npt.NDArray[np.object_]:
    """Valid geometries of ``gdf`` in ``crs``, one per row; non-finite results become empty."""
    if gdf.crs is None:
        raise NotGeoreferencedError(
            "labels have no CRS, so they cannot be placed on the grid.",
            path=_source(gdf),
            fix="set it with gdf.set_crs(...) (the CRS the coordinates were recorded in).",
        )
    if gdf.crs == crs:
        return _repair(_geometries(gdf))
    try:
        geoms = _geometries(gdf.geometry.to_crs(crs))
    except pyproj.exceptions.ProjError as exc:
        raise CRSMismatchError(
            f"labels cannot be reprojected from {_crs_name(gdf.crs)} to {_crs_name(crs)} ({exc}).",
            path=_source(gdf),
            fix=(
                "check the layer's CRS; if PROJ lacks a transformation, reproject the "
                "labels to the scene's CRS yourself."
            ),
        ) from exc
    finite = np.isfinite(shapely.bounds(geoms)).all(axis=1)
    geoms[~finite] = shapely.Polygon()
    return _repair(geoms)


def _outside_error(
    gdf: gpd.GeoDataFrame, grid: GeoBox, grid_crs: pyproj.CRS
) -> LabelsOutsideSceneError:
    source = _source(gdf)
    grid_bounds = tuple(grid.extent.boundingbox)[:4]
    label_bounds = tuple(float(v) for v in gdf.total_bounds)
    message = (
        f"{len(gdf)} label features lie entirely outside the grid: labels bounds "
        f"{_fmt_bounds(label_bounds)} in {_crs_name(gdf.crs)}, grid bounds "
        f"{_fmt_bounds(grid_bounds)} in {_crs_name(grid_crs)}."
    )
    return LabelsOutsideSceneError(
        message if source else f"labels ({_IN_MEMORY}): {message}",
        path=source,
        fix=(
            "check that the labels belong to this scene and that the layer's CRS is right "
            "(a wrong .prj or swapped lon/lat put labels elsewhere)."
        ),
    )


def to_grid_crs(
    gdf: gpd.GeoDataFrame, grid: GeoBox, *, allow_empty: bool = False
) -> gpd.GeoDataFrame:
    """Reproject labels to the grid's CRS and clip them to the grid's footprint.

    CRSs are compared by equality (never by EPSG number); equal CRSs skip the
    reprojection. Clipping keeps each feature's dimension (a polygon touching
    the footprint only along an edge is dropped, not turned into a line).

    Args:
        gdf: Labels with a CRS; ``attrs["source"]`` (set by :func:`read_vector`)
            names the file in error messages.
        grid: The target grid; its footprint (``grid.extent``) is the clip area.
        allow_empty: Return an empty frame instead of raising when no feature
            overlaps the grid (useful for windows that may lie between labels).

    Returns:
        The overlapping features, clipped, in the grid's CRS, in input order,
        with the input's index and ``attrs``.

    Raises:
        LabelsOutsideSceneError: ``gdf`` has features but none overlaps the
            grid (and ``allow_empty`` is false). The message gives both bounds
            and CRSs.
        NotGeoreferencedError: ``gdf`` or ``grid`` has no CRS.
        CRSMismatchError: PROJ cannot transform between the two CRSs.
    """
    positions, geoms = _place_on_grid(gdf, grid, allow_empty)
    out = gdf.iloc[positions].copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=_grid_crs(grid))
    out.attrs = dict(gdf.attrs)
    return out


def _place_on_grid(
    gdf: gpd.GeoDataFrame, grid: GeoBox, allow_empty: bool
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Row positions of the features overlapping ``grid`` and their clipped geometries."""
    crs = _grid_crs(grid)
    geoms = _reproject(gdf, crs)
    footprint = grid.extent.geom
    shapely.prepare(footprint)
    overlapping = np.flatnonzero(shapely.intersects(footprint, geoms))
    clipped = _keep_dimension(
        shapely.intersection(geoms[overlapping], footprint),
        shapely.get_dimensions(geoms[overlapping]),
    )
    kept = ~shapely.is_empty(clipped)
    if len(gdf) and not kept.any() and not allow_empty:
        raise _outside_error(gdf, grid, crs)
    return overlapping[kept], clipped[kept]


def _as_frame(labels: PathLike | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if isinstance(labels, gpd.GeoDataFrame):
        return labels
    return read_vector(labels)


# --------------------------------------------------------------------------- class values


def _class_values(
    gdf: gpd.GeoDataFrame, attribute: str | None, classes: Mapping[Any, int] | None
) -> npt.NDArray[np.int64]:
    """Integer class of each row of ``gdf`` (1 for every row when ``attribute`` is None)."""
    source = _source(gdf) or _IN_MEMORY
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
            path=_source(gdf) or _IN_MEMORY,
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
    gdf = _as_frame(labels)
    source = _source(gdf) or _IN_MEMORY
    out_dtype = np.dtype(dtype)
    _check_burn_order(gdf, burn_order)
    values = _class_values(gdf, attribute, classes)
    _check_fits(values, fill, out_dtype, source)
    positions, geoms = _place_on_grid(gdf, grid, allow_empty)
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
    gdf = _as_frame(labels)
    source = _source(gdf) or _IN_MEMORY
    values = _class_values(gdf, attribute, classes)
    geoms = _geometries(gdf)
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


def write_vector(gdf: gpd.GeoDataFrame, path: PathLike) -> Path:
    """Write a label layer, atomically, in the format its suffix names.

    The layer is written to a temporary file in the same folder, which is
    renamed to ``path`` only once complete, so a failed write leaves no
    half-written file under the final name (and an existing file intact).
    A GeoPackage is written with a single layer named after the file stem and
    replaces any existing file (with all its layers).

    Args:
        gdf: The layer; it must have a CRS.
        path: Destination: ``.parquet``/``.geoparquet`` (GeoParquet),
            ``.geojson``/``.json`` (GeoJSON), ``.gpkg`` (GeoPackage) or
            ``.fgb`` (FlatGeobuf). Missing parent folders are created.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ConfigError: The suffix names no supported format.
        NotGeoreferencedError: ``gdf`` has no CRS.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (*_PARQUET_SUFFIXES, *_WRITE_DRIVERS):
        raise ConfigError(
            f"cannot write vector format {suffix or '(no suffix)'!r}.",
            path=path,
            fix="use .parquet (GeoParquet), .geojson, .gpkg or .fgb.",
        )
    if gdf.crs is None:
        raise NotGeoreferencedError(
            "refusing to write a layer without CRS; it could not be placed on any scene.",
            path=path,
            fix="set it with gdf.set_crs(...) first.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.partial{suffix}")
    try:
        if suffix in _PARQUET_SUFFIXES:
            gdf.to_parquet(partial)
        else:
            options: dict[str, Any] = {"layer": path.stem} if suffix == ".gpkg" else {}
            if suffix == ".fgb":
                # FlatGeobuf's spatial index reorders features; file order is burn order.
                options["SPATIAL_INDEX"] = "NO"
            gdf.to_file(partial, driver=_WRITE_DRIVERS[suffix], engine="pyogrio", **options)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
