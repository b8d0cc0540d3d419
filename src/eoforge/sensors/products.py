"""Recognise sensor, level and band from product file names.

Band-per-file products (one band in each file):

* Landsat Collection 1/2: ``LC08_L1TP_193024_20200509_20200509_01_RT_B4.TIF``,
  ``LC09_L2SP_..._SR_B4.TIF``, ``..._ST_B10.TIF``, ``LE07_..._B6_VCID_1.TIF``,
  ``..._BQA.TIF`` / ``..._QA_PIXEL.TIF``; pre-collection
  ``LC80200392015216LGN00_B4.TIF``; short ``l8_B4.tif`` (``l4/l5/l7/l8/l9``).
* Sentinel-2 SAFE granules: ``T32UPC_20200406T101559_B04.jp2`` (L1C) and
  ``T32UPC_20200406T101559_B04_10m.jp2`` (L2A); the level and processing
  baseline come from the enclosing ``.SAFE`` folder when there is one.
* Files prefixed with a Sentinel-2 product name, e.g. BigEarthNet
  ``S2A_MSIL2A_20170613T101031_0_45_B02.tif`` (its 5-digit times such as
  ``T93020`` are accepted).
* Sentinel-1 patches named like BigEarthNet-S1
  ``S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39_VV.tif``; those store
  backscatter in dB, so they get level ``"DB"``; other S1 names get no level.

Sentinel-2 levels are registry levels: ``"L1C"``/``"L2A"``, or
``"L1C_N0400"``/``"L2A_N0400"`` when the name shows processing baseline 04.00
or later (DNs offset by 1000). Landsat levels are ``"L1"``, ``"L2SR"`` and
``"L2ST"``.

Stacks (all bands in one file, named like the product) are recognised by
:func:`identify_stack`; their band order is inferred from the band count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from os import PathLike
from pathlib import Path

import rasterio
from rasterio.errors import RasterioIOError

from eoforge.errors import BandNotFoundError, MissingFileError, UnreadableFileError
from eoforge.sensors.band import Band
from eoforge.sensors.registry import get_sensor
from eoforge.sensors.sidecar import find_metadata

__all__ = ["BandFile", "StackInfo", "find_metadata", "identify_band_file", "identify_stack"]

_LANDSAT_ID = (
    r"(?P<product>L[COTEM](?P<num>0[4-9])_(?P<proc>L1TP|L1GT|L1GS|L2SP|L2SR)_\d{6}_"
    r"(?P<date>\d{8})_\d{8}_\d{2}_(?:T1|T2|RT))"
)
_LANDSAT_BAND = r"(?P<band>B\d{1,2}(?:_VCID_[12])?|BQA|QA_PIXEL|QA_RADSAT)"
_LANDSAT_FILE = re.compile(
    rf"^{_LANDSAT_ID}_(?:(?P<kind>SR|ST)_)?{_LANDSAT_BAND}\.tiff?$", re.IGNORECASE
)
_LANDSAT_OLD_FILE = re.compile(
    rf"^(?P<product>L[COTEM](?P<num>[4-9])\d{{6}}(?P<year>\d{{4}})(?P<doy>\d{{3}})[A-Z]{{3}}\d{{2}})"
    rf"_{_LANDSAT_BAND}\.tiff?$",
    re.IGNORECASE,
)
_LANDSAT_SHORT_FILE = re.compile(rf"^(?P<product>l(?P<num>[4-9]))_{_LANDSAT_BAND}\.tiff?$", re.I)
_S2_BAND = r"(?P<band>B\d{2}|B8A)"
_S2_TILE_FILE = re.compile(
    rf"^(?P<product>T\d{{2}}[A-Z]{{3}}_(?P<date>\d{{8}})T\d{{6}})_{_S2_BAND}"
    r"(?:_(?P<res>\d{2})m)?\.(?:jp2|tiff?)$",
    re.IGNORECASE,
)
_S2_PRODUCT = r"(?P<product>S2[A-D]_MSI(?P<level>L1C|L2A)_(?P<date>\d{8})T\d{5,6}(?P<rest>_[^.]*?))"
_S2_PRODUCT_FILE = re.compile(rf"^{_S2_PRODUCT}_{_S2_BAND}\.(?:jp2|tiff?)$", re.IGNORECASE)
_S2_SAFE = re.compile(rf"^{_S2_PRODUCT}(?:\.SAFE)?$", re.IGNORECASE)
_S1_FILE = re.compile(
    r"^(?P<product>S1[A-D]_(?:IW|EW|SM|WV)_(?:GRD[HMF]|SLC_)_1S[DSVH]{2}_(?P<date>\d{8})T\d{6}"
    r"(?P<rest>_[^.]*?))_(?P<band>VV|VH|HH|HV)\.tiff?$",
    re.IGNORECASE,
)
_BIGEARTHNET_S1_REST = re.compile(r"_\d{2}[A-Z]{3}_\d+_\d+$", re.IGNORECASE)
_BASELINE = re.compile(r"_N(\d{4})_")
_FIRST_OFFSET_BASELINE, _PLACEHOLDER_BASELINE = 400, 9000
"""N0400 starts the -1000 DN offset; N9999-style numbers are placeholders."""


@dataclass(frozen=True)
class BandFile:
    """A raster file holding one band of a known product.

    Attributes:
        path: The file.
        sensor: Registry sensor name, e.g. ``"L8"``.
        level: Registry product level (``"L1"``, ``"L2SR"``, ``"L2A"``, ...),
            or None when the name does not reveal it.
        band: Canonical band name, e.g. ``"L8.B4"``.
        product: Scene key shared by all files of one product.
        date: Acquisition date when the name contains it.
    """

    path: Path
    sensor: str
    level: str | None
    band: str
    product: str
    date: date | None


@dataclass(frozen=True)
class StackInfo:
    """A multi-band raster named after its product.

    Attributes:
        path: The file.
        sensor: Registry sensor name.
        level: Registry product level, or None.
        bands: Canonical band names in file order (band 1 first).
        product: Scene key.
        date: Acquisition date when the name contains it.
        metadata: Sidecar MTL / MTD file, if found.
    """

    path: Path
    sensor: str
    level: str | None
    bands: tuple[str, ...]
    product: str
    date: date | None
    metadata: Path | None


def _ymd(text: str, pattern: str = "%Y%m%d") -> date | None:
    """Date from a name's digits; None when they are no calendar date."""
    try:
        return datetime.strptime(text, pattern).date()
    except ValueError:
        return None


