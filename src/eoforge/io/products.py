"""Turn files and product folders into :class:`RasterSource` objects.

A path can be one raster (multi-band stack), a band-per-file product folder
(Landsat, Sentinel-2 ``IMG_DATA``, BigEarthNet patches), or a folder holding
several such products. Band files are recognised by their names through the
sensor registry; calibration metadata (Landsat ``MTL.txt``, Sentinel-2
``MTD*.xml``) found beside them sets each band's radiometry.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path

from eoforge.errors import MissingFileError, NotGeoreferencedError
from eoforge.io.handles import check_path, file_info
from eoforge.io.source import RASTER_SUFFIXES, BandAsset, RasterSource, source_from_file
from eoforge.io.stack import (
    StackProduct,
    as_datetime,
    metadata_datetime,
    metadata_radiometry,
    product_for_stack,
)
from eoforge.sensors import BandFile, find_metadata, identify_band_file
from eoforge.sensors.names import band_sort_key


def _raster_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES
    )


def sources_from_band_files(
    files: Iterable[str | PathLike[str]], *, calibrate: bool = True
) -> tuple[list[RasterSource], list[Path]]:
    """Group band-per-file rasters into one source per product.

    Args:
        files: Candidate raster files.
        calibrate: Read calibration from sidecar metadata.

    Returns:
        ``(sources, unrecognised)``: one source per product key found, and
        the files whose names no sensor pattern matched.
    """
    groups: dict[str, list[BandFile]] = {}
    unknown: list[Path] = []
    for f in files:
        band_file = identify_band_file(f)
        if band_file is None:
            unknown.append(Path(f))
        else:
            groups.setdefault(band_file.product, []).append(band_file)
    sources = [_group_source(key, members, calibrate) for key, members in groups.items()]
    return sources, unknown


def _group_source(key: str, members: list[BandFile], calibrate: bool) -> RasterSource:
    first = members[0]
    meta = find_metadata(first.path) if calibrate else None
    names = [m.band for m in members]
    meta_rad = metadata_radiometry(meta, names)
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
    when = metadata_datetime(meta) or as_datetime(first.date)
    return RasterSource(
        assets=assets, name=Path(key).name, sensor=first.sensor, level=first.level, datetime=when
    )


def open_sources(path: str | PathLike[str], *, calibrate: bool = True) -> list[RasterSource]:
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
