"""Sensor band registry and product metadata parsers.

Every band has a canonical name (``"S2.B04"``, ``"L8.B5"``, ``"S1.VV"``) with
aliases (``"red"``, ``"nir"``, ``"swir16"``); datasets, models and bundles
speak band names, never positions. Per sensor and product level the registry
gives the default :class:`Radiometry` (DN -> physical value); the MTL / MTD
parsers give the scene-specific one.

Example:
    >>> from eoforge.sensors import get_band, default_radiometry
    >>> get_band("red", sensor="L8").name
    'L8.B4'
    >>> default_radiometry("L8.B4", "L2SR").scale
    2.75e-05
"""

from eoforge.sensors.band import Band, ProductLevel, Sensor
from eoforge.sensors.landsat import LandsatMetadata, parse_landsat_mtl
from eoforge.sensors.names import band_sort_key, canonical_band, registry_sensor
from eoforge.sensors.products import (
    BandFile,
    StackInfo,
    find_metadata,
    identify_band_file,
    identify_stack,
)
from eoforge.sensors.radiometry import IDENTITY, Radiometry
from eoforge.sensors.registry import (
    band_for_wavelength,
    default_radiometry,
    get_band,
    get_sensor,
    list_sensors,
    resolve_bands,
)
from eoforge.sensors.sentinel2 import Sentinel2Metadata, parse_s2_mtd

__all__ = [
    "IDENTITY",
    "Band",
    "BandFile",
    "LandsatMetadata",
    "ProductLevel",
    "Radiometry",
    "Sensor",
    "Sentinel2Metadata",
    "StackInfo",
    "band_for_wavelength",
    "band_sort_key",
    "canonical_band",
    "default_radiometry",
    "find_metadata",
    "get_band",
    "get_sensor",
    "identify_band_file",
    "identify_stack",
    "list_sensors",
    "parse_landsat_mtl",
    "parse_s2_mtd",
    "registry_sensor",
    "resolve_bands",
]
