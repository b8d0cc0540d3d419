"""The seasonal state of the ground: crop cover, forest leaves, grass, air temperature.

Crops follow a bell-shaped green-cover curve peaking on a crop-specific day of
year (winter crops in spring, summer crops in July-August), then senesce and
are harvested; deciduous forest leafs out in April and in October; grass
browns in the summer drought.

Two phenologies of the fields (:data:`PHENOLOGIES`): ``uniform`` gives every
field of a crop the same curve (its peak shifted by at most 5 days), so one
mid-season date tells the crops apart; ``varied`` draws, per field, a
sowing shift, a season length, a peak vigour and a soil brightness
(:func:`field_season`), as farms differ, so that on any one date fields of
different crops look alike while their trajectories over the season differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from eoforge.synth.world import legend
from eoforge.synth.world.noise import hash_ints, salt_of

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
#: Senescent cover after the peak, as a share of what is not green.
SENESCENT_SHARE = 0.75
#: Harvest, in bell half-widths after the peak.
HARVEST_WIDTHS = 2.2

#: How fields of one crop differ: ``uniform`` (one curve per crop) or ``varied`` (per field).
Phenology = Literal["uniform", "varied"]
PHENOLOGIES: tuple[Phenology, ...] = ("uniform", "varied")

#: ``varied``: sowing / green-up shift of a field, uniform in +/- this many days.
SOWING_SHIFT_DAYS = 20.0
#: ``varied``: season length (bell half-width) factor of a field, uniform in this range.
SEASON_STRETCH = (0.8, 1.2)
#: ``varied``: peak green cover of a field, uniform in this range.
PEAK_VIGOUR = (0.55, 0.95)
#: ``varied``: brightness factor of a field's bare soil, uniform in this range.
SOIL_BRIGHTNESS = (0.7, 1.3)
_SEASON_SALT = salt_of(0, "fields.season")


@dataclass(frozen=True)
class FieldSeason:
    """The season of fields (arrays shaped like the ``patch`` they come from).

    Attributes:
        shift: Shift of the crop's peak day, days (later when positive).
        stretch: Factor on the crop's bell half-width (longer season when > 1).
        vigour: Peak green cover fraction, 0-1.
        soil: Factor on the bare-soil reflectance.
    """

    shift: F64
    stretch: F64
    vigour: F64
    soil: F64


def _draws(patch: F64, count: int) -> list[F64]:
    """``count`` independent uniforms in [0, 1) per field, hashed from its ``patch`` value.

    ``patch`` is itself a hash (53 random bits), so the draws are a pure function
    of the scene seed and the field, and independent of ``patch`` and of each other.
    """
    bits = (np.asarray(patch, dtype=np.float64) * 9007199254740992.0).astype(np.uint64)
    scale = 1.0 / 9007199254740992.0
    return [
        (hash_ints(_SEASON_SALT, bits, np.zeros_like(bits), k) >> np.uint64(11)).astype(np.float64)
        * scale
        for k in range(count)
    ]


def field_season(patch: F64, phenology: Phenology = "uniform") -> FieldSeason:
    """Sowing shift, season length, vigour and soil of fields from their ``patch`` value.

    Args:
        patch: Per-field random value in [0, 1) (``Ground.patch`` of crop pixels).
        phenology: ``uniform``: the peak shifts by at most +/-5 days and nothing
            else varies; ``varied``: shift +/- :data:`SOWING_SHIFT_DAYS`, stretch in
            :data:`SEASON_STRETCH`, vigour in :data:`PEAK_VIGOUR`, soil in
            :data:`SOIL_BRIGHTNESS`, each uniform and independent.

    Returns:
        The :class:`FieldSeason`, arrays shaped like ``patch``.
    """
    patch = np.asarray(patch, dtype=np.float64)
    if phenology == "uniform":
        ones = np.ones_like(patch)
        return FieldSeason((patch - 0.5) * PEAK_JITTER_DAYS, ones, PEAK_COVER * ones, ones)
    shift, stretch, vigour, soil = _draws(patch, 4)
    return FieldSeason(
        shift=(2.0 * shift - 1.0) * SOWING_SHIFT_DAYS,
        stretch=SEASON_STRETCH[0] + (SEASON_STRETCH[1] - SEASON_STRETCH[0]) * stretch,
        vigour=PEAK_VIGOUR[0] + (PEAK_VIGOUR[1] - PEAK_VIGOUR[0]) * vigour,
        soil=SOIL_BRIGHTNESS[0] + (SOIL_BRIGHTNESS[1] - SOIL_BRIGHTNESS[0]) * soil,
    )


def crop_cover(
    crop: npt.NDArray[np.uint8], patch: F64, doy: float, phenology: Phenology = "uniform"
) -> tuple[F64, F64]:
    """Green and senescent cover fractions of crop pixels.

    Args:
        crop: Crop codes, any shape.
        patch: Per-field random value in [0, 1), shaped like ``crop``: it sets the
            field's season (:func:`field_season`).
        doy: Day of year of the acquisition.
        phenology: ``uniform`` or ``varied`` fields (:data:`PHENOLOGIES`).

    Returns:
        (green, senescent) fractions in [0, 1], shaped like ``crop``; the rest is soil.
    """
    if phenology == "varied":
        return _varied_cover(crop, field_season(patch, phenology), doy)
    green = np.zeros(crop.shape, dtype=np.float64)
    senescent = np.zeros(crop.shape, dtype=np.float64)
    for code, (peak, width) in CROP_CALENDAR.items():
        sel = crop == code
        if not sel.any():
            continue
        rel = doy - (peak + (patch[sel] - 0.5) * PEAK_JITTER_DAYS)
        g = PEAK_COVER * np.exp(-((rel / width) ** 2))
        green[sel] = g
        senescent[sel] = np.where(
            (rel > 0) & (rel < HARVEST_WIDTHS * width), SENESCENT_SHARE * (1.0 - g), 0.0
        )
    return green, senescent


def _varied_cover(crop: npt.NDArray[np.uint8], season: FieldSeason, doy: float) -> tuple[F64, F64]:
    """:func:`crop_cover` of fields with their own season; senescent cover scales with vigour."""
    green = np.zeros(crop.shape, dtype=np.float64)
    senescent = np.zeros(crop.shape, dtype=np.float64)
    for code, (peak, width) in CROP_CALENDAR.items():
        sel = crop == code
        if not sel.any():
            continue
        rel = doy - (peak + season.shift[sel])
        half = width * season.stretch[sel]
        vigour = season.vigour[sel]
        g = vigour * np.exp(-((rel / half) ** 2))
        green[sel] = g
        biomass = SENESCENT_SHARE * vigour / PEAK_COVER
        senescent[sel] = np.where(
            (rel > 0) & (rel < HARVEST_WIDTHS * half), biomass * (1.0 - g), 0.0
        )
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
