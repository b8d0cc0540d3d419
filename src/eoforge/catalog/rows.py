"""Catalog rows: the columns of a catalog and how a scene or label layer fills them.

One row describes one scene (``kind="image"``), one label raster
(``"label_raster"``) or one label vector layer (``"label_vector"``). Raster
rows carry the scene's :class:`~eoforge.io.source.RasterSource` as JSON text,
so a catalog can give back readable sources without opening any file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely.geometry
from affine import Affine

from eoforge.errors import NotGeoreferencedError
from eoforge.geo.grid import AnyCRS, footprint_wgs84, make_grid, to_crs
from eoforge.io.handles import file_info
from eoforge.io.source import RasterSource
from eoforge.io.vector import read_vector

KINDS = ("image", "label_raster", "label_vector")
"""Row kinds: a scene, a label raster (class mask), a label vector layer."""

COLUMNS = (
    "id",
    "kind",
    "path",
    "crs",
    "epsg",
    "resolution",
    "datetime",
    "sensor",
    "level",
    "bands",
    "source",
    "geometry",
)
"""Catalog columns, in order. ``geometry`` is the footprint in EPSG:4326."""

_LABEL_WORDS = re.compile(
    r"(?:^|[^a-z])(?:masks?|labels?|gt|ground[_-]?truth|annotations?|segmentation)(?:[^a-z]|$)"
)
_IMAGE_WORDS = re.compile(r"(?:^|[^a-z])(?:input|images?|img|scene)(?:[^a-z]|$)")


def bounds_polygon_wgs84(
    bounds: Sequence[float], crs: AnyCRS, densify: int = 16
) -> shapely.geometry.Polygon:
    """Rectangle ``(minx, miny, maxx, maxy)`` in ``crs`` as a densified lon/lat polygon.

    Args:
        bounds: Rectangle in ``crs`` units.
        crs: Its coordinate reference system.
        densify: Points per edge, so edges that curve in lon/lat stay accurate.

    Returns:
        The rectangle's outline in EPSG:4326 (degrees).
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    width = max(maxx - minx, 1e-12)
    height = max(maxy - miny, 1e-12)
    box = make_grid((1, 1), Affine(width, 0, minx, 0, -height, maxy), crs)
    return footprint_wgs84(box, densify=densify)


def to_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime (naive values are taken as UTC), or None."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_label_raster(source: RasterSource) -> bool:
    """Whether a raster looks like a label layer: one integer band named like a mask.

    The file or a folder above it must be named with ``mask``, ``label``,
    ``gt``, ``annotation`` or ``segmentation`` as a word (``roads_mask.tif``,
    ``labels/tile_3.tif``), the file name must not say ``input`` or ``image``,
    and the file must hold one integer band.
    """
    if len(source.assets) != 1:
        return False
    asset = next(iter(source.assets.values()))
    dtype = file_info(asset.path).dtypes[asset.index - 1]
    if not np.issubdtype(np.dtype(dtype), np.integer):
        return False
    path = Path(asset.path)
    words = [path.stem.lower(), *(p.name.lower() for p in path.parents[:2])]
    if _IMAGE_WORDS.search(words[0]):  # e.g. road_mask_input.tif is the image of a mask pair
        return False
    return any(_LABEL_WORDS.search(w) for w in words)


def _epsg(crs: AnyCRS) -> int | None:
    code = to_crs(crs).epsg
    return None if code is None else int(code)


def raster_row(source: RasterSource, kind: str | None = None) -> dict[str, Any]:
    """The catalog row of a raster source (reads file headers through the handle cache).

    Args:
        source: The scene or label raster.
        kind: ``"image"`` or ``"label_raster"``; None decides with :func:`is_label_raster`.

    Returns:
        Column name to value. ``resolution`` is the finest pixel size in CRS
        units (metres for UTM, degrees for EPSG:4326).
    """
    grid = source.grid()
    crs = grid.crs
    assert crs is not None  # dataset_grid refuses rasters without a CRS
    return {
        "id": Path(source.name).name,  # product keys may be paths
        "kind": kind or ("label_raster" if is_label_raster(source) else "image"),
        "path": _common_path(source.paths),
        "crs": crs.to_wkt(),
        "epsg": _epsg(crs),
        "resolution": float(abs(grid.resolution.x)),
        "datetime": to_utc(source.datetime),
        "sensor": source.sensor,
        "level": source.level,
        "bands": list(source.bands),
        "source": json.dumps(source.to_dict()),
        "geometry": footprint_wgs84(grid),
    }


