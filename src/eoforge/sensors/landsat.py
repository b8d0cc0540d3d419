"""Landsat product metadata (``*_MTL.txt``): calibration to TOA values.

Handles pre-collection, Collection 1 and Collection 2 MTL files of Landsat
4/5 (TM), 7 (ETM+) and 8/9 (OLI/TIRS). The groups moved between collections
(``RADIOMETRIC_RESCALING`` became ``LEVEL1_RADIOMETRIC_RESCALING``,
``TIRS_THERMAL_CONSTANTS`` / ``THERMAL_CONSTANTS`` became
``LEVEL1_THERMAL_CONSTANTS``, spacecraft and date moved from
``PRODUCT_METADATA`` to ``IMAGE_ATTRIBUTES``); each field is looked up in the
groups of every collection.

TOA reflectance follows the USGS Landsat 8 handbook:
``rho = (M_rho * DN + A_rho) / sin(sun_elevation)``, so the
:class:`~eoforge.sensors.radiometry.Radiometry` has
``scale = M_rho / sin(e)`` and ``offset = A_rho / sin(e)``. Thermal bands use
radiance ``L = M_L * DN + A_L`` and brightness temperature
``T = K2 / ln(K1 / L + 1)`` in kelvin. ETM+ thermal bands are named by their
MTL keys: ``L7.B6_VCID_1`` (low gain, alias ``L7.B6``) and ``L7.B6_VCID_2``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from eoforge.errors import MetadataError, available_list
from eoforge.sensors.band import Band
from eoforge.sensors.odl import read_odl
from eoforge.sensors.radiometry import Radiometry
from eoforge.sensors.registry import get_band, get_sensor

_RESCALING = ("LEVEL1_RADIOMETRIC_RESCALING", "RADIOMETRIC_RESCALING")
_THERMAL = ("LEVEL1_THERMAL_CONSTANTS", "TIRS_THERMAL_CONSTANTS", "THERMAL_CONSTANTS")
_IMAGE = ("IMAGE_ATTRIBUTES", "PRODUCT_METADATA")
_PRODUCT = ("PRODUCT_CONTENTS", "PRODUCT_METADATA", "METADATA_FILE_INFO")
_SR = ("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS",)
_ST = ("LEVEL2_SURFACE_TEMPERATURE_PARAMETERS",)
_SPACECRAFT_SENSORS = {
    "LANDSAT_4": "L4",
    "LANDSAT_5": "L5",
    "LANDSAT_7": "L7",
    "LANDSAT_8": "L8",
    "LANDSAT_9": "L9",
}
_FIX = "use the original, unedited *_MTL.txt delivered with the product."


Groups = Mapping[str, Mapping[str, str]]


def _lookup(groups: Groups, key: str, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = groups.get(name, {}).get(key)
        if value is not None:
            return value
    return None


def _require(groups: Groups, key: str, names: tuple[str, ...], path: Path) -> str:
    value = _lookup(groups, key, names)
    if value is None:
        raise MetadataError(
            f"MTL has no {key} (looked in {' / '.join(names)}).", path=path, fix=_FIX
        )
    return value


def _number(groups: Groups, key: str, names: tuple[str, ...], path: Path) -> float:
    text = _require(groups, key, names, path)
    try:
        return float(text)
    except ValueError:
        raise MetadataError(f"MTL field {key} = {text!r} is not a number.", path=path) from None


def _acquired(groups: Groups, path: Path) -> datetime:
    date = _lookup(groups, "DATE_ACQUIRED", _IMAGE) or _require(
        groups, "ACQUISITION_DATE", _IMAGE, path
    )
    time = _lookup(groups, "SCENE_CENTER_TIME", _IMAGE) or "00:00:00"
    hms, _, fraction = time.rstrip("Z").partition(".")
    stamp = f"{date}T{hms}.{(fraction + '000000')[:6]}"
    try:
        return datetime.fromisoformat(stamp).replace(tzinfo=UTC)
    except ValueError:
        raise MetadataError(
            f"MTL date/time {date} {time} cannot be parsed.", path=path, fix=_FIX
        ) from None


@dataclass(frozen=True)
class LandsatMetadata:
    """Scene-level facts and calibration of one Landsat product.

    Attributes:
        path: The MTL file.
        product_id: ``LANDSAT_PRODUCT_ID`` (or pre-collection scene id).
        spacecraft: ``SPACECRAFT_ID``, e.g. ``"LANDSAT_8"``.
        sensor: Registry sensor name, e.g. ``"L8"``.
        instrument: ``SENSOR_ID``, e.g. ``"OLI_TIRS"``, ``"ETM"``, ``"TM"``.
        level: Processing level, e.g. ``"L1TP"``, ``"L2SP"``.
        collection: Collection number (1 or 2), None for pre-collection MTLs.
        acquired: Scene centre time (UTC).
        sun_elevation: Sun elevation at scene centre, degrees.
        sun_azimuth: Sun azimuth at scene centre, degrees.
        earth_sun_distance: Earth-Sun distance in AU, when given.
        groups: The raw MTL groups (see :func:`~eoforge.sensors.odl.read_odl`).
    """

    path: Path
    product_id: str | None
    spacecraft: str
    sensor: str
    instrument: str
    level: str
    collection: int | None
    acquired: datetime
    sun_elevation: float
    sun_azimuth: float
    earth_sun_distance: float | None
    groups: Groups = field(repr=False, hash=False, compare=False)

    def band(self, name: str | Band) -> Band:
        """Registry band of this scene's sensor (``"B4"``, ``"red"``, ``"L8.B4"``)."""
        return get_band(name, sensor=self.sensor)

    @property
    def bands(self) -> tuple[str, ...]:
        """Canonical names of the bands with radiometric rescaling in the MTL, in band order."""
        rescaling = {key for name in _RESCALING for key in self.groups.get(name, {})}
        return tuple(
            band.name
            for band in get_sensor(self.sensor).bands
            if f"RADIANCE_MULT_BAND_{_mtl_key(band)}" in rescaling
        )

    def is_thermal(self, band: str | Band) -> bool:
        """Whether the MTL gives thermal constants (K1, K2) for ``band``."""
        key = _mtl_key(self.band(band))
        return _lookup(self.groups, f"K1_CONSTANT_BAND_{key}", _THERMAL) is not None

    def toa_radiometry(self, band: str | Band) -> Radiometry:
        """TOA radiometry of one band from this MTL.

        Reflective bands give sun-elevation-corrected TOA reflectance (unit
        ``"reflectance"``); thermal bands give at-sensor brightness temperature
        (unit ``"K"``). DN 0 is the Level-1 fill value (``nodata``).

        Raises:
            BandNotFoundError: When the band is unknown for this sensor.
            MetadataError: When the MTL lacks the band's coefficients.
        """
        resolved = self.band(band)
        if self.is_thermal(resolved):
            return self._thermal_radiometry(resolved)
        return self._reflective_radiometry(resolved)

    def _reflective_radiometry(self, band: Band) -> Radiometry:
        key = _mtl_key(band)
        raw = self.groups
        mult = _number(raw, f"REFLECTANCE_MULT_BAND_{key}", _RESCALING, self.path)
        add = _number(raw, f"REFLECTANCE_ADD_BAND_{key}", _RESCALING, self.path)
        sin_elevation = math.sin(math.radians(self.sun_elevation))
        return Radiometry(
            scale=mult / sin_elevation, offset=add / sin_elevation, nodata=0.0, unit="reflectance"
        )

    def _thermal_radiometry(self, band: Band) -> Radiometry:
        key = _mtl_key(band)
        raw = self.groups
        return Radiometry(
            scale=_number(raw, f"RADIANCE_MULT_BAND_{key}", _RESCALING, self.path),
            offset=_number(raw, f"RADIANCE_ADD_BAND_{key}", _RESCALING, self.path),
            nodata=0.0,
            unit="K",
            k1=_number(raw, f"K1_CONSTANT_BAND_{key}", _THERMAL, self.path),
            k2=_number(raw, f"K2_CONSTANT_BAND_{key}", _THERMAL, self.path),
        )

    def toa_reflectance(self, dn: npt.NDArray[Any], band: str | Band) -> npt.NDArray[np.float32]:
        """TOA reflectance (unitless, float32, shape of ``dn``) of a reflective band.

        Raises:
            MetadataError: When ``band`` is a thermal band (use
                :meth:`brightness_temperature`) or coefficients are missing.
        """
        resolved = self.band(band)
        if self.is_thermal(resolved):
            raise MetadataError(
                f"{resolved.name} is a thermal band; it has no TOA reflectance.",
                path=self.path,
                fix="call brightness_temperature() for thermal bands.",
            )
        return self._reflective_radiometry(resolved).apply(dn)

    def brightness_temperature(
        self, dn: npt.NDArray[Any], band: str | Band
    ) -> npt.NDArray[np.float32]:
        """At-sensor brightness temperature in kelvin (float32, shape of ``dn``).

        Raises:
            MetadataError: When ``band`` is not a thermal band of this MTL.
        """
        resolved = self.band(band)
        if not self.is_thermal(resolved):
            raise MetadataError(
                f"the MTL gives no thermal constants for {resolved.name}.",
                path=self.path,
                fix="call toa_reflectance() for reflective bands.",
            )
        return self._thermal_radiometry(resolved).apply(dn)

    def surface_radiometry(self, band: str | Band) -> Radiometry:
        """Level-2 surface reflectance or temperature radiometry from this MTL.

        Raises:
            MetadataError: When the MTL has no Level-2 parameters for the band.
        """
        resolved = self.band(band)
        key = _mtl_key(resolved)
        raw = self.groups
        if _lookup(raw, f"REFLECTANCE_MULT_BAND_{key}", _SR) is not None:
            return Radiometry(
                scale=_number(raw, f"REFLECTANCE_MULT_BAND_{key}", _SR, self.path),
                offset=_number(raw, f"REFLECTANCE_ADD_BAND_{key}", _SR, self.path),
                nodata=0.0,
                unit="reflectance",
            )
        st_key = f"ST_B{key.split('_')[0]}"
        return Radiometry(
            scale=_number(raw, f"TEMPERATURE_MULT_BAND_{st_key}", _ST, self.path),
            offset=_number(raw, f"TEMPERATURE_ADD_BAND_{st_key}", _ST, self.path),
            nodata=0.0,
            unit="K",
        )


