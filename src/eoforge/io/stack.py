"""What a file's name and the metadata beside it say about a product.

Both :mod:`eoforge.io.source` (one multi-band file) and
:mod:`eoforge.io.products` (band-per-file products) need this: the product a
stack's name reveals, and the calibration and acquisition time that a Landsat
``MTL.txt`` or Sentinel-2 ``MTD*.xml`` beside the files gives. It depends only
on the sensor registry and the file header, so both modules import it at the
top and neither imports the other to get it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from os import PathLike
from pathlib import Path
from typing import Any

from eoforge.errors import EoforgeError
from eoforge.io.handles import FileInfo
from eoforge.sensors import (
    find_metadata,
    identify_stack,
    parse_landsat_mtl,
    parse_s2_mtd,
)
from eoforge.sensors.radiometry import Radiometry


@dataclass(frozen=True)
class StackProduct:
    """What a multi-band file's name and sidecar metadata reveal.

    Attributes:
        names: Canonical band names in file order.
        sensor: Sensor short name.
        level: Processing level.
        datetime: Acquisition time, if known.
        radiometry: Per band name, calibration from the sidecar metadata.
    """

    names: list[str]
    sensor: str | None
    level: str | None
    datetime: datetime | None
    radiometry: dict[str, Radiometry]


def metadata_radiometry(
    meta_path: str | PathLike[str] | None, names: Iterable[str]
) -> dict[str, Radiometry]:
    """Radiometry per band from a Landsat MTL or Sentinel-2 MTD file.

    Args:
        meta_path: The metadata file, or None.
        names: Canonical band names to calibrate.

    Returns:
        Band name to radiometry, for the bands the metadata calibrates (a
        quality band, for instance, keeps its stored values and is left out);
        empty when ``meta_path`` is None or not a known metadata file.
    """
    if meta_path is None:
        return {}
    lower = Path(meta_path).name.lower()
    out: dict[str, Radiometry] = {}
    if lower.endswith("mtl.txt"):
        mtl = parse_landsat_mtl(meta_path)
        for name in names:
            try:
                out[name] = mtl.toa_radiometry(name)
            except EoforgeError:
                continue  # e.g. a quality band: keep its stored values
    elif lower.endswith(".xml"):
        mtd = parse_s2_mtd(meta_path)
        for name in names:
            try:
                out[name] = mtd.radiometry(name)
            except EoforgeError:
                continue
    return out


def metadata_datetime(meta_path: str | PathLike[str] | None) -> datetime | None:
    """Acquisition time (UTC) from a Landsat MTL or Sentinel-2 MTD file, None if unknown."""
    if meta_path is None:
        return None
    meta: Any = (
        parse_landsat_mtl(meta_path)
        if Path(meta_path).name.lower().endswith("mtl.txt")
        else parse_s2_mtd(meta_path)
    )
    value = getattr(meta, "acquired", None)
    return value if isinstance(value, datetime) else None


def as_datetime(day: date | datetime | None) -> datetime | None:
    """A date from a file name as midnight UTC (names carry no time zone; EO products use UTC)."""
    if day is None or isinstance(day, datetime):
        return day
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def product_for_stack(
    path: str | PathLike[str], info: FileInfo, *, calibrate: bool = True
) -> StackProduct | None:
    """Identify a multi-band file whose name reveals its product (e.g. a Landsat or S2 stack).

    Args:
        path: The file.
        info: Its header.
        calibrate: Read calibration from sidecar metadata.

    Returns:
        The product description, or None if the name is not recognised.

    Raises:
        BandNotFoundError: The name reveals a product, but none of its band
            layouts has the file's band count (the message names the counts
            eoforge knows and how to name the bands instead).
    """
    stack = identify_stack(path)
    if stack is None or len(stack.bands) != info.count:
        return None
    meta = find_metadata(path) if calibrate else None
    rad = metadata_radiometry(meta, stack.bands) if calibrate else {}
    when = metadata_datetime(meta) or as_datetime(stack.date)
    return StackProduct(list(stack.bands), stack.sensor, stack.level, when, rad)


__all__ = [
    "StackProduct",
    "as_datetime",
    "metadata_datetime",
    "metadata_radiometry",
    "product_for_stack",
]