def _common_path(paths: Sequence[str]) -> str:
    """The one file, or the folder holding all the files, of a source."""
    if len(paths) == 1:
        return paths[0]
    parents = {str(Path(p).parent) for p in paths}
    return parents.pop() if len(parents) == 1 else str(Path(paths[0]).parent)


def vector_row(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The catalog row of a vector label layer (reads it with :func:`read_vector`).

    Args:
        path: GeoJSON, GeoPackage, Shapefile or GeoParquet file.

    Returns:
        Column name to value; the footprint is the layer's bounding box in
        EPSG:4326, ``resolution`` is NaN and ``source`` is None.
    """
    gdf = read_vector(path)
    crs = gdf.crs
    if crs is None:  # read_vector defaults GeoJSON to EPSG:4326 and raises for others
        raise NotGeoreferencedError(
            "vector layer has no CRS.", path=path, fix="assign one, e.g. with `ogr2ogr -a_srs`."
        )
    wkt = crs.to_wkt()
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    footprint = (
        bounds_polygon_wgs84((minx, miny, maxx, maxy), crs)
        if len(gdf) and all(math.isfinite(v) for v in (minx, miny, maxx, maxy))
        else shapely.geometry.Polygon()
    )
    return {
        "id": Path(path).stem,
        "kind": "label_vector",
        "path": os.fspath(path),
        "crs": wkt,
        "epsg": _epsg(crs),
        "resolution": math.nan,
        "datetime": None,
        "sensor": None,
        "level": None,
        "bands": [],
        "source": None,
        "geometry": footprint,
    }


def _unique_ids(ids: Sequence[str]) -> list[str]:
    """Ids made unique by suffixing repeats with ``-2``, ``-3``, ..."""
    seen: dict[str, int] = {}
    out = []
    for value in ids:
        count = seen.get(value, 0) + 1
        seen[value] = count
        out.append(value if count == 1 else f"{value}-{count}")
    return out


def frame_from_rows(rows: Sequence[dict[str, Any]]) -> gpd.GeoDataFrame:
    """A catalog frame (columns :data:`COLUMNS`, CRS EPSG:4326) from rows.

    Ids are made unique; ``datetime`` is a UTC timestamp column (NaT when
    unknown); ``epsg`` a nullable integer column.
    """
    data: dict[str, Any] = {c: [r[c] for r in rows] for c in COLUMNS if c != "geometry"}
    data["id"] = _unique_ids([str(v) for v in data["id"]])
    return normalise_frame(
        gpd.GeoDataFrame(data, geometry=[r["geometry"] for r in rows], crs="EPSG:4326")
    )


def normalise_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give a catalog frame its column order and dtypes (after building or loading).

    Args:
        frame: A frame with the :data:`COLUMNS`.

    Returns:
        A new frame with a fresh 0..N-1 index, ``bands`` as lists of str.
    """
    out = frame[list(COLUMNS)].reset_index(drop=True).copy()
    out["datetime"] = pd.to_datetime(out["datetime"], utc=True).astype("datetime64[us, UTC]")
    out["epsg"] = out["epsg"].astype("Int64")
    out["resolution"] = out["resolution"].astype("float64")
    out["bands"] = [[str(b) for b in bands] for bands in out["bands"]]
    for column in ("id", "kind", "path", "crs", "sensor", "level", "source"):
        values = [None if _missing(v) else str(v) for v in out[column]]
        out[column] = pd.Series(values, index=out.index, dtype=object)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def text_or_none(value: Any) -> str | None:
    """A cell as text, or None when it is missing (None, NaN, NA)."""
    return None if _missing(value) else str(value)