def _resolve(sensor: str, band: str) -> Band | None:
    return get_sensor(sensor).find_band(band)


def _s2_level(level: str, name: str) -> str:
    match = _BASELINE.search(name + "_")
    baseline = int(match.group(1)) if match else 0
    modern = _FIRST_OFFSET_BASELINE <= baseline < _PLACEHOLDER_BASELINE
    return level.upper() + ("_N0400" if modern else "")


def _band_file(
    path: Path, sensor: str, level: str | None, band: str, product: str, day: date | None
) -> BandFile | None:
    resolved = _resolve(sensor, band)
    if resolved is None:
        return None
    return BandFile(path, sensor, level, resolved.name, product, day)


def _landsat_level(proc: str, kind: str | None) -> str:
    if proc.upper().startswith("L1"):
        return "L1"
    return "L2ST" if (kind or "").upper() == "ST" else "L2SR"


def _landsat(path: Path) -> BandFile | None:
    name = path.name
    if match := _LANDSAT_FILE.match(name):
        level = _landsat_level(match["proc"], match["kind"])
        sensor = f"L{int(match['num'])}"
        return _band_file(path, sensor, level, match["band"], match["product"], _ymd(match["date"]))
    if match := _LANDSAT_OLD_FILE.match(name):
        day = _ymd(match["year"] + match["doy"], "%Y%j")
        return _band_file(path, f"L{match['num']}", "L1", match["band"], match["product"], day)
    if match := _LANDSAT_SHORT_FILE.match(name):
        product = str(path.parent / match["product"].lower())
        return _band_file(path, f"L{match['num']}", "L1", match["band"], product, None)
    return None


def _enclosing_safe(path: Path) -> re.Match[str] | None:
    for parent in path.parents:
        if match := _S2_SAFE.match(parent.name):
            return match
    return None


def _sentinel2(path: Path) -> BandFile | None:
    if match := _S2_PRODUCT_FILE.match(path.name):
        level = _s2_level(match["level"], match["rest"])
        return _band_file(path, "S2", level, match["band"], match["product"], _ymd(match["date"]))
    if match := _S2_TILE_FILE.match(path.name):
        safe = _enclosing_safe(path)
        if safe is not None:
            level, product = _s2_level(safe["level"], safe["rest"]), safe["product"]
        else:
            level, product = ("L2A" if match["res"] else "L1C"), match["product"]
        return _band_file(path, "S2", level, match["band"], product, _ymd(match["date"]))
    return None


def _sentinel1(path: Path) -> BandFile | None:
    match = _S1_FILE.match(path.name)
    if match is None:
        return None
    level = "DB" if _BIGEARTHNET_S1_REST.search(match["rest"]) else None
    return _band_file(path, "S1", level, match["band"], match["product"], _ymd(match["date"]))


