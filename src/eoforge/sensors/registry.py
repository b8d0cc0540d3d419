"""Look up sensors and bands by name, alias or wavelength.

All lookups are case-insensitive. A band can be named by its canonical name
(``"S2.B04"``), a sensor-qualified alias (``"S2.red"``), or, together with a
``sensor`` argument, by its short id (``"B04"``) or a bare alias (``"red"``).
A bare name without a sensor is accepted only when exactly one sensor knows it
(``"B8A"``); otherwise :class:`~eoforge.errors.BandNotFoundError` lists the
candidates.
"""

from __future__ import annotations

from collections.abc import Iterable

from eoforge.errors import BandNotFoundError, available_list, close_matches, did_you_mean
from eoforge.sensors.band import Band, Sensor
from eoforge.sensors.indices import index_band, is_index_name
from eoforge.sensors.radiometry import Radiometry
from eoforge.sensors.tables import load_sensors


def list_sensors() -> list[str]:
    """Registry names of all sensors, e.g. ``["S2", "L8", ...]``."""
    return list(load_sensors())


def _find_sensor(name: str) -> Sensor | None:
    for sensor_name, sensor in load_sensors().items():
        if sensor_name.lower() == name.lower():
            return sensor
    return None


def get_sensor(name: str | Sensor) -> Sensor:
    """Sensor by registry name (any case), e.g. ``"S2"``, ``"l8"``.

    Raises:
        BandNotFoundError: When no sensor has that name (the message lists them).
    """
    if isinstance(name, Sensor):
        return name
    sensor = _find_sensor(name)
    if sensor is None:
        raise BandNotFoundError(
            f"unknown sensor {name!r}. Available: {available_list(load_sensors())}.",
            fix="use one of the sensor names listed above.",
        )
    return sensor


def _split_qualified(name: str) -> tuple[Sensor, str] | None:
    prefix, dot, rest = name.partition(".")
    if not dot:
        return None
    sensor = _find_sensor(prefix)
    return None if sensor is None else (sensor, rest)


def _search_all(name: str) -> Band:
    matches = [band for s in load_sensors().values() if (band := s.find_band(name)) is not None]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise BandNotFoundError(
            f"band name {name!r} is ambiguous: it matches "
            f"{available_list(band.name for band in matches)}.",
            fix=f"qualify it with a sensor, e.g. {matches[0].sensor}.{name}, or pass sensor=.",
        )
    raise BandNotFoundError(
        f"no sensor has a band {name!r}. Sensors: {available_list(load_sensors())}.",
        fix="use a canonical name such as S2.B04 or L8.B5, or pass sensor= with an id or alias.",
    )


def get_band(name: str | Band, sensor: str | Sensor | None = None) -> Band:
    """Resolve a band name to its registry :class:`Band`.

    Args:
        name: Canonical name (``"S2.B04"``), sensor-qualified alias
            (``"S2.red"``), or short id / alias (``"B04"``, ``"red"``).
        sensor: Sensor the name belongs to; required for ids and aliases that
            several sensors share.

    Returns:
        The band.

    Raises:
        BandNotFoundError: When the name is unknown, ambiguous, or qualified
            with a sensor other than ``sensor``.
    """
    if isinstance(name, Band):
        return name
    try:
        return _lookup_band(name, sensor)
    except BandNotFoundError as error:
        hint = did_you_mean(_close_band_names(name, sensor))
        if not hint:
            raise
        raise BandNotFoundError(f"{error.reason} {hint}", path=error.path, fix=error.fix) from None


