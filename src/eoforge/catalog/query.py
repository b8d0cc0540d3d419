"""Select catalog rows by place, time, sensor, bands and kind.

Footprints are stored in EPSG:4326; a query box given in another CRS is
reprojected with densified edges (a UTM or Web-Mercator rectangle is not a
rectangle in longitude/latitude). Time ranges are inclusive at both ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from eoforge.catalog.rows import KINDS, bounds_polygon_wgs84
from eoforge.errors import CatalogError
from eoforge.sensors.names import canonical_band, registry_sensor

TimeLike = datetime | date | str


def _as_time(value: TimeLike, *, end: bool) -> pd.Timestamp:
    """A UTC timestamp; a bare date means its first (start) or last (end) instant."""
    is_date_only = isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise CatalogError(
                f"cannot read {value!r} as a date or time.",
                fix="give an ISO 8601 date or time, e.g. 2020-06-01 or 2020-06-01T10:30:00Z.",
            ) from None
        is_date_only = len(value.strip()) <= 10
        value = parsed
    if is_date_only:
        day = value if not isinstance(value, datetime) else value.date()
        value = datetime.combine(day, time.max if end else time.min)
    assert isinstance(value, datetime)
    return pd.Timestamp(value.replace(tzinfo=UTC) if value.tzinfo is None else value)


def _time_mask(frame: gpd.GeoDataFrame, start: TimeLike | None, end: TimeLike | None) -> Any:
    mask = np.ones(len(frame), dtype=bool)
    times = frame["datetime"]
    if start is not None:
        mask &= (times >= _as_time(start, end=False)).fillna(False).to_numpy(dtype=bool)
    if end is not None:
        mask &= (times <= _as_time(end, end=True)).fillna(False).to_numpy(dtype=bool)
    return mask


def _bbox_mask(frame: gpd.GeoDataFrame, bbox: Sequence[float], bbox_crs: Any) -> Any:
    if len(bbox) != 4 or not bbox[0] <= bbox[2] or not bbox[1] <= bbox[3]:
        raise CatalogError(
            f"bbox must be (minx, miny, maxx, maxy) with min <= max; got {tuple(bbox)}.",
            fix="pass the box's west, south, east, north edges in bbox_crs units.",
        )
    area = bounds_polygon_wgs84(bbox, bbox_crs)
    mask = np.zeros(len(frame), dtype=bool)
    hits = frame.sindex.query(area, predicate="intersects")
    mask[hits] = True
    return mask


def _sensor_mask(frame: gpd.GeoDataFrame, sensor: str | Sequence[str]) -> Any:
    wanted = [sensor] if isinstance(sensor, str) else list(sensor)
    keys = {(registry_sensor(s) or s).lower() for s in wanted}
    values = [(registry_sensor(v) or v).lower() if v else None for v in frame["sensor"]]
    return np.array([v in keys for v in values], dtype=bool)


def _provides(row_bands: Sequence[str], sensor: str | None, wanted: Sequence[str]) -> bool:
    have = {b.lower() for b in row_bands}
    owner = registry_sensor(sensor)
    return all(
        name.lower() in have or canonical_band(name, owner).lower() in have for name in wanted
    )


def _bands_mask(frame: gpd.GeoDataFrame, bands: Sequence[str]) -> Any:
    wanted = [bands] if isinstance(bands, str) else list(bands)
    return np.array(
        [_provides(b, s, wanted) for b, s in zip(frame["bands"], frame["sensor"], strict=True)],
        dtype=bool,
    )


def _kind_mask(frame: gpd.GeoDataFrame, kind: str | Sequence[str]) -> Any:
    kinds = [kind] if isinstance(kind, str) else list(kind)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise CatalogError(
            f"unknown catalog kind(s) {', '.join(sorted(unknown))}.",
            fix=f"use one of {', '.join(KINDS)}.",
        )
    return frame["kind"].isin(kinds).to_numpy(dtype=bool)


def query_frame(
    frame: gpd.GeoDataFrame,
    *,
    bbox: Sequence[float] | None = None,
    bbox_crs: Any = "EPSG:4326",
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    sensor: str | Sequence[str] | None = None,
    bands: Sequence[str] | None = None,
    kind: str | Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Rows of a catalog frame that satisfy every given condition.

    Args:
        frame: Catalog frame.
        bbox: ``(minx, miny, maxx, maxy)`` in ``bbox_crs`` units; rows whose
            footprint intersects it are kept.
        bbox_crs: CRS of ``bbox`` (EPSG code, ``"EPSG:32631"``, WKT, CRS object).
        start: Earliest acquisition time, inclusive (a bare date: its first instant).
        end: Latest acquisition time, inclusive (a bare date: its last instant).
            Rows without a datetime never match a time condition.
        sensor: Sensor name(s); spacecraft names (``"S2A"``) match their registry sensor.
        bands: Band names or aliases that a row must all provide.
        kind: ``"image"``, ``"label_raster"``, ``"label_vector"`` or several.

    Returns:
        The matching rows (a new frame, index reset).
    """
    mask = np.ones(len(frame), dtype=bool)
    if bbox is not None:
        mask &= _bbox_mask(frame, bbox, bbox_crs)
    if start is not None or end is not None:
        mask &= _time_mask(frame, start, end)
    if sensor is not None:
        mask &= _sensor_mask(frame, sensor)
    if bands is not None:
        mask &= _bands_mask(frame, bands)
    if kind is not None:
        mask &= _kind_mask(frame, kind)
    out = frame[mask].reset_index(drop=True)
    assert isinstance(out, gpd.GeoDataFrame)
    return out
