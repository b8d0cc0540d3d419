"""The seasonal state of the ground: crop cover, forest leaves, grass, air temperature.

Crops follow a bell-shaped green-cover curve peaking on a crop-specific day of
year (winter crops in spring, summer crops in July-August), then senesce and
are harvested; deciduous forest leafs out in April and in October; grass
browns in the summer drought.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from eoforge.synth.world import legend

F64 = npt.NDArray[np.float64]

#: Crop code -> (day of year of peak green cover, bell half-width in days).
CROP_CALENDAR: dict[int, tuple[float, float]] = {
    legend.RAPESEED: (105.0, 28.0),
    legend.WHEAT: (145.0, 32.0),
    legend.SUNFLOWER: (200.0, 24.0),
    legend.MAIZE: (245.0, 26.0),
}
PEAK_COVER = 0.95
PEAK_JITTER_DAYS = 10.0


def crop_cover(crop: npt.NDArray[np.uint8], patch: F64, doy: float) -> tuple[F64, F64]:
    """Green and senescent cover fractions of crop pixels.

    Args:
        crop: Crop codes, any shape.
        patch: Per-field random value in [0, 1) that shifts the peak by up to +/-5 days.
        doy: Day of year of the acquisition.

    Returns:
        (green, senescent) fractions in [0, 1], shaped like ``crop``; the rest is soil.
    """
    green = np.zeros(crop.shape, dtype=np.float64)
    senescent = np.zeros(crop.shape, dtype=np.float64)
    for code, (peak, width) in CROP_CALENDAR.items():
        sel = crop == code
        if not sel.any():
            continue
        rel = doy - (peak + (patch[sel] - 0.5) * PEAK_JITTER_DAYS)
        g = PEAK_COVER * np.exp(-((rel / width) ** 2))
        green[sel] = g
        senescent[sel] = np.where((rel > 0) & (rel < 2.2 * width), 0.75 * (1.0 - g), 0.0)
    return green, senescent


def forest_leaf_on(doy: float) -> float:
    """Leaf-on fraction of deciduous-dominated forest (0 bare, 1 full canopy)."""
    rise = 1.0 / (1.0 + math.exp(-(doy - 110.0) / 8.0))
    fall = 1.0 / (1.0 + math.exp(-(doy - 295.0) / 9.0))
    return 0.15 + 0.85 * rise * (1.0 - fall)


def grass_green(doy: float) -> float:
    """Green fraction of grassland: lush in spring, browner in the August drought."""
    return 0.9 - 0.35 * math.exp(-(((doy - 225.0) / 30.0) ** 2))


def air_temperature(doy: float) -> float:
    """Seasonal near-surface air temperature at mid-morning (K), mid-latitudes."""
    return 283.0 + 12.0 * math.sin(2 * math.pi * (doy - 110.0) / 365.0)
