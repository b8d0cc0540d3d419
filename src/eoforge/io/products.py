"""Turn files and product folders into :class:`RasterSource` objects.

A path can be one raster (multi-band stack), a band-per-file product folder
(Landsat, Sentinel-2 ``IMG_DATA``, BigEarthNet patches), or a folder holding
several such products. Band files are recognised by their names through the
sensor registry; calibration metadata (Landsat ``MTL.txt``, Sentinel-2
``MTD*.xml``) found beside them sets each band's radiometry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from eoforge.errors import EoforgeError, MissingFileError, NotGeoreferencedError
from eoforge.io.handles import FileInfo, check_path, file_info
from eoforge.io.source import RASTER_SUFFIXES, BandAsset, RasterSource, source_from_file
from eoforge.sensors.names import band_sort_key
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


def _metadata_radiometry(meta_path: Path | None, names: Iterable[str]) -> dict[str, Radiometry]:
    """Radiometry per band from a Landsat MTL or Sentinel-2 MTD file (empty if none)."""
    if meta_path is None:
        return {}
    from eoforge.sensors import parse_landsat_mtl, parse_s2_mtd

    lower = meta_path.name.lower()
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


def _metadata_datetime(meta_path: Path | None) -> datetime | None:
    if meta_path is None:
        return None
    from eoforge.sensors import parse_landsat_mtl, parse_s2_mtd

    meta: Any = (
        parse_landsat_mtl(meta_path)
        if meta_path.name.lower().endswith("mtl.txt")
        else parse_s2_mtd(meta_path)
    )
    value = getattr(meta, "acquired", None)
    return value if isinstance(value, datetime) else None


def product_for_stack(path: str, info: FileInfo, *, calibrate: bool = True) -> StackProduct | None:
    """Identify a multi-band file whose name reveals its product (e.g. a Landsat or S2 stack).

    Args:
        path: The file.
        info: Its header.
        calibrate: Read calibration from sidecar metadata.

    Returns:
        The product description, or None if the name is not recognised or
        the band count does not match the product.
    """
    from eoforge.sensors.products import find_metadata, identify_stack

    stack = identify_stack(path)
    if stack is None or len(stack.bands) != info.count:
        return None
    meta = find_metadata(path) if calibrate else None
    rad = _metadata_radiometry(meta, stack.bands) if calibrate else {}
    when = _metadata_datetime(meta) or _as_datetime(stack.date)
    return StackProduct(list(stack.bands), stack.sensor, stack.level, when, rad)


def _raster_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES
    )


def sources_from_band_files(
    files: Iterable[str | Path], *, calibrate: bool = True
) -> tuple[list[RasterSource], list[Path]]:
    """Group band-per-file rasters into one source per product.

    Args:
        files: Candidate raster files.
        calibrate: Read calibration from sidecar metadata.

    Returns:
        ``(sources, unrecognised)``: one source per product key found, and
        the files whose names no sensor pattern matched.
    """
    from eoforge.sensors.products import find_metadata, identify_band_file

    groups: dict[str, list[Any]] = {}
    unknown: list[Path] = []
    for f in files:
        band_file = identify_band_file(f)
        if band_file is None:
            unknown.append(Path(f))
        else:
            groups.setdefault(band_file.product, []).append(band_file)
    sources = [
        _group_source(key, members, calibrate, find_metadata) for key, members in groups.items()
    ]
    return sources, unknown


def _group_source(
    key: str, members: list[Any], calibrate: bool, find_metadata: Any
) -> RasterSource:
    first = members[0]
    meta = find_metadata(first.path) if calibrate else None
    names = [m.band for m in members]
    meta_rad = _metadata_radiometry(meta, names)
    assets: dict[str, BandAsset] = {}
    for m in sorted(members, key=lambda m: band_sort_key(m.band)):
        info = file_info(m.path)
        rad = meta_rad.get(m.band)
        if rad is None:
            single = source_from_file(
                m.path, [m.band], sensor=m.sensor, level=m.level, calibrate=False
            )
            rad = single.assets[m.band].radiometry
        elif rad.nodata is None and info.nodata is not None:
            rad = rad.with_nodata(info.nodata)
        assets[m.band] = BandAsset(m.band, str(m.path), 1, rad)
    when = _metadata_datetime(meta) or _as_datetime(first.date)
    return RasterSource(
        assets=assets, name=Path(key).name, sensor=first.sensor, level=first.level, datetime=when
    )


def _as_datetime(day: date | datetime | None) -> datetime | None:
    """A date from a file name as midnight UTC (names carry no time zone; EO products use UTC)."""
    if day is None or isinstance(day, datetime):
        return day
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def open_sources(path: str | Path, *, calibrate: bool = True) -> list[RasterSource]:
    """Sources found at ``path``: a raster file, a product folder, or a folder of products.

    Args:
        path: File or folder.
        calibrate: Use product metadata (MTL/MTD) beside the files.

    Returns:
        One source per product or stand-alone raster, band-per-file products
        first, in sorted file order.

    Raises:
        MissingFileError: ``path`` does not exist, or the folder holds no raster.
        NotGeoreferencedError, UnreadableFileError: For unusable files.
    """
    p = Path(check_path(path))
    if not p.is_dir():
        single, _ = sources_from_band_files([p], calibrate=calibrate)  # e.g. one Landsat band
        return single or [source_from_file(p, calibrate=calibrate)]
    files = _raster_files(p)
    sources, unknown = sources_from_band_files(files, calibrate=calibrate)
    for f in unknown:
        sources.append(source_from_file(f, calibrate=calibrate))
    subdirs = sorted(d for d in p.iterdir() if d.is_dir())
    for d in subdirs:
        try:
            sources.extend(open_sources(d, calibrate=calibrate))
        except MissingFileError:
            continue
    if not sources:
        raise MissingFileError(
            f"folder holds no raster files ({', '.join(RASTER_SUFFIXES)}).",
            path=p,
            fix="point at the product folder or at the raster files themselves.",
        )
    return sources


__all__ = [
    "NotGeoreferencedError",
    "StackProduct",
    "open_sources",
    "product_for_stack",
    "sources_from_band_files",
]
