"""Where and when evidence may come from: a bounding box and a time range over the items.

Filters are strict: with a bounding box, only items whose footprint intersects
it remain (a document that names no place is left out); with a time range,
only items whose time lies in it (bounds included; an item of unknown time is
left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS as ProjCRS
from pyproj.exceptions import CRSError

from eoforge.errors import ConfigError
from eoforge.knowledge.items import CRS


@dataclass(frozen=True)
class Filters:
    """A bounding box and/or a time range.

    Attributes:
        bbox: ``(minx, miny, maxx, maxy)`` in ``crs`` (None: anywhere).
        crs: CRS of ``bbox`` (default WGS84 longitude, latitude).
        start: Earliest time, UTC, included (None: open).
        end: Latest time, UTC, included (None: open).
    """

    bbox: tuple[float, float, float, float] | None = None
    crs: str = CRS
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            if not (minx < maxx and miny < maxy):
                raise ConfigError(
                    f"the bounding box {self.bbox} is empty (min must be below max).",
                    fix="give --bbox minx,miny,maxx,maxy with minx < maxx and miny < maxy.",
                )
            try:
                ProjCRS.from_user_input(self.crs)
            except CRSError as error:
                raise ConfigError(
                    f"unknown CRS {self.crs!r} ({error}).", fix="give a CRS such as EPSG:32631."
                ) from None
        if self.start is not None and self.end is not None and _utc(self.start) > _utc(self.end):
            raise ConfigError(
                f"the time range starts ({self.start}) after it ends ({self.end}).",
                fix="give --time START/END with START before END.",
            )

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return self.bbox is not None or self.start is not None or self.end is not None

    def mask(self, items: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
        """``[N]`` True for the items that pass (footprints in WGS84, times in UTC)."""
        keep = np.ones(len(items), dtype=bool)
        if self.bbox is not None:
            box = gpd.GeoSeries([shapely.box(*self.bbox)], crs=self.crs).to_crs(CRS).iloc[0]
            footprints = items.geometry
            placed = footprints.notna().to_numpy() & ~footprints.is_empty.to_numpy()
            hits = np.zeros(len(items), dtype=bool)
            hits[placed] = footprints[placed].intersects(box).to_numpy()
            keep &= hits
        if self.start is not None or self.end is not None:
            times = pd.to_datetime(items["time"], utc=True)
            known = times.notna().to_numpy().copy()
            if self.start is not None:
                known &= (times >= pd.Timestamp(_utc(self.start))).fillna(False).to_numpy()
            if self.end is not None:
                known &= (times <= pd.Timestamp(_utc(self.end))).fillna(False).to_numpy()
            keep &= known
        return keep

    def describe(self) -> dict[str, object]:
        """JSON-ready form (for evidence and messages)."""
        return {
            "bbox": list(self.bbox) if self.bbox else None,
            "crs": self.crs if self.bbox else None,
            "start": None if self.start is None else _utc(self.start).isoformat(),
            "end": None if self.end is None else _utc(self.end).isoformat(),
        }


def _utc(when: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken as UTC)."""
    stamp = pd.Timestamp(when)
    return (
        stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    ).to_pydatetime()


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"minx,miny,maxx,maxy"`` as four floats.

    Raises:
        ConfigError: Not four numbers.
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(np.isfinite(values)):
        raise ConfigError(
            f"--bbox {text!r} is not four numbers.",
            fix="give --bbox minx,miny,maxx,maxy, e.g. 4.3,50.8,4.5,50.9 (lon/lat).",
        )
    return values[0], values[1], values[2], values[3]
