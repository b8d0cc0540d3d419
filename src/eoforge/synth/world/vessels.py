"""Vessels on open water for the Sentinel-1 images: where they are, how long, which heading.

Each date has its own fleet (vessels move between acquisitions): it is drawn
from a generator seeded by (scene seed, ``"vessels"``, date index), so the
same seed gives the same fleet. A candidate vessel draws a length from a
truncated power law (many small, few large), a width of a sixth of its
length, a uniform heading and a uniform centre; it is kept when every
base-grid pixel within :data:`SHORE_PIXELS` pixels of its footprint is
permanent water (lake, river or harbour basin, never flood water) on its
date, the grown footprint lies inside the scene, and it keeps
:data:`SEPARATION_PIXELS` pixels from every vessel already placed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.synth.world import legend
from eoforge.synth.world.geometry import OrientedRect
from eoforge.synth.world.landcover import ground
from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import salt_of

F64 = npt.NDArray[np.float64]

#: Shortest and longest vessel, metres.
MIN_LENGTH = 15.0
MAX_LENGTH = 300.0
#: Width as a share of length.
WIDTH_RATIO = 1.0 / 6.0
#: Clear water around a vessel's footprint, in base-grid pixels.
SHORE_PIXELS = 3
#: Gap between the bounding circles of two vessels, in base-grid pixels.
SEPARATION_PIXELS = 3
#: Candidates drawn at once, and the most draws per vessel asked for.
BATCH = 256
TRIES_PER_VESSEL = 2000


@dataclass(frozen=True)
class Vessel:
    """One vessel at one date.

    Attributes:
        rect: Footprint in local metres (x east, y south from the scene's upper-left
            corner); its ``length`` side points along the heading.
        heading_deg: Course of the bow, degrees clockwise from north (grid north), [0, 360).
    """

    rect: OrientedRect
    heading_deg: float

    @property
    def length(self) -> float:
        """Length overall, metres."""
        return self.rect.length

    @property
    def width(self) -> float:
        """Beam, metres."""
        return self.rect.width


def length_quantile(u: F64) -> F64:
    """Vessel length at cumulative probability ``u`` of the length distribution.

    The density is proportional to ``L**-2`` on [:data:`MIN_LENGTH`,
    :data:`MAX_LENGTH`] (a Pareto law of index 1, truncated): the median is
    28.6 m, the mean 47 m, and one vessel in ten is longer than 103 m.

    Args:
        u: Probabilities in [0, 1], any shape.

    Returns:
        Lengths in metres, same shape (float64).
    """
    lo, hi = 1.0 / MIN_LENGTH, 1.0 / MAX_LENGTH
    out: F64 = 1.0 / (lo - np.asarray(u, dtype=np.float64) * (lo - hi))
    return out


def local_angle(heading_deg: float) -> float:
    """Direction of the bow in the local frame (radians from +x towards +y, y south)."""
    return math.radians(heading_deg - 90.0)


def _on_open_water(layout: Layout, rect: OrientedRect, date_index: int, n_dates: int) -> bool:
    """Whether every base pixel near the footprint is permanent water and inside the scene."""
    gsd = layout.gsd
    # Pixel centres within the margin plus half a pixel diagonal cover every touched pixel.
    reach = SHORE_PIXELS * gsd + gsd / math.sqrt(2.0)
    extent = rect.radius() + reach
    c0, c1 = math.floor((rect.cx - extent) / gsd), math.ceil((rect.cx + extent) / gsd)
    r0, r1 = math.floor((rect.cy - extent) / gsd), math.ceil((rect.cy + extent) / gsd)
    if c0 < 0 or r0 < 0 or c1 * gsd > layout.width or r1 * gsd > layout.height:
        return False
    x: F64 = ((np.arange(c0, c1, dtype=np.float64) + 0.5) * gsd)[None, :]
    y: F64 = ((np.arange(r0, r1, dtype=np.float64) + 0.5) * gsd)[:, None]
    near = rect.contains(x, y, margin=reach)
    for t, n in ((date_index, n_dates), (0, 1)):
        cls = ground(layout, x, y, t, n).cls
        if not np.all(cls[near] == legend.WATER):
            return False
    return True


def place_vessels(layout: Layout, date_index: int, n_dates: int, count: int) -> list[Vessel]:
    """Draw the fleet of one date.

    Candidates are drawn in batches of :data:`BATCH` (length, heading, centre);
    a candidate whose centre is not water is skipped at once, the others are
    checked in order (open water, spacing). Long vessels fit less often, so
    the placed lengths are somewhat shorter than :func:`length_quantile`'s law.
    Drawing stops after ``count * TRIES_PER_VESSEL`` candidates: a scene with
    too little water gets fewer vessels than asked.

    Args:
        layout: Calibrated scene plan.
        date_index: Date index (seeds the fleet; water is checked on that date).
        n_dates: Number of dates in the series.
        count: Vessels wanted.

    Returns:
        Up to ``count`` vessels, in the order they were placed.
    """
    rng = np.random.default_rng(salt_of(layout.seed, "vessels", date_index))
    separation = SEPARATION_PIXELS * layout.gsd
    placed: list[Vessel] = []
    drawn = 0
    while len(placed) < count and drawn < count * TRIES_PER_VESSEL:
        length = length_quantile(rng.random(BATCH))
        heading = rng.uniform(0.0, 360.0, BATCH)
        cx = rng.uniform(0.0, layout.width, BATCH)
        cy = rng.uniform(0.0, layout.height, BATCH)
        drawn += BATCH
        wet = ground(layout, cx, cy, 0, 1).cls == legend.WATER
        for i in np.flatnonzero(wet):
            rect = OrientedRect(
                float(cx[i]),
                float(cy[i]),
                float(length[i]),
                float(length[i]) * WIDTH_RATIO,
                local_angle(float(heading[i])),
            )
            if any(
                math.hypot(rect.cx - v.rect.cx, rect.cy - v.rect.cy)
                < rect.radius() + v.rect.radius() + separation
                for v in placed
            ):
                continue
            if _on_open_water(layout, rect, date_index, n_dates):
                placed.append(Vessel(rect, float(heading[i])))
                if len(placed) == count:
                    break
    return placed


def fleets(layout: Layout, n_dates: int, count: int) -> tuple[tuple[Vessel, ...], ...]:
    """The fleet of every date (empty tuples when ``count`` is 0).

    Args:
        layout: Calibrated scene plan.
        n_dates: Number of dates.
        count: Vessels wanted per date.

    Returns:
        One tuple of vessels per date.
    """
    if count <= 0:
        return tuple(() for _ in range(n_dates))
    return tuple(tuple(place_vessels(layout, t, n_dates, count)) for t in range(n_dates))
