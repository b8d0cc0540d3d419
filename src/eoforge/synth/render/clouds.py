"""Clouds and their shadows: a fractal opacity field per date and its displaced copy.

A cloud's shadow falls away from the sun, displaced by the cloud height times
the tangent of the solar zenith angle; the shadow at a point is therefore the
opacity of the cloud found by walking from that point towards the sun.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import fbm, salt_of, uniform_ints

F64 = npt.NDArray[np.float64]

CLOUD_SCALE = 2500.0
EDGE = 0.12


@dataclass(frozen=True)
class CloudDeck:
    """The clouds of one acquisition.

    Attributes:
        salt: Noise stream of the opacity field.
        threshold: Noise value at which opacity starts to rise (inf: clear sky).
        coverage: Target share of the scene under cloud (opacity > 0.5).
        height: Cloud base height, metres.
        shift_x: Offset (metres, east) from a ground point to the cloud shading it.
        shift_y: Offset (metres, south) from a ground point to the cloud shading it.
    """

    salt: int
    threshold: float
    coverage: float
    height: float
    shift_x: float
    shift_y: float


def _noise(salt: int, x: F64, y: F64) -> F64:
    return fbm(x, y, CLOUD_SCALE, salt, octaves=5, gain=0.55)


def make_deck(
    layout: Layout, stream: str, date_index: int, mean_cover: float, zenith: float, azimuth: float
) -> CloudDeck:
    """Draw one date's clouds: its cover varies around ``mean_cover`` from date to date.

    Args:
        layout: Scene plan.
        stream: Sensor name, so different sensors see different clouds.
        date_index: Date index.
        mean_cover: Mean cloud cover over dates, 0-1.
        zenith: Solar zenith angle, degrees.
        azimuth: Solar azimuth, degrees clockwise from north.

    Returns:
        The date's :class:`CloudDeck`.
    """
    salt = salt_of(layout.seed, "clouds", stream, date_index)
    draws = uniform_ints(salt, np.arange(3), np.zeros(3, dtype=np.int64))
    cover = float(np.clip(mean_cover * (0.4 + 1.2 * draws[0]), 0.0, 0.9)) if mean_cover > 0 else 0.0
    height = 800.0 + 2200.0 * float(draws[1])
    reach = height * math.tan(math.radians(zenith))
    az = math.radians(azimuth)
    if cover <= 0.0:
        threshold = math.inf
    else:
        n = 64
        x = ((np.arange(n) + 0.5) * layout.width / n)[None, :]
        y = ((np.arange(n) + 0.5) * layout.height / n)[:, None]
        threshold = float(np.quantile(_noise(salt, x, y), 1.0 - cover)) - EDGE / 2
    return CloudDeck(salt, threshold, cover, height, reach * math.sin(az), -reach * math.cos(az))


def opacity(deck: CloudDeck, x: F64, y: F64) -> F64:
    """Cloud opacity in [0, 1] at points (metres)."""
    shape = np.broadcast_shapes(x.shape, y.shape)
    if not math.isfinite(deck.threshold):
        return np.zeros(shape, dtype=np.float64)
    t = np.clip((_noise(deck.salt, x, y) - deck.threshold) / EDGE, 0.0, 1.0)
    out: F64 = t * t * (3.0 - 2.0 * t)
    return out


def shadow(deck: CloudDeck, x: F64, y: F64) -> F64:
    """Opacity of the cloud between each point and the sun, in [0, 1]."""
    return opacity(deck, x + deck.shift_x, y + deck.shift_y)
