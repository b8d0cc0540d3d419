"""Vessel wakes in the Sentinel-1 images: a faint dark trail and a bright V behind the stern.

With wakes on, every vessel is under way and leaves, over :data:`WAKE_LENGTHS`
times its length behind the stern (at most :data:`MAX_WAKE_M`):

* a turbulent wake along its track, :data:`TURBULENT_DB` (-3 dB) darker
  (damped capillary waves), as wide as the vessel at the stern and three
  times as wide at the end;
* the two arms of a Kelvin wake at +/-19.47 deg from the track,
  :data:`KELVIN_DB` (+2 dB) brighter, each :data:`ARM_WIDTH_M` wide or the
  vessel's width if wider.

Both fade linearly to nothing at the end of the wake. They multiply the
sea's mean linear sigma0 (VV and VH alike, water pixels only) before the
vessel's own power is added and before speckle; each pixel takes the mean
factor of its 4 x 4 samples.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from eoforge.synth.world.sampling import Window
from eoforge.synth.world.vessels import Vessel

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: Wake length in vessel lengths, and its cap in metres.
WAKE_LENGTHS = 6.0
MAX_WAKE_M = 2000.0
#: Change of the sea's sigma0 at the stern, dB: turbulent trail and Kelvin arms.
TURBULENT_DB = -3.0
KELVIN_DB = 2.0
#: Half-angle of the Kelvin wedge, degrees (arcsin(1/3)).
KELVIN_HALF_ANGLE = math.degrees(math.asin(1.0 / 3.0))
#: Narrowest Kelvin arm, metres.
ARM_WIDTH_M = 5.0
#: Samples per pixel along each axis.
SAMPLES = 4


def wake_length(vessel: Vessel) -> float:
    """Length of a vessel's wake behind the stern, metres."""
    return min(WAKE_LENGTHS * vessel.length, MAX_WAKE_M)


def wake_factor_at(vessel: Vessel, x: F64, y: F64) -> F64:
    """Multiplicative change of the sea's sigma0 at points.

    Args:
        vessel: The vessel (under way along its heading).
        x: Easting of the points in local metres (any shape broadcasting with ``y``).
        y: Southing of the points in local metres.

    Returns:
        float64 factors of the broadcast shape, 1 outside the wake.
    """
    rect = vessel.rect
    c, s = math.cos(rect.angle), math.sin(rect.angle)
    stern_x = rect.cx - c * rect.length / 2
    stern_y = rect.cy - s * rect.length / 2
    dx, dy = x - stern_x, y - stern_y
    behind = -(dx * c + dy * s)
    across = np.abs(-dx * s + dy * c)
    length = wake_length(vessel)
    on = (behind >= 0) & (behind <= length)
    fade = np.clip(1.0 - behind / length, 0.0, 1.0)
    half = 0.5 * rect.width * (1.0 + 2.0 * behind / length)
    turbulent = on & (across <= half)
    arm_half = 0.5 * max(ARM_WIDTH_M, rect.width)
    arm = on & (np.abs(across - behind * math.tan(math.radians(KELVIN_HALF_ANGLE))) <= arm_half)
    db = np.where(turbulent, TURBULENT_DB, np.where(arm, KELVIN_DB, 0.0)) * fade
    out: F64 = 10 ** (db / 10)
    return out


def _bounds(vessel: Vessel, gsd: float) -> tuple[int, int, int, int]:
    """Pixel range (row0, row1, col0, col1) holding a vessel's wake."""
    reach = (wake_length(vessel) + vessel.length + vessel.width + ARM_WIDTH_M) / gsd
    col, row = vessel.rect.cx / gsd, vessel.rect.cy / gsd
    return (
        math.floor(row - reach),
        math.ceil(row + reach),
        math.floor(col - reach),
        math.ceil(col + reach),
    )


def wake_factor(window: Window, vessels: tuple[Vessel, ...], water: B) -> F64:
    """Factor on the ground's linear sigma0 from the wakes of a date's vessels.

    A pixel's factor depends only on the vessels (taken in order), never on
    the window, so any block gives the same values.

    Args:
        window: Output window on the S1 grid.
        vessels: The date's vessels.
        water: Which pixels of the window are water, bool (H, W); others keep 1.

    Returns:
        float64 array (H, W), 1 away from wakes.
    """
    out = np.ones((window.height, window.width), dtype=np.float64)
    gsd = window.gsd
    for vessel in vessels:
        r0, r1, c0, c1 = _bounds(vessel, gsd)
        top, bottom = max(r0, window.row0), min(r1, window.row0 + window.height)
        left, right = max(c0, window.col0), min(c1, window.col0 + window.width)
        if top >= bottom or left >= right:
            continue
        step = gsd / SAMPLES
        x: F64 = (
            left * SAMPLES + np.arange((right - left) * SAMPLES, dtype=np.float64) + 0.5
        ) * step
        y: F64 = (
            top * SAMPLES + np.arange((bottom - top) * SAMPLES, dtype=np.float64) + 0.5
        ) * step
        samples = wake_factor_at(vessel, x[None, :], y[:, None])
        pixel = samples.reshape(bottom - top, SAMPLES, right - left, SAMPLES).mean(axis=(1, 3))
        rows = slice(top - window.row0, bottom - window.row0)
        cols = slice(left - window.col0, right - window.col0)
        out[rows, cols] *= np.where(water[rows, cols], pixel, 1.0)
    return out
