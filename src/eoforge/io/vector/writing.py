"""Writing label layers atomically (temporary name, then rename)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import geopandas as gpd

from eoforge.errors import (
    ConfigError,
    NotGeoreferencedError,
)
from eoforge.io.vector.reading import PARQUET_SUFFIXES, WRITE_DRIVERS, PathLike


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
    if suffix not in (*PARQUET_SUFFIXES, *WRITE_DRIVERS):
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
        if suffix in PARQUET_SUFFIXES:
            gdf.to_parquet(partial)
        else:
            options: dict[str, Any] = {"layer": path.stem} if suffix == ".gpkg" else {}
            if suffix == ".fgb":
                # FlatGeobuf's spatial index reorders features; file order is burn order.
                options["SPATIAL_INDEX"] = "NO"
            gdf.to_file(partial, driver=WRITE_DRIVERS[suffix], engine="pyogrio", **options)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
