"""Raster sources: which file and band holds each named band of a scene.

A :class:`RasterSource` maps canonical band names (``"S2.B04"``) to
:class:`BandAsset`s (file, 1-based band index, radiometry). A scene stored as
one multi-band file and a scene stored as one file per band (Landsat folders,
Sentinel-2 SAFE, BigEarthNet patches) look the same to the reader, so models
speak band names and never positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Any

from odc.geo.geobox import GeoBox

from eoforge.errors import (
    BandNotFoundError,
    EoforgeError,
    RadiometryError,
    UnsupportedDtypeError,
    available_list,
)
from eoforge.io.handles import FileInfo, check_path, file_info, is_complex
from eoforge.io.stack import StackProduct, product_for_stack
from eoforge.sensors import default_radiometry, get_band
from eoforge.sensors.radiometry import Radiometry
from eoforge.sensors.sentinel1 import measurement_name

RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".img")
COMPLEX_MODES = ("amplitude", "intensity", "db")


@dataclass(frozen=True)
class BandAsset:
    """Where one named band is stored and how to calibrate it.

    Attributes:
        name: Canonical band name, e.g. ``"S2.B04"`` (or a user name for unknown products).
        path: File holding the band.
        index: 1-based band index in that file.
        radiometry: DN to physical value conversion and validity rules.
        complex_mode: For complex rasters, how to make them real
            (``"amplitude"``, ``"intensity"``, ``"db"``), else None.
    """

    name: str
    path: str
    index: int
    radiometry: Radiometry
    complex_mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "name": self.name,
            "path": self.path,
            "index": self.index,
            "radiometry": self.radiometry.to_dict(),
            "complex_mode": self.complex_mode,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BandAsset:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            path=str(data["path"]),
            index=int(data["index"]),
            radiometry=Radiometry.from_dict(dict(data["radiometry"])),
            complex_mode=data.get("complex_mode"),
        )


@dataclass
class RasterSource:
    """One scene: its named bands, where they are stored, and what it is.

    Attributes:
        assets: Band name to asset, in the product's band order.
        name: Scene identifier (file stem or product id).
        sensor: Sensor short name (``"S2"``, ``"L8"``, ...) or None if unknown.
        level: Processing level (``"L1C"``, ``"L2A"``, ...) or None.
        datetime: Acquisition time (UTC) or None.
        mask_assets: Files whose alpha/mask band marks valid pixels: path to band index.
    """

    assets: dict[str, BandAsset]
    name: str
    sensor: str | None = None
    level: str | None = None
    datetime: datetime | None = None
    mask_assets: dict[str, int] = field(default_factory=dict)

    @property
    def bands(self) -> list[str]:
        """Band names this source provides, in product order."""
        return list(self.assets)

    @property
    def paths(self) -> list[str]:
        """Distinct files holding this source's bands."""
        return list(dict.fromkeys(a.path for a in self.assets.values()))

    def grid(self, band: str | None = None) -> GeoBox:
        """Grid of the file holding ``band`` (default: the finest-resolution file)."""
        if band is not None:
            return file_info(self.asset(band).path).grid
        grids = [file_info(p).grid for p in self.paths]
        return min(grids, key=lambda g: abs(g.resolution.x))

    def resolve(self, name: str) -> str | None:
        """The asset key for a band name or alias, or None if this source lacks it."""
        if name in self.assets:
            return name
        lowered = {k.lower(): k for k in self.assets}
        if name.lower() in lowered:
            return lowered[name.lower()]
        for sensor in self._sensors():
            try:
                canonical = get_band(name, sensor=sensor).name
            except EoforgeError:
                continue
            if canonical in self.assets:
                return canonical
        return None

    def _sensors(self) -> list[str | None]:
        """Sensors to resolve aliases against: the declared one, else those of the band names."""
        if self.sensor is not None:
            return [self.sensor]
        prefixes = dict.fromkeys(k.split(".", 1)[0] for k in self.assets if "." in k)
        return [*prefixes, None]

    def asset(self, name: str) -> BandAsset:
        """The asset for a band name or alias.

        Raises:
            BandNotFoundError: The source lacks the band; the message lists those it has.
        """
        key = self.resolve(name)
        if key is None:
            raise BandNotFoundError(
                f"band {name!r} is not in this scene; it provides: {available_list(self.assets)}.",
                path=self.paths[0] if self.paths else self.name,
                fix="ask for one of the bands listed (names or aliases such as 'red', 'nir').",
            )
        return self.assets[key]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, for catalogs."""
        return {
            "name": self.name,
            "sensor": self.sensor,
            "level": self.level,
            "datetime": None if self.datetime is None else self.datetime.isoformat(),
            "assets": [a.to_dict() for a in self.assets.values()],
            "mask_assets": self.mask_assets,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RasterSource:
        """Inverse of :meth:`to_dict`."""
        assets = [BandAsset.from_dict(a) for a in data["assets"]]
        dt = data.get("datetime")
        return cls(
            assets={a.name: a for a in assets},
            name=str(data["name"]),
            sensor=data.get("sensor"),
            level=data.get("level"),
            datetime=None if dt is None else datetime.fromisoformat(str(dt)),
            mask_assets={str(k): int(v) for k, v in dict(data.get("mask_assets") or {}).items()},
        )


def _file_radiometry(info: FileInfo, index: int, nodata: float | None) -> Radiometry:
    scale = info.scales[index - 1] if info.scales else 1.0
    offset = info.offsets[index - 1] if info.offsets else 0.0
    return Radiometry(
        scale=scale, offset=offset, nodata=nodata, unit="DN" if scale == 1.0 else "scaled"
    )


def _check_dtype(info: FileInfo, complex_mode: str | None) -> None:
    if any(is_complex(d) for d in info.dtypes):
        if complex_mode is None:
            raise UnsupportedDtypeError(
                f"raster holds complex values ({info.dtypes[0]}, e.g. SAR SLC) and no "
                "conversion was chosen.",
                path=info.path,
                fix=f"pass complex_mode= one of {', '.join(COMPLEX_MODES)} "
                "(or --complex-mode on the CLI).",
            )
        if complex_mode not in COMPLEX_MODES:
            raise UnsupportedDtypeError(
                f"unknown complex_mode {complex_mode!r}.",
                path=info.path,
                fix=f"use one of {COMPLEX_MODES}.",
            )


def _default_names(info: FileInfo, data_indexes: list[int]) -> list[str]:
    """Band names from the file itself: descriptions, then colour interpretation, then band1..N."""
    descriptions = [info.descriptions[i - 1] for i in data_indexes]
    if all(descriptions) and len(set(descriptions)) == len(descriptions):
        names = []
        for d in descriptions:
            try:
                names.append(get_band(d).name)
            except EoforgeError:
                names.append(d)
        return names
    interp = [info.colorinterp[i - 1] for i in data_indexes]
    if sorted(interp) == ["blue", "green", "red"]:  # any order: trust the colour interpretation
        return [f"RGB.{ci}" for ci in interp]
    return [f"band{i}" for i in data_indexes]


def _refuse_sar_digital_numbers(path: str) -> None:
    """A Sentinel-1 measurement's DN are not backscatter: say how to calibrate them."""
    name = measurement_name(path)
    if name is None:
        return
    missing = (
        ""
        if name.calibration.is_file()
        else f" (and its calibration file {name.calibration} is missing)"
    )
    raise RadiometryError(
        f"a Sentinel-1 {name.kind} measurement holds digital numbers, not backscatter{missing}.",
        path=path,
        fix="calibrate the product first: `eoforge calibrate PRODUCT.SAFE --out DIR` "
        "(sigma0 COGs eoforge reads as S1 bands), or pass calibrate=False to read raw numbers.",
    )