def identify_band_file(path: str | PathLike[str]) -> BandFile | None:
    """Recognise a one-band file from its name (the file is not opened).

    Args:
        path: A band file, e.g. ``.../LC08_L1TP_..._B4.TIF``.

    Returns:
        What the name reveals, or None when it follows no known convention
        (or names a layer that is not a registry band, such as ``SCL``).
    """
    file = Path(path)
    return _landsat(file) or _sentinel2(file) or _sentinel1(file)


_LANDSAT_STACK = re.compile(rf"^{_LANDSAT_ID}$", re.IGNORECASE)
_S2_STACK = re.compile(
    r"^(?P<product>S2[A-D]_MSI(?P<level>L1C|L2A)_(?P<date>\d{8})T\d{6}"
    r"(?P<rest>_N\d{4}_R\d{3}_T\d{2}[A-Z]{3}_\d{8}T\d{6}))$",
    re.IGNORECASE,
)
_S2_10M = ("S2.B02", "S2.B03", "S2.B04", "S2.B08")
_S2_SKIPPED_60M = ("S2.B01", "S2.B09", "S2.B10")


def _layouts(sensor: str, level: str) -> list[tuple[str, ...]]:
    """Band orders a stack of this product may have, most complete first."""
    spectral = tuple(
        b.name for b in get_sensor(sensor).bands_at(level) if b.center_wavelength_nm is not None
    )
    if sensor == "S2":
        no_cirrus = tuple(b for b in spectral if b != "S2.B10")
        no_60m = tuple(b for b in spectral if b not in _S2_SKIPPED_60M)
        return [spectral, no_cirrus, no_60m, _S2_10M]
    pan = get_sensor(sensor).find_band("pan")
    return [spectral, tuple(b for b in spectral if pan is None or b != pan.name)]


def _stack_identity(stem: str) -> tuple[str, str, str, date | None] | None:
    """(sensor, level, product, date) of a stack named after its product."""
    if match := _LANDSAT_STACK.match(stem):
        if match["proc"].upper() == "L2SP":  # mixed SR + ST stacks have no single level
            return None
        level = _landsat_level(match["proc"], None)
        return f"L{int(match['num'])}", level, match["product"], _ymd(match["date"])
    if match := _S2_STACK.match(stem):
        level = _s2_level(match["level"], match["rest"])
        return "S2", level, match["product"], _ymd(match["date"])
    return None


def _raster_header(path: Path) -> tuple[int, tuple[str | None, ...]]:
    if not path.is_file():
        raise MissingFileError("raster does not exist.", path=path, fix="check the path.")
    try:
        with rasterio.open(path) as dataset:
            return dataset.count, tuple(dataset.descriptions)
    except RasterioIOError as exc:
        raise UnreadableFileError(f"cannot open raster ({exc}).", path=path) from exc


def _bands_from_descriptions(sensor: str, descriptions: tuple[str | None, ...]) -> tuple[str, ...]:
    owner = get_sensor(sensor)
    bands = [owner.find_band(d) if d else None for d in descriptions]
    return tuple(b.name for b in bands if b is not None) if all(bands) else ()


def _stack_bands(path: Path, sensor: str, level: str) -> tuple[str, ...]:
    count, descriptions = _raster_header(path)
    described = _bands_from_descriptions(sensor, descriptions)
    if described:
        return described
    for layout in _layouts(sensor, level):
        if len(layout) == count:
            return layout
    known = sorted({len(layout) for layout in _layouts(sensor, level)})
    raise BandNotFoundError(
        f"{sensor} {level} stack has {count} bands; eoforge knows stacks of {known} bands "
        "(all bands in native order, without panchromatic / cirrus / 60 m bands).",
        path=path,
        fix="name the bands explicitly, or set band descriptions (e.g. 'B04') in the file.",
    )


def identify_stack(path: str | PathLike[str]) -> StackInfo | None:
    """Recognise a multi-band file named after its product and list its bands.

    The band order comes from the file's band descriptions when they all name
    registry bands, otherwise from the band count: all spectral bands of the
    level in native order (Sentinel-2: ESA order B01..B08, B8A, B09..B12), or
    that list without the panchromatic band (Landsat; e.g. 10 bands for
    Landsat 8 L1: B1-B7, B9, B10, B11), without B10, without the 60 m bands,
    or only the 10 m bands (Sentinel-2).

    Args:
        path: The stacked raster, e.g. ``LC08_L1TP_193024_..._RT.tif``.

    Returns:
        The stack's identity, or None when the name is not a product name.

    Raises:
        MissingFileError: When a product-named file does not exist.
        UnreadableFileError: When it cannot be opened.
        BandNotFoundError: When its band count fits no known layout.
    """
    file = Path(path)
    identity = _stack_identity(file.name.split(".")[0])
    if identity is None:
        return None
    sensor, level, product, day = identity
    bands = _stack_bands(file, sensor, level)
    return StackInfo(file, sensor, level, bands, product, day, find_metadata(file))
