"""Sentinel-1 GRD-like rendering: C-band sigma0 in VV and VH with incidence, terrain and speckle."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter

from eoforge.synth.render.optical import SAR_PSF_SIGMA
from eoforge.synth.render.spectra import BACKSCATTER_DB, CROP_PEAK_DB
from eoforge.synth.world import legend
from eoforge.synth.world.noise import fbm, salt_of
from eoforge.synth.world.phenology import crop_cover
from eoforge.synth.world.sampling import Samples

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

NEAR_INCIDENCE = 30.0
FAR_INCIDENCE = 45.0
#: sigma0 decrease with incidence, dB per degree.
INCIDENCE_SLOPE = -0.15
#: Smallest linear sigma0 written (noise-equivalent sigma0 of about -30 dB).
NESZ = 10 ** (-30.0 / 10)


def incidence(x: F64, scene_width: float) -> F64:
    """Incidence angle (degrees) across the swath: the sensor looks east from the west."""
    out: F64 = NEAR_INCIDENCE + (FAR_INCIDENCE - NEAR_INCIDENCE) * np.clip(
        x / scene_width, 0.0, 1.0
    )
    return out


def backscatter_db(samples: Samples, doy: float, seed: int, scene_width: float) -> F64:
    """Mean sigma0 (dB) of the ground for VV and VH, before speckle.

    Args:
        samples: Ground on a sub-pixel grid.
        doy: Day of year (crop biomass raises backscatter, VH most).
        seed: Scene seed.
        scene_width: Scene width, metres (sets the incidence ramp).

    Returns:
        float64 array (2, H', W'): VV and VH in dB.
    """
    g = samples.ground
    table = np.full((256, 2), -20.0)
    for value, pair in BACKSCATTER_DB.items():
        table[value] = pair
    db = np.moveaxis(table[g.cls], -1, 0)
    crop = g.cls == legend.CROPLAND
    if crop.any():
        green, _ = crop_cover(g.crop[crop], g.patch[crop], doy, g.phenology)
        for pol in range(2):
            db[pol][crop] = db[pol][crop] * (1 - green) + CROP_PEAK_DB[pol] * green
    theta = incidence(samples.x, scene_width)
    _, dz_dx = np.gradient(g.terrain, samples.spacing)
    local = np.radians(theta) - np.arctan(dz_dx)
    terrain_db = 10 * np.log10(np.clip(np.cos(local), 0.05, 1.0) / np.cos(np.radians(theta)))
    texture = 1.0 * fbm(samples.x, samples.y, 200.0, salt_of(seed, "s1.texture"), octaves=3)
    ramp = INCIDENCE_SLOPE * (theta - 0.5 * (NEAR_INCIDENCE + FAR_INCIDENCE))
    out: F64 = db + (ramp + terrain_db + texture * (g.cls != legend.WATER))[None]
    return out


def render(samples: Samples, doy: float, seed: int, scene_width: float) -> F32:
    """Mean linear sigma0 of each output pixel, VV and VH, before speckle.

    Args:
        samples: Ground on the block's sub-pixel grid, halo at least ``2 * factor``.
        doy: Day of year.
        seed: Scene seed.
        scene_width: Scene width, metres.

    Returns:
        float32 array (2, H, W), linear power.
    """
    linear = 10 ** (backscatter_db(samples, doy, seed, scene_width) / 10)
    linear = gaussian_filter(
        linear, sigma=(0, SAR_PSF_SIGMA * samples.factor, SAR_PSF_SIGMA * samples.factor)
    )
    return samples.reduce(linear)


def to_db(linear: F32, speckle: F32) -> F32:
    """Apply multiplicative speckle and convert to dB.

    Args:
        linear: Mean linear sigma0, any shape.
        speckle: Unit-mean Gamma draws (shape = number of looks), same shape.

    Returns:
        float32 sigma0 in dB.
    """
    out: F32 = (10 * np.log10(np.maximum(linear * speckle, NESZ))).astype(np.float32)
    return out