def source_from_file(
    path: str | PathLike[str],
    bands: Sequence[str] | None = None,
    *,
    sensor: str | None = None,
    level: str | None = None,
    nodata: float | None = None,
    radiometry: Mapping[str, Radiometry] | Radiometry | None = None,
    calibrate: bool = True,
    complex_mode: str | None = None,
) -> RasterSource:
    """Describe one (multi-band) raster file as a source of named bands.

    Band names come, in order of preference, from ``bands`` (names in file
    order; aliases such as ``"red"`` are resolved with ``sensor``), the
    product the file name reveals (e.g. a Landsat or Sentinel-2 stack with
    its metadata beside it), the band descriptions, the colour
    interpretation (RGB), and finally ``band1..bandN``.

    Radiometry comes from ``radiometry``, else the product metadata beside
    the file (``calibrate=True``: Landsat MTL to TOA reflectance and
    brightness temperature, Sentinel-2 MTD offsets), else the file's own
    scale/offset tags, else the sensor's defaults for ``level``.

    Args:
        path: Raster file.
        bands: Names of the file's bands in file order, or None.
        sensor: Sensor short name used to resolve aliases and defaults.
        level: Processing level for default radiometry.
        nodata: Nodata value overriding the file's.
        radiometry: Radiometry per band name, or one for all bands.
        calibrate: Use product metadata found beside the file.
        complex_mode: Conversion for complex rasters.

    Returns:
        The source.

    Raises:
        UnsupportedDtypeError: Complex data without ``complex_mode``.
        BandNotFoundError: ``bands`` has the wrong length.
        RadiometryError: A Sentinel-1 SAFE measurement (digital numbers) with
            ``calibrate=True`` and no ``radiometry``: it must be calibrated first.
    """
    text = check_path(path)
    if calibrate and radiometry is None:
        _refuse_sar_digital_numbers(text)
    info = file_info(text)
    _check_dtype(info, complex_mode)
    mask_indexes = [i + 1 for i, ci in enumerate(info.colorinterp) if ci == "alpha"]
    data_indexes = [i for i in range(1, info.count + 1) if i not in mask_indexes]
    product = product_for_stack(text, info, calibrate=calibrate) if bands is None else None
    if bands is not None:
        if len(bands) != len(data_indexes):
            raise BandNotFoundError(
                f"{len(bands)} band names given for a file with {len(data_indexes)} data bands.",
                path=text,
                fix="give one name per band, in file order.",
            )
        names = _canonical_names(bands, sensor)
    elif product is not None:
        names = product.names
        sensor = sensor or product.sensor
        level = level or product.level
    else:
        names = _default_names(info, data_indexes)
    file_nodata = info.nodata if nodata is None else nodata
    assets: dict[str, BandAsset] = {}
    for name, index in zip(names, data_indexes, strict=True):
        rad = _pick_radiometry(name, index, info, file_nodata, radiometry, product, sensor, level)
        assets[name] = BandAsset(name, text, index, rad, complex_mode)
    return RasterSource(
        assets=assets,
        name=Path(text).stem,
        sensor=sensor,
        level=level,
        datetime=None if product is None else product.datetime,
        mask_assets={text: mask_indexes[0]} if mask_indexes else {},
    )


def _canonical_names(bands: Sequence[str], sensor: str | None) -> list[str]:
    names = []
    for b in bands:
        try:
            names.append(get_band(b, sensor=sensor).name)
        except EoforgeError:
            names.append(b)  # a user-defined band (e.g. a derived index); kept as given
    return names


def _pick_radiometry(
    name: str,
    index: int,
    info: FileInfo,
    nodata: float | None,
    given: Mapping[str, Radiometry] | Radiometry | None,
    product: StackProduct | None,
    sensor: str | None,
    level: str | None,
) -> Radiometry:
    if isinstance(given, Radiometry):
        return given if given.nodata is not None else given.with_nodata(nodata)
    if given is not None and name in given:
        rad = given[name]
        return rad if rad.nodata is not None else rad.with_nodata(nodata)
    if product is not None and name in product.radiometry:
        rad = product.radiometry[name]
        return rad.with_nodata(nodata) if rad.nodata is None else rad
    file_rad = _file_radiometry(info, index, nodata)
    if not file_rad.is_identity or sensor is None or level is None:
        return file_rad
    try:
        rad = default_radiometry(name, level)
    except EoforgeError:
        return file_rad
    return rad.with_nodata(nodata if nodata is not None else rad.nodata)