def _mtl_key(band: Band) -> str:
    """MTL suffix of a band: ``L8.B10`` -> ``"10"``, ``L7.B6_VCID_1`` -> ``"6_VCID_1"``."""
    return band.id[1:] if band.id.startswith("B") else band.id


def _sensor_of(spacecraft: str, path: Path) -> str:
    try:
        return _SPACECRAFT_SENSORS[spacecraft.upper()]
    except KeyError:
        raise MetadataError(
            f"SPACECRAFT_ID {spacecraft!r} is not a supported Landsat. "
            f"Supported: {available_list(_SPACECRAFT_SENSORS)}.",
            path=path,
            fix="pass an MTL of Landsat 4, 5, 7, 8 or 9.",
        ) from None


def parse_landsat_mtl(path: str | PathLike[str]) -> LandsatMetadata:
    """Read a Landsat ``*_MTL.txt`` (pre-collection, Collection 1 or 2).

    Args:
        path: The MTL file.

    Returns:
        The scene's metadata and calibration.

    Raises:
        MissingFileError: When the file does not exist.
        MetadataError: When a required field is missing or malformed; the
            message names the file and the field.
    """
    file = Path(path)
    groups = read_odl(file)
    spacecraft = _require(groups, "SPACECRAFT_ID", _IMAGE, file)
    has_collection = _lookup(groups, "COLLECTION_NUMBER", _PRODUCT) is not None
    distance = _lookup(groups, "EARTH_SUN_DISTANCE", _IMAGE)
    return LandsatMetadata(
        path=file,
        product_id=_lookup(groups, "LANDSAT_PRODUCT_ID", _PRODUCT)
        or _lookup(groups, "LANDSAT_SCENE_ID", _PRODUCT),
        spacecraft=spacecraft,
        sensor=_sensor_of(spacecraft, file),
        instrument=_require(groups, "SENSOR_ID", _IMAGE, file),
        level=_lookup(groups, "PROCESSING_LEVEL", _PRODUCT)
        or _require(groups, "DATA_TYPE", _PRODUCT, file),
        collection=int(_number(groups, "COLLECTION_NUMBER", _PRODUCT, file))
        if has_collection
        else None,
        acquired=_acquired(groups, file),
        sun_elevation=_number(groups, "SUN_ELEVATION", ("IMAGE_ATTRIBUTES",), file),
        sun_azimuth=_number(groups, "SUN_AZIMUTH", ("IMAGE_ATTRIBUTES",), file),
        earth_sun_distance=None if distance is None else float(distance),
        groups=groups,
    )
