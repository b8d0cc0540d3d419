"""Query parameters of the viewer's API, checked: a bad value is a :class:`BadRequestError`.

Every parser raises :class:`BadRequestError` (HTTP 400) with a message saying what is
wrong and what is accepted, so that no bad request reaches the readers.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import numpy.typing as npt
from rio_tiler.colormap import cmap

MAX_ZOOM = 30
"""Highest Web Mercator zoom level accepted in tile requests."""


class BadRequestError(ValueError):
    """A request the viewer cannot answer as asked (HTTP 400); the message says why."""


def tile_coords(z: int, x: int, y: int) -> tuple[int, int, int]:
    """Check XYZ tile coordinates: ``0 <= z <= MAX_ZOOM``, ``0 <= x, y < 2**z``."""
    if not 0 <= z <= MAX_ZOOM:
        raise BadRequestError(f"zoom {z} is out of range: use 0 to {MAX_ZOOM}.")
    side = 1 << z
    if not (0 <= x < side and 0 <= y < side):
        raise BadRequestError(f"tile {z}/{x}/{y} does not exist: x and y run from 0 to {side - 1}.")
    return z, x, y


def stretch(text: str | None) -> tuple[float, float] | None:
    """``"lo,hi"`` as two finite numbers with ``lo < hi``; None when not given."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    try:
        lo, hi = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise BadRequestError(
            f"stretch={text!r} is not two numbers lo,hi with lo < hi (e.g. 0,3000)."
        )
    return lo, hi


def colormap_names() -> list[str]:
    """Names of the colour ramps the tiles accept (rio-tiler's, e.g. ``viridis``)."""
    return sorted(cmap.list())


@cache
def _ramp(name: str) -> npt.NDArray[np.uint8]:
    table: dict[int, tuple[int, int, int, int]] = cmap.get(name)  # type: ignore[assignment]
    lut = np.zeros((256, 4), dtype=np.uint8)
    for value, rgba in table.items():
        if 0 <= int(value) < 256:
            lut[int(value)] = rgba
    lut.setflags(write=False)
    return lut


def ramp(name: str) -> npt.NDArray[np.uint8]:
    """The ``[256, 4]`` uint8 RGBA table of a colour ramp.

    Raises:
        BadRequestError: No ramp has that name.
    """
    key = name.lower()
    if key not in cmap.list():
        raise BadRequestError(
            f"colormap={name!r} is unknown; use e.g. viridis, magma, greys_r, rdylgn."
        )
    return _ramp(key)


def lon_lat(lon: float, lat: float) -> tuple[float, float]:
    """Check a WGS84 position: finite, ``-180 <= lon <= 180``, ``-90 <= lat <= 90``."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadRequestError(
            f"lon={lon}, lat={lat} is not a position: lon -180..180, lat -90..90."
        )
    return lon, lat


def bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``"w,s,e,n"`` in degrees with ``w <= e`` and ``s <= n``; None when not given."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise BadRequestError(f"bbox={text!r} is not four numbers west,south,east,north.")
    w, s, e, n = values
    if w > e or s > n:
        raise BadRequestError(f"bbox={text!r}: west must not exceed east, nor south north.")
    return w, s, e, n


__all__ = [
    "MAX_ZOOM",
    "BadRequestError",
    "bbox",
    "colormap_names",
    "lon_lat",
    "ramp",
    "stretch",
    "tile_coords",
]
