"""Reading label layers from GeoJSON, GeoPackage, Shapefile, GeoParquet and FlatGeobuf."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyarrow
import pyarrow.parquet as pq
import pyogrio
import pyogrio.errors
import shapely

from eoforge.errors import (
    ConfigError,
    EmptyFileError,
    MissingFileError,
    NotGeoreferencedError,
    UnreadableFileError,
    available_list,
)

PathLike = str | os.PathLike[str]

PARQUET_SUFFIXES = (".parquet", ".geoparquet")
_GEOJSON_SUFFIXES = (".geojson", ".json")
_OGR_DRIVERS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
    ".fgb": "FlatGeobuf",
}
WRITE_DRIVERS = {
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
IN_MEMORY = "<in-memory GeoDataFrame>"


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
    if suffix in PARQUET_SUFFIXES:
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


def geometries(gdf: gpd.GeoDataFrame) -> npt.NDArray[np.object_]:
    """The shapely geometries of a layer as an object array ``[N]``."""
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
    geoms = geometries(gdf)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    repaired = _repair(geoms[present])
    usable = ~shapely.is_empty(repaired)
    kept = gdf.loc[present].loc[usable]
    return _with_geometries(kept, repaired[usable])


# --------------------------------------------------------------------------- grid placement


def source_of(gdf: gpd.GeoDataFrame) -> str | None:
    """The file a layer was read from (kept in ``gdf.attrs["source"]``), or None."""
    source = gdf.attrs.get("source")
    return None if source is None else str(source)
