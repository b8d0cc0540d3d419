"""Band, product level and sensor records of the band registry.

A :class:`Band` is one spectral (or SAR, or elevation) channel with a canonical
name such as ``"S2.B04"``. A :class:`Sensor` owns its bands in native order and,
per product level (``"L1C"``, ``"L2SR"``, ...), a :class:`ProductLevel` that
says which bands the level provides, their stored dtype and the default
:class:`~eoforge.sensors.radiometry.Radiometry` that turns stored values into
physical ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from eoforge.errors import BandNotFoundError, ConfigError, available_list
from eoforge.sensors.radiometry import Radiometry


@dataclass(frozen=True)
class Band:
    """One channel of a sensor.

    Attributes:
        name: Canonical name, ``"<sensor>.<id>"``, e.g. ``"S2.B04"``.
        sensor: Registry name of the sensor, e.g. ``"S2"``.
        id: Short identifier within the sensor, e.g. ``"B04"``.
        aliases: Common names accepted in lookups, e.g. ``("red",)``.
        center_wavelength_nm: Centre wavelength in nanometres (for SAR the
            radar wavelength), or None when not spectral (elevation, QA).
        bandwidth_nm: Full width of the pass band in nanometres, or None.
        gsd_m: Pixel size of the distributed product in metres, or None when
            it depends on the acquisition (generic RGB, DEM).
        description: Human-readable description, including the native
            resolution where it differs from ``gsd_m``.
    """

    name: str
    sensor: str
    id: str
    aliases: tuple[str, ...] = ()
    center_wavelength_nm: float | None = None
    bandwidth_nm: float | None = None
    gsd_m: float | None = None
    description: str = ""

    @property
    def wavelength_range_nm(self) -> tuple[float, float] | None:
        """Pass band ``(low, high)`` in nanometres, or None without a bandwidth."""
        if self.center_wavelength_nm is None or self.bandwidth_nm is None:
            return None
        half = self.bandwidth_nm / 2.0
        return (self.center_wavelength_nm - half, self.center_wavelength_nm + half)


@dataclass(frozen=True)
class ProductLevel:
    """What one processing level of a sensor stores and how to calibrate it.

    Attributes:
        name: Level name, e.g. ``"L2A"`` or ``"L2SR"``.
        dtype: Stored data type of the band files, e.g. ``"uint16"``.
        radiometry: Default radiometry per canonical band name; its keys are
            the bands the level provides, in native order.
        description: How stored values become physical values at this level.
    """

    name: str
    dtype: str
    radiometry: Mapping[str, Radiometry] = field(hash=False)
    description: str = ""


def _lookup_keys(band: Band) -> tuple[str, ...]:
    """Lower-case keys that name ``band`` within its sensor."""
    return tuple(key.lower() for key in (band.name, band.id, *band.aliases))


@dataclass(frozen=True)
class Sensor:
    """A sensor (or product family) with its bands and product levels.

    Attributes:
        name: Registry name used as band prefix, e.g. ``"S2"``, ``"L8"``.
        title: Full title, e.g. ``"Sentinel-2 MultiSpectral Instrument"``.
        bands: Bands in native order.
        levels: Product levels by name.
    """

    name: str
    title: str
    bands: tuple[Band, ...]
    levels: Mapping[str, ProductLevel] = field(hash=False)
    _index: dict[str, Band] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[str, Band] = {}
        for band in self.bands:
            for key in _lookup_keys(band):
                other = index.setdefault(key, band)
                if other is not band:
                    raise ConfigError(
                        f"sensor {self.name}: name {key!r} is used by both {other.name} "
                        f"and {band.name}.",
                        fix="give every alias to exactly one band in sensors/data/sensors.json.",
                    )
        object.__setattr__(self, "_index", index)

    @property
    def band_names(self) -> tuple[str, ...]:
        """Canonical names of all bands in native order."""
        return tuple(band.name for band in self.bands)

    def find_band(self, key: str) -> Band | None:
        """Band named ``key`` (canonical name, id or alias, any case), or None."""
        return self._index.get(key.lower())

    def band(self, key: str) -> Band:
        """Band named ``key`` (canonical name, id or alias, any case).

        Raises:
            BandNotFoundError: When no band of this sensor has that name.
        """
        band = self.find_band(key)
        if band is None:
            raise BandNotFoundError(
                f"sensor {self.name} has no band {key!r}. Available: "
                f"{available_list(self.band_names)}; aliases: "
                f"{available_list(a for b in self.bands for a in b.aliases)}.",
                fix="use a canonical name, a short id or an alias listed above.",
            )
        return band

    def level(self, name: str) -> ProductLevel:
        """Product level called ``name`` (any case).

        Raises:
            ConfigError: When the sensor has no such level.
        """
        for level_name, level in self.levels.items():
            if level_name.lower() == name.lower():
                return level
        raise ConfigError(
            f"sensor {self.name} has no product level {name!r}. "
            f"Available: {available_list(self.levels)}.",
            fix="pass one of the levels listed above.",
        )

    def bands_at(self, level: str) -> tuple[Band, ...]:
        """Bands the product level provides, in native order."""
        provided = self.level(level).radiometry
        return tuple(band for band in self.bands if band.name in provided)

    def radiometry(self, band: str | Band, level: str) -> Radiometry:
        """Default radiometry of ``band`` at product ``level``.

        Raises:
            BandNotFoundError: When the band is unknown or absent at that level.
            ConfigError: When the level is unknown.
        """
        resolved = band if isinstance(band, Band) else self.band(band)
        product = self.level(level)
        try:
            return product.radiometry[resolved.name]
        except KeyError:
            raise BandNotFoundError(
                f"{resolved.name} is not part of {self.name} level {product.name}. "
                f"That level provides: {available_list(product.radiometry)}.",
                fix="choose a band the level provides, or another level.",
            ) from None
