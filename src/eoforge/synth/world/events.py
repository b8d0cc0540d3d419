"""Change in the time series: clear-cut and flood events, and the change codes they leave.

New buildings and demolitions live with the buildings
(:mod:`eoforge.synth.world.buildings`); the events here are per-pixel
functions of position and date index. :func:`change_codes` labels every
change, those included, from the class maps of consecutive dates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from eoforge.synth.world import legend
from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import lattice_uniform, salt_of, value_noise
from eoforge.synth.world.terrain import river_distance

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]

CLEARCUT_CELL = 700.0
CLEARCUT_SHARE = 0.3


def flood_date(n_dates: int) -> int | None:
    """Date index of the flood (the middle date), or None for series under three dates."""
    return n_dates // 2 if n_dates >= 3 else None


def clearcut(layout: Layout, x: F64, y: F64, date_index: int, n_dates: int) -> B:
    """Where forest has been cleared by the given date.

    Each 700 m cell may hold one rectangular clear-cut made at a random date
    index after the first.

    Args:
        layout: Scene plan.
        x: Easting in metres.
        y: Southing in metres.
        date_index: Date index.
        n_dates: Number of dates.

    Returns:
        Boolean array of the broadcast shape (True: cleared, if it was forest).
    """
    shape = np.broadcast_shapes(x.shape, y.shape)
    if n_dates < 2 or date_index < 1:
        return np.zeros(shape, dtype=bool)
    ix = np.floor(x / CLEARCUT_CELL).astype(np.int64)
    iy = np.floor(y / CLEARCUT_CELL).astype(np.int64)

    def draw(k: int) -> F64:
        return lattice_uniform(salt_of(layout.seed, "clearcut", k), ix, iy)

    when = 1 + np.floor(draw(1) * (n_dates - 1))
    width = CLEARCUT_CELL * (0.2 + 0.35 * draw(2))
    height = CLEARCUT_CELL * (0.2 + 0.35 * draw(3))
    x0 = ix * CLEARCUT_CELL + (CLEARCUT_CELL - width) * draw(4)
    y0 = iy * CLEARCUT_CELL + (CLEARCUT_CELL - height) * draw(5)
    inside = (x >= x0) & (x < x0 + width) & (y >= y0) & (y < y0 + height)
    cut: B = inside & (draw(0) < CLEARCUT_SHARE) & (when <= date_index)
    return cut


def flooded(layout: Layout, x: F64, y: F64, date_index: int, n_dates: int) -> B:
    """Where the river has flooded the land at the given date.

    Args:
        layout: Scene plan.
        x: Easting in metres.
        y: Southing in metres.
        date_index: Date index.
        n_dates: Number of dates.

    Returns:
        Boolean array of the broadcast shape (True: under flood water, if floodable).
    """
    shape = np.broadcast_shapes(x.shape, y.shape)
    if flood_date(n_dates) != date_index:
        return np.zeros(shape, dtype=bool)
    distance, width = river_distance(layout, x, y)
    reach = 120.0 + 380.0 * value_noise(np.zeros_like(y), y, 2500.0, salt_of(layout.seed, "flood"))
    out: B = distance < width / 2 + reach
    return out


def change_codes(before: U8, after: U8) -> U8:
    """Change codes between the land-cover maps of two consecutive dates.

    Args:
        before: Class map of the earlier date, uint8, any shape.
        after: Class map of the later date, same shape.

    Returns:
        uint8 codes of :data:`~eoforge.synth.world.legend.CHANGES`, same shape.
    """
    out = np.full(after.shape, legend.CHANGE_NONE, dtype=np.uint8)
    out[(before == legend.WATER) & (after != legend.WATER)] = legend.CHANGE_FLOOD_RECESSION
    out[(before != legend.WATER) & (after == legend.WATER)] = legend.CHANGE_FLOODING
    out[(before == legend.FOREST) & (after == legend.BARE_SOIL)] = legend.CHANGE_DEFORESTATION
    out[(before == legend.BUILDING) & (after != legend.BUILDING)] = legend.CHANGE_DEMOLITION
    out[(before != legend.BUILDING) & (after == legend.BUILDING)] = legend.CHANGE_CONSTRUCTION
    return out