def _close_band_names(name: str, sensor: str | Sensor | None, limit: int = 3) -> list[str]:
    """Band names a mistyped ``name`` may have meant, written the way ``name`` is.

    A qualified name is compared with canonical names and qualified ids and
    aliases (``S2.red``); a bare one with ids and aliases, suggested bare when
    the sensor is known and qualified otherwise.
    """
    owner = None if sensor is None else _find_sensor(getattr(sensor, "name", str(sensor)))
    sensors = [owner] if owner is not None else list(load_sensors().values())
    qualified = "." in name
    meant: dict[str, list[str]] = {}  # spelling the user may have missed -> names to suggest
    for known in sensors:
        for band in known.bands:
            if qualified:
                meant.setdefault(band.name, [band.name])
            for key in (band.id, *band.aliases):
                full = f"{known.name}.{key}"
                spelling = full if qualified else key
                meant.setdefault(spelling, []).append(key if owner and not qualified else full)
    found: list[str] = []
    for spelling in close_matches(name, meant, limit):
        found.extend(n for n in meant[spelling] if n not in found)
    return found[:limit]


def _lookup_band(name: str, sensor: str | Sensor | None) -> Band:
    if is_index_name(name):  # a spectral index computed from the bands (``ASI.NDVI``)
        if sensor is not None:
            owner = get_sensor(sensor)
            raise BandNotFoundError(
                f"band {name!r} is a spectral index, not a {owner.name} band.",
                fix="drop sensor= (indices are computed from the bands read).",
            )
        return index_band(name.partition(".")[2])
    qualified = _split_qualified(name)
    if sensor is None:
        return qualified[0].band(qualified[1]) if qualified else _search_all(name)
    owner = get_sensor(sensor)
    if qualified and qualified[0] is not owner:
        raise BandNotFoundError(
            f"band {name!r} belongs to sensor {qualified[0].name}, not {owner.name}.",
            fix=f"drop the prefix or use a {owner.name} band.",
        )
    return owner.band(qualified[1] if qualified else name)


def resolve_bands(names: Iterable[str | Band], sensor: str | Sensor | None = None) -> list[Band]:
    """Resolve several band names with :func:`get_band`, keeping their order."""
    return [get_band(name, sensor) for name in names]


def band_for_wavelength(sensor: str | Sensor, nm: float, *, nearest: bool = False) -> Band:
    """Band of ``sensor`` whose pass band contains wavelength ``nm``.

    Args:
        sensor: Sensor name or record.
        nm: Wavelength in nanometres.
        nearest: When True and no pass band contains ``nm``, return the band
            with the closest centre instead of raising.

    Returns:
        Among the bands whose pass band contains ``nm`` (or all spectral bands
        when ``nearest``), the one with the closest centre wavelength.

    Raises:
        BandNotFoundError: When no band covers ``nm`` (and ``nearest`` is False).
    """
    owner = get_sensor(sensor)
    spectral = [b for b in owner.bands if b.center_wavelength_nm is not None]
    covering = [
        b for b in spectral if (r := b.wavelength_range_nm) is not None and r[0] <= nm <= r[1]
    ]
    candidates = covering or (spectral if nearest else [])
    if not candidates:
        ranges = (f"{b.id} {r[0]:g}-{r[1]:g}" for b in spectral if (r := b.wavelength_range_nm))
        raise BandNotFoundError(
            f"no {owner.name} band covers {nm:g} nm. Pass bands (nm): {available_list(ranges)}.",
            fix="pick a wavelength inside a pass band, or pass nearest=True.",
        )
    return min(candidates, key=lambda b: abs(float(b.center_wavelength_nm or 0.0) - nm))


def default_radiometry(band_name: str | Band, level: str) -> Radiometry:
    """Default radiometry of a band at a product level, from the registry tables.

    Args:
        band_name: Band name resolvable without a sensor, e.g. ``"S2.B04"``.
        level: Product level of the band's sensor, e.g. ``"L2A"``, ``"L2SR"``.

    Returns:
        The level's default :class:`Radiometry` (without scene-specific
        metadata; see :func:`~eoforge.sensors.landsat.parse_landsat_mtl` and
        :func:`~eoforge.sensors.sentinel2.parse_s2_mtd` for those).

    Raises:
        BandNotFoundError: Unknown band, or band absent at that level.
        ConfigError: Unknown level.
    """
    band = get_band(band_name)
    return get_sensor(band.sensor).radiometry(band, level)
