"""Vessel labels of the Sentinel-1 images: footprints as vectors and DOTA text per date.

``vectors/vessels.parquet`` and ``.geojson`` (scene CRS) hold one footprint
polygon (oriented rectangle) per vessel and date, with ``class``
(``"vessel"``), ``length_m``, ``width_m``, ``heading_deg`` (course of the
bow, clockwise from grid north) and ``date`` (ISO date of the S1 image).
``s1/YYYYMMDD/vessels.txt`` lists the same footprints as DOTA v1 lines in
pixel coordinates of that date's S1 grid, the form of the VHR chips' files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
from odc.geo.geobox import GeoBox
from shapely.geometry import Polygon

from eoforge.synth.world.vessels import Vessel
from eoforge.synth.write.atomic import write_bytes_atomic
from eoforge.synth.write.manifest import WrittenFile
from eoforge.synth.write.vectors import MEDIA, to_map, write_frame

#: Class name of every vessel.
VESSEL_CLASS = "vessel"
COLUMNS = ["vessel_id", "class", "length_m", "width_m", "heading_deg", "date"]


def vessel_frame(
    geobox: GeoBox, dates: list[dt.date], fleets: tuple[tuple[Vessel, ...], ...]
) -> gpd.GeoDataFrame:
    """Every vessel of every date as a footprint polygon in the scene CRS.

    Args:
        geobox: Base grid (CRS and origin); the S1 images share it.
        dates: Acquisition dates.
        fleets: One tuple of vessels per date.

    Returns:
        GeoDataFrame with ``vessel_id`` (``"<YYYYMMDD>-<k>"``), ``class``,
        ``length_m``, ``width_m``, ``heading_deg``, ``date`` and ``geometry``.
    """
    rows: list[dict[str, object]] = []
    for date, fleet in zip(dates, fleets, strict=True):
        for k, vessel in enumerate(fleet):
            poly = Polygon([tuple(p) for p in vessel.rect.corners()])
            rows.append(
                {
                    "vessel_id": f"{date:%Y%m%d}-{k}",
                    "class": VESSEL_CLASS,
                    "length_m": round(vessel.length, 3),
                    "width_m": round(vessel.width, 3),
                    "heading_deg": round(vessel.heading_deg, 3),
                    "date": date.isoformat(),
                    "geometry": to_map(geobox, poly),
                }
            )
    crs = geobox.crs.to_wkt() if geobox.crs is not None else None
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def dota_lines(fleet: tuple[Vessel, ...], gsd: float) -> list[str]:
    """DOTA v1 lines of one date's vessels in pixel coordinates of the S1 grid.

    Args:
        fleet: The date's vessels.
        gsd: S1 pixel size, metres.

    Returns:
        A header (``imagesource``, ``gsd``) then one line per vessel: the four
        corners ``x1 y1 ... x4 y4`` (columns, rows; clockwise as displayed),
        the class and difficulty 0.
    """
    lines = ["imagesource:eoforge-synth", f"gsd:{gsd}"]
    for vessel in fleet:
        px = vessel.rect.corners() / gsd
        coords = " ".join(f"{v:.2f}" for v in np.asarray(px).ravel())
        lines.append(f"{coords} {VESSEL_CLASS} 0")
    return lines


def write_vessel_labels(
    root: Path, geobox: GeoBox, dates: list[dt.date], fleets: tuple[tuple[Vessel, ...], ...]
) -> list[WrittenFile]:
    """Write ``vectors/vessels.{parquet,geojson}`` and ``s1/YYYYMMDD/vessels.txt``.

    Args:
        root: Scene folder.
        geobox: Base grid (the S1 grid).
        dates: Acquisition dates.
        fleets: One tuple of vessels per date.

    Returns:
        The records of the files written: two vector files, one text file per date.
    """
    out = []
    for name in write_frame(vessel_frame(geobox, dates, fleets), "vessels", root / "vectors"):
        ext = name[name.rfind(".") :]
        out.append(
            WrittenFile(
                f"vectors/{name}",
                "vector",
                "",
                "vectors",
                "vessels",
                roles=("labels",),
                media_type=MEDIA[ext],
            )
        )
    gsd = abs(geobox.transform.a)
    for date, fleet in zip(dates, fleets, strict=True):
        rel = f"s1/{date:%Y%m%d}/vessels.txt"
        text = "\n".join(dota_lines(fleet, gsd)) + "\n"
        write_bytes_atomic(root / rel, text.encode())
        out.append(
            WrittenFile(
                rel,
                "text",
                f"s1-{date:%Y%m%d}",
                "s1",
                "vessels",
                date,
                roles=("labels",),
                media_type="text/plain",
            )
        )
    return out
