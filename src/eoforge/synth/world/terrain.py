"""Terrain height and river geometry, as functions of position (metres)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import fbm, salt_of, value_noise

F64 = npt.NDArray[np.float64]

VALLEY_DEPTH = 25.0
VALLEY_WIDTH = 900.0


def river_centre(layout: Layout, y: F64) -> tuple[F64, F64]:
    """River centre-line x and its slope dx/dy at southing ``y``.

    Args:
        layout: Scene plan.
        y: Southing in metres (any shape).

    Returns:
        (x, dx/dy), arrays shaped like ``y``.
    """
    river = layout.river
    x = np.full(y.shape, river.x0, dtype=np.float64)
    slope = np.zeros(y.shape, dtype=np.float64)
    for a, w, p in zip(river.amplitudes, river.wavelengths, river.phases, strict=True):
        k = 2 * np.pi / w
        x = x + a * np.sin(k * y + p)
        slope = slope + a * k * np.cos(k * y + p)
    return x, slope


def river_distance(layout: Layout, x: F64, y: F64) -> tuple[F64, F64]:
    """Distance to the river centre-line and the local river width.

    Args:
        layout: Scene plan.
        x: Easting in metres (grid axis or points).
        y: Southing in metres.

    Returns:
        (distance, width) in metres, broadcast shape. The distance is the
        horizontal offset corrected for the centre-line's slope.
    """
    cx, slope = river_centre(layout, y)
    distance = np.abs(x - cx) / np.sqrt(1.0 + slope * slope)
    salt = salt_of(layout.seed, "river.width")
    width = layout.river.width * (0.75 + 0.5 * value_noise(np.zeros_like(y), y, 1500.0, salt))
    return distance, np.broadcast_to(width, distance.shape)


def elevation(layout: Layout, x: F64, y: F64) -> F64:
    """Bare-earth terrain height in metres above sea level.

    Rolling hills from fractal noise, with the river running in a valley.

    Args:
        layout: Scene plan.
        x: Easting in metres.
        y: Southing in metres.

    Returns:
        Heights in metres, broadcast shape.
    """
    hills = 90.0 * fbm(x, y, 9000.0, salt_of(layout.seed, "terrain.hills"), octaves=5)
    relief = 12.0 * fbm(x, y, 1200.0, salt_of(layout.seed, "terrain.relief"), octaves=3)
    distance, _ = river_distance(layout, x, y)
    valley = VALLEY_DEPTH * np.exp(-((distance / VALLEY_WIDTH) ** 2))
    height: F64 = 190.0 + hills + relief * (1.0 - np.exp(-distance / 300.0)) - valley
    return height
