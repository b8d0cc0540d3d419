"""Build :class:`~eoforge.sensors.band.Sensor` records from ``data/sensors.json``.

The JSON file holds the published band tables (centre wavelength, bandwidth,
GSD, aliases) and per-level radiometry. Hyperspectral sensors (EnMAP, EMIT,
PRISMA) are described by spectral grids (range, band count, mean FWHM) from
which evenly spaced, **approximate** band centres are generated here; real
products carry their own wavelength tables, which take precedence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from eoforge.sensors.band import Band, ProductLevel, Sensor
from eoforge.sensors.radiometry import Radiometry

TABLE_FILE = "sensors.json"


def _load_json() -> dict[str, Any]:
    table = resources.files("eoforge.sensors").joinpath("data").joinpath(TABLE_FILE)
    text = table.read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _band(sensor: str, row: dict[str, Any]) -> Band:
    def number(key: str) -> float | None:
        value = row.get(key)
        return None if value is None else float(value)

    return Band(
        name=f"{sensor}.{row['id']}",
        sensor=sensor,
        id=row["id"],
        aliases=tuple(row.get("aliases", ())),
        center_wavelength_nm=number("center_nm"),
        bandwidth_nm=number("bandwidth_nm"),
        gsd_m=number("gsd_m"),
        description=row.get("description", ""),
    )


def spectral_grid_bands(sensor: str, segments: list[dict[str, Any]]) -> tuple[Band, ...]:
    """Generate numbered hyperspectral bands from detector segments.

    Args:
        sensor: Registry name used as prefix, e.g. ``"ENMAP"``.
        segments: Detector segments in wavelength order, each with
            ``start_nm``, ``stop_nm`` (first and last band centre, nm),
            ``count`` (bands), ``fwhm_nm`` and ``gsd_m``.

    Returns:
        Bands ``<sensor>.B001`` ... numbered across all segments, with evenly
        spaced (approximate) centres.
    """
    bands: list[Band] = []
    for segment in segments:
        count = int(segment["count"])
        start, stop = float(segment["start_nm"]), float(segment["stop_nm"])
        step = (stop - start) / (count - 1)
        for i in range(count):
            band_id = f"B{len(bands) + 1:03d}"
            center = round(start + i * step, 2)
            bands.append(
                Band(
                    name=f"{sensor}.{band_id}",
                    sensor=sensor,
                    id=band_id,
                    center_wavelength_nm=center,
                    bandwidth_nm=float(segment["fwhm_nm"]),
                    gsd_m=float(segment["gsd_m"]),
                    description=f"{segment['description']} band near {center:.1f} nm "
                    "(approximate centre)",
                )
            )
    return tuple(bands)


def _radiometry(spec: dict[str, Any]) -> Radiometry:
    def optional(key: str) -> float | None:
        value = spec.get(key)
        return None if value is None else float(value)

    return Radiometry(
        scale=float(spec.get("scale", 1.0)),
        offset=float(spec.get("offset", 0.0)),
        nodata=optional("nodata"),
        unit=str(spec.get("unit", "DN")),
        k1=optional("k1"),
        k2=optional("k2"),
    )


def _names(band: Band) -> set[str]:
    return {band.id.lower(), *(alias.lower() for alias in band.aliases)}


def _level(name: str, spec: dict[str, Any], bands: tuple[Band, ...]) -> ProductLevel:
    # Level tables may name a band by id or alias (L7 "B6" is B6_VCID_1).
    wanted = None if "bands" not in spec else {key.lower() for key in spec["bands"]}
    excluded = {key.lower() for key in spec.get("exclude", ())}
    overrides = {key.lower(): value for key, value in spec.get("overrides", {}).items()}
    radiometry: dict[str, Radiometry] = {}
    for band in bands:
        names = _names(band)
        if (wanted is not None and not names & wanted) or names & excluded:
            continue
        override: dict[str, Any] = next(
            (overrides[key] for key in sorted(names & overrides.keys())), {}
        )
        radiometry[band.name] = _radiometry({**spec["radiometry"], **override})
    return ProductLevel(name, spec["dtype"], radiometry, spec.get("description", ""))


def _sensor(name: str, spec: dict[str, Any], data: dict[str, Any]) -> Sensor:
    if "spectral_grid" in spec:
        bands = spectral_grid_bands(name, data["spectral_grids"][spec["spectral_grid"]])
    else:
        rows = [row for set_name in spec["band_sets"] for row in data["band_sets"][set_name]]
        bands = tuple(_band(name, row) for row in rows)
    level_specs: dict[str, Any] = dict(spec["levels"])
    for set_name in spec.get("level_sets", ()):
        for level_name, level_spec in data["level_sets"][set_name].items():
            level_specs.setdefault(level_name, level_spec)
    levels = {lvl: _level(lvl, lvl_spec, bands) for lvl, lvl_spec in level_specs.items()}
    return Sensor(name=name, title=spec["title"], bands=bands, levels=levels)


@cache
def load_sensors() -> Mapping[str, Sensor]:
    """All sensors of the registry, keyed by registry name, in table order (read-only)."""
    data = _load_json()
    sensors = {name: _sensor(name, spec, data) for name, spec in data["sensors"].items()}
    return MappingProxyType(sensors)
