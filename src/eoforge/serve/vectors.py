"""Vector layers as GeoJSON in EPSG:4326, filtered by a bounding box and capped.

A vector file (GeoParquet, GeoJSON, GeoPackage, shapefile) is read once, on
first use, reprojected to EPSG:4326 and kept with its spatial index; each
request returns the features intersecting the box, at most :data:`MAX_FEATURES`
of them (``"truncated": true`` when more would match). Attribute values that
JSON cannot hold (dates, bytes) are given as text.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely.geometry

MAX_FEATURES = 5000
"""Most features one GeoJSON response holds."""

_LOCK = threading.Lock()
_FRAMES: dict[Path, gpd.GeoDataFrame] = {}


def read_vector(path: Path) -> gpd.GeoDataFrame:
    """The file's features in EPSG:4326, read once per process (a CRS-less file is taken as such).

    Raises:
        OSError, ValueError: The file cannot be read (pyogrio's and pyarrow's errors included).
    """
    with _LOCK:
        held = _FRAMES.get(path)
    if held is not None:
        return held
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        frame = gpd.read_parquet(path)
    else:
        frame = gpd.read_file(path)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    frame = frame.reset_index(drop=True)
    for column in frame.columns:
        if column == frame.geometry.name:
            continue
        series = frame[column]
        if not (
            pd.api.types.is_numeric_dtype(series)
            or pd.api.types.is_bool_dtype(series)
            or pd.api.types.is_string_dtype(series)
        ):
            frame[column] = series.astype(str)
    frame.sindex  # noqa: B018  (built now, not on the first request)
    with _LOCK:
        _FRAMES[path] = frame
    return frame


def properties(frame: gpd.GeoDataFrame) -> list[str]:
    """Attribute names of a vector layer (the geometry column left out)."""
    return [str(c) for c in frame.columns if c != frame.geometry.name]


def bounds(frame: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` of the features, None when there are none."""
    if len(frame) == 0:
        return None
    w, s, e, n = (float(v) for v in frame.total_bounds)
    return w, s, e, n


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA or value is None:
        return None
    return value


def feature_collection(
    path: Path,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = MAX_FEATURES,
) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the features intersecting ``bbox`` (all without one).

    Args:
        path: Vector file.
        bbox: ``(west, south, east, north)`` in degrees, or None.
        limit: Most features returned.

    Returns:
        ``{"type": "FeatureCollection", "features": [...], "truncated": bool,
        "total": n}``, features in file order, ``total`` counting all matches.
    """
    frame = read_vector(path)
    if bbox is None:
        index = np.arange(len(frame))
    else:
        index = np.sort(frame.sindex.query(shapely.geometry.box(*bbox), predicate="intersects"))
    total = int(index.size)
    index = index[:limit]
    columns = properties(frame)
    geometry = frame.geometry.values
    features = []
    for i in index:
        row = frame.iloc[int(i)]
        features.append(
            {
                "type": "Feature",
                "id": int(i),
                "geometry": shapely.geometry.mapping(geometry[int(i)]),
                "properties": {c: _plain(row[c]) for c in columns},
            }
        )
    collection = {
        "type": "FeatureCollection",
        "features": features,
        "truncated": total > limit,
        "total": total,
    }
    return collection


__all__ = ["MAX_FEATURES", "bounds", "feature_collection", "properties", "read_vector"]
