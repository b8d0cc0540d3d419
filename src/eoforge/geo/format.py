"""How eoforge writes CRSs and bounds for people: ``eoforge info`` and error messages.

One format everywhere, so that a CRS or an extent printed by ``eoforge info``
can be compared at a glance with the one an error message names:

* a CRS is its authority code and name, ``"EPSG:32631 (WGS 84 / UTM zone 31N)"``,
  or its WKT name when it has no code and PROJ finds no CRS of the database
  that it equals, ``"UTM Zone 18, Northern Hemisphere (no EPSG code)"``;
* bounds are ``"(minx, miny, maxx, maxy)"`` with as many decimals as the
  CRS's unit deserves: 6 for degrees (about 0.1 m on the ground), 2 for metres,
  feet and other linear units (1 cm), trailing zeros dropped.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from typing import Any

import pyproj

DEGREE_DECIMALS = 6
"""Decimals of coordinates in degrees (1e-6 degree is at most 0.11 m on the ground)."""

LINEAR_DECIMALS = 2
"""Decimals of coordinates in metres, feet or other linear units (1 cm for metres)."""

NO_CRS = "no CRS"
"""The label of a missing CRS (``None``)."""


def _proj(crs: Any) -> pyproj.CRS:
    """Any CRS description (EPSG code, WKT, rasterio/pyproj/odc CRS) as a pyproj CRS."""
    if isinstance(crs, pyproj.CRS):
        return crs
    return pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)


MATCH_CONFIDENCE = 90
"""PROJ's confidence (0-100) from which a CRS without a code is labelled with the code it matches.

90 means "the same CRS under another name". Lower matches assume a datum the
CRS does not state (a UTM zone on an unnamed datum of the International 1924
ellipsoid matches ED50 at 70), so such CRSs are labelled by their own name."""


@functools.lru_cache(maxsize=128)
def _label_of_wkt(wkt: str) -> str:
    proj = pyproj.CRS.from_wkt(wkt)
    authority = proj.to_authority(min_confidence=MATCH_CONFIDENCE)
    if authority is not None:
        return f"{authority[0]}:{authority[1]} ({proj.name})"
    name = proj.name
    if name.lower() in ("", "unknown"):  # e.g. from a PROJ string: show its parameters
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # to_proj4 warns that PROJ strings drop details
            name = proj.to_proj4() or name
    return f"{name} (no EPSG code)"


def crs_label(crs: Any) -> str:
    """A CRS for people: authority code and name.

    Args:
        crs: Any CRS description: EPSG code, ``"EPSG:32631"``, WKT, PROJ string,
            or a rasterio, pyproj or odc-geo CRS; None for a missing CRS.

    Returns:
        ``"EPSG:32631 (WGS 84 / UTM zone 31N)"`` (another authority such as
        ``"ESRI:54009 (World_Mollweide)"`` when that is the code), the code of
        the database CRS it equals when it has none (PROJ confidence
        :data:`MATCH_CONFIDENCE`), else ``"<WKT name> (no EPSG code)"`` (the
        PROJ string for unnamed CRSs), or ``"no CRS"`` for None.
    """
    if crs is None:
        return NO_CRS
    return _label_of_wkt(_proj(crs).to_wkt())


def _decimals(crs: Any) -> int | None:
    if crs is None:
        return None
    return DEGREE_DECIMALS if _proj(crs).is_geographic else LINEAR_DECIMALS


def _number(value: float, decimals: int | None) -> str:
    if not math.isfinite(value):
        return str(value)
    if decimals is None:
        text = f"{value:.10g}"
    else:
        text = f"{value:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "-0.0") else text


def bounds_label(bounds: Sequence[float], crs: Any) -> str:
    """Bounds for people, rounded to what the CRS's unit makes meaningful.

    Args:
        bounds: ``(minx, miny, maxx, maxy)`` in ``crs`` units (any sequence of
            numbers, e.g. a GeoDataFrame's ``total_bounds``).
        crs: The CRS of ``bounds`` (any form :func:`crs_label` takes); it only
            sets the precision: 6 decimals for degrees, 2 for linear units,
            10 significant digits when None.

    Returns:
        ``"(101985, 2611485, 339315, 2826915)"`` or
        ``"(-78.958862, 23.56344, -76.57497, 25.550952)"``: trailing zeros are
        dropped, non-finite values are written as ``nan``/``inf``.
    """
    decimals = _decimals(crs)
    return "(" + ", ".join(_number(float(v), decimals) for v in bounds) + ")"


__all__ = [
    "DEGREE_DECIMALS",
    "LINEAR_DECIMALS",
    "MATCH_CONFIDENCE",
    "NO_CRS",
    "bounds_label",
    "crs_label",
]
