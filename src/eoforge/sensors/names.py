"""Sensor and band names met in file names and STAC items, mapped to the band registry.

File names and STAC ``platform`` fields name spacecraft (``S2A``,
``sentinel-2b``, ``LC08``, ``landsat-8``); the registry names sensors
(``S2``, ``L8``). These helpers bridge the two and resolve band names to
canonical registry names where they can, keeping unknown names as given.
"""

from __future__ import annotations

import re
from functools import cache

from eoforge.errors import EoforgeError
from eoforge.sensors.registry import get_band, list_sensors

_PLATFORMS: tuple[tuple[str, str], ...] = (
    (r"^(sentinel2[ab]?|s2[abcd]?)$", "S2"),
    (r"^(sentinel1[abc]?|s1[abc]?)$", "S1"),
    (r"^(landsat9|lc09|lc9|l9)$", "L9"),
    (r"^(landsat8|lc08|lc8|lo08|l8)$", "L8"),
    (r"^(landsat7|le07|le7|l7)$", "L7"),
    (r"^(landsat5|lt05|lt5|l5)$", "L5"),
    (r"^(landsat4|lt04|lt4|l4)$", "L4"),
    (r"^(worldview2|wv02|wv2)$", "WV2"),
    (r"^(worldview3|wv03|wv3)$", "WV3"),
    (r"^(enmap)$", "ENMAP"),
    (r"^(emit)$", "EMIT"),
    (r"^(prisma)$", "PRISMA"),
    (r"^(naip)$", "NAIP"),
)


@cache
def registry_sensor(text: str | None) -> str | None:
    """The registry sensor for a sensor or spacecraft name, or None if unknown.

    Args:
        text: e.g. ``"S2"``, ``"S2A"``, ``"sentinel-2b"``, ``"LC08"``, ``"landsat-8"``.

    Returns:
        The registry name (``"S2"``, ``"L8"``, ...), or None.
    """
    if not text:
        return None

    for name in list_sensors():
        if name.lower() == text.lower():
            return name
    key = re.sub(r"[\s_\-]", "", text.lower())
    for regex, name in _PLATFORMS:
        if re.match(regex, key):
            return name
    return None


@cache
def canonical_band(name: str, sensor: str | None = None) -> str:
    """The canonical registry name of a band, or ``name`` unchanged if the registry lacks it.

    Args:
        name: A canonical name, short id or alias (``"S2.B04"``, ``"B04"``, ``"red"``).
        sensor: Registry sensor that owns ids and aliases, if known.

    Returns:
        e.g. ``"S2.B04"``, or ``name`` itself for user-defined bands. Without
        ``sensor`` only sensor-qualified names are resolved: a bare ``"B04"``
        could belong to any sensor.
    """
    if sensor is None and "." not in name:
        return name

    try:
        return get_band(name, sensor=sensor).name
    except EoforgeError:
        return name


def band_sort_key(name: str) -> tuple[str, int, str]:
    """Natural order of band names: B2 before B10, B8 before B8A, quality bands (no digits) last."""
    prefix, _, band = name.rpartition(".")
    digits = re.search(r"\d+", band)
    return prefix, int(digits.group()) if digits else 1_000_000, band
