"""Places as ``(lon, lat)`` degrees: checked, read from files, or taken from window centres.

* :func:`check_points` turns scalars or arrays into ``[N, 2]`` float64 and
  refuses what is not a place (a latitude outside ``[-90, 90]``, NaN or
  infinity), naming the first bad point;
* :func:`read_points` reads them from a CSV or (Geo)Parquet file;
* :func:`window_centres` gives the centre of every window of an embedding
  table, converted from the scene CRS to WGS84 longitude and latitude.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError

F64 = npt.NDArray[np.float64]
LON_NAMES = ("lon", "longitude", "lng", "x")
LAT_NAMES = ("lat", "latitude", "y")


def check_points(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, path: str | os.PathLike[str] | None = None
) -> F64:
    """Longitudes and latitudes as ``[N, 2]`` float64, checked.

    Args:
        lon: Longitudes, degrees (a number or an array; any real value, wrapped later).
        lat: Latitudes, degrees (same shape as ``lon``, or broadcastable to it).
        path: The file they came from, for messages.

    Returns:
        ``[N, 2]`` (longitude, latitude).

    Raises:
        ConfigError: Not numbers, shapes that do not match, a non-finite value,
            or a latitude outside ``[-90, 90]``; the message names the first bad point.
    """
    try:
        lons, lats = np.broadcast_arrays(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"longitudes and latitudes must be numbers of matching shapes ({error}).",
            path=path,
            fix="give one latitude per longitude, in degrees.",
        ) from None
    points = np.stack([lons.reshape(-1), lats.reshape(-1)], axis=1)
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ConfigError(
            f"point {i} ({points[i, 0]}, {points[i, 1]}) is not finite "
            f"({int(bad.sum())} of {len(points)} points are not).",
            path=path,
            fix="drop points without coordinates, or fill them in.",
        )
    outside = np.abs(points[:, 1]) > 90.0
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ConfigError(
            f"point {i} has latitude {points[i, 1]}, outside [-90, 90] "
            f"({int(outside.sum())} of {len(points)} points are outside).",
            path=path,
            fix="give (longitude, latitude) in degrees; are the columns swapped, or in metres?",
        )
    return points


def read_points(path: str | os.PathLike[str]) -> F64:
    """Places from a CSV or Parquet file.

    A GeoParquet file of point geometries is converted to WGS84; otherwise the
    file needs a longitude column (``lon``, ``longitude``, ``lng`` or ``x``) and a
    latitude column (``lat``, ``latitude`` or ``y``), in degrees.

    Args:
        path: ``.csv`` or ``.parquet`` file.

    Returns:
        ``[N, 2]`` (longitude, latitude), checked by :func:`check_points`.

    Raises:
        MissingFileError: The file does not exist.
        UnreadableFileError: Not a CSV or Parquet file, or no coordinate columns.
        ConfigError: A point is not a place (see :func:`check_points`).
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError("points file not found.", path=file, fix="check the path.")
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".parquet", ".geoparquet"):
        raise UnreadableFileError(
            f"points must be a .csv or .parquet file, not {suffix or 'a file without suffix'}.",
            path=file,
            fix="write the points as CSV with lon and lat columns, or as Parquet.",
        )
    frame = _read_frame(file, csv=suffix == ".csv")
    if isinstance(frame, gpd.GeoDataFrame):
        return _geometry_points(frame, file)
    columns = {str(c).lower(): c for c in frame.columns}
    lon = next((columns[n] for n in LON_NAMES if n in columns), None)
    lat = next((columns[n] for n in LAT_NAMES if n in columns), None)
    if lon is None or lat is None:
        raise UnreadableFileError(
            f"no longitude and latitude columns among {list(frame.columns)}.",
            path=file,
            fix="name the columns lon and lat (degrees).",
        )
    try:
        values = frame[[lon, lat]].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise UnreadableFileError(
            f"columns {lon!r} and {lat!r} do not hold only numbers.",
            path=file,
            fix="give longitudes and latitudes as numbers in degrees.",
        ) from None
    return check_points(values[:, 0], values[:, 1], path=file)


def _read_frame(file: Path, *, csv: bool) -> pd.DataFrame:
    try:
        if csv:
            frame: pd.DataFrame = pd.read_csv(file)
            return frame
        try:
            frame = gpd.read_parquet(file)
        except ValueError:  # a plain Parquet table: no geometry metadata
            frame = pd.read_parquet(file)
        return frame
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise UnreadableFileError(
            f"cannot read the points ({error}).", path=file, fix="give a valid CSV or Parquet file."
        ) from None


def _geometry_points(frame: gpd.GeoDataFrame, file: Path) -> F64:
    if frame.crs is None:
        raise UnreadableFileError(
            "the points' geometry has no CRS.", path=file, fix="write the file with its CRS."
        )
    if not (frame.geom_type == "Point").all():
        raise UnreadableFileError(
            "the geometry column holds other shapes than points.",
            path=file,
            fix="give points, or lon and lat columns.",
        )
    wgs84 = frame.to_crs("EPSG:4326")
    return check_points(wgs84.geometry.x.to_numpy(), wgs84.geometry.y.to_numpy(), path=file)


def to_lonlat(x: npt.ArrayLike, y: npt.ArrayLike, crs: str | CRS) -> F64:
    """Coordinates in ``crs`` as ``[N, 2]`` WGS84 longitude and latitude, degrees.

    Raises:
        ConfigError: ``crs`` is not a CRS pyproj knows.
    """
    try:
        transformer = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
    except CRSError as error:
        raise ConfigError(f"unknown CRS ({error}).", fix="give a CRS pyproj reads.") from None
    lon, lat = transformer.transform(np.asarray(x, np.float64), np.asarray(y, np.float64))
    return check_points(lon, lat)


def window_centres(windows: gpd.GeoDataFrame) -> F64:
    """Centres of window footprints as ``[N, 2]`` longitude and latitude, degrees.

    Args:
        windows: Footprints with a CRS (e.g. :attr:`EmbeddingTable.windows`).

    Raises:
        ConfigError: The footprints have no CRS.
    """
    if windows.crs is None:
        raise ConfigError(
            "the windows' footprints have no CRS.",
            fix="embed the scenes again with eoforge embed (it writes the scene CRS).",
        )
    centres = windows.geometry.centroid
    return to_lonlat(centres.x.to_numpy(), centres.y.to_numpy(), windows.crs)
