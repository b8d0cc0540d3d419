"""Oriented objects: ships on water, aircraft on the apron, vehicles on streets.

Each object is an oriented box (centre, length, width, angle) placed where the
ground has the right class at the first date: every corner of a ship (grown
by a margin) is water, every corner of an aircraft is airfield, every vehicle
centre is on a road.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from eoforge.synth.world import legend
from eoforge.synth.world.geometry import OrientedRect
from eoforge.synth.world.landcover import ground
from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import salt_of
from eoforge.synth.world.roads import lattice_point
from eoforge.synth.world.terrain import river_centre


@dataclass(frozen=True)
class SceneObject:
    """One labelled object.

    Attributes:
        label: Class name (DOTA style: ``ship``, ``plane``, ``small-vehicle``).
        rect: Oriented box in local metres.
    """

    label: str
    rect: OrientedRect


def _corners_have(
    layout: Layout, rect: OrientedRect, wanted: int, margin: float, n_dates: int
) -> bool:
    grown = OrientedRect(
        rect.cx, rect.cy, rect.length + 2 * margin, rect.width + 2 * margin, rect.angle
    )
    pts = np.vstack([grown.corners(), [[rect.cx, rect.cy]]])
    cls = ground(layout, pts[:, 0], pts[:, 1], 0, n_dates).cls
    return bool(np.all(cls == wanted))


def ships(layout: Layout, n_dates: int, margin: float) -> list[SceneObject]:
    """Ships moored in the harbour basin and sailing on the river."""
    rng = np.random.default_rng(salt_of(layout.seed, "ships"))
    basin = layout.harbour.basin
    out = []
    for k in range(int(rng.integers(3, 7))):
        length = float(rng.uniform(25.0, 80.0))
        along = basin.cx - basin.length / 2 + (k + 0.5) * basin.length / 6
        side = (1 if k % 2 else -1) * (basin.width / 2 - length / 12 - 12.0)
        rect = OrientedRect(along, basin.cy + side, length, length / 6, basin.angle)
        if _corners_have(layout, rect, legend.WATER, margin, n_dates):
            out.append(SceneObject("ship", rect))
    for y in rng.uniform(0.0, layout.height, size=40):
        cx, slope = river_centre(layout, np.array([y]))
        length = float(rng.uniform(20.0, 60.0))
        angle = math.atan2(1.0, float(slope[0]))
        rect = OrientedRect(float(cx[0]) + rng.uniform(-5, 5), float(y), length, length / 6, angle)
        if _corners_have(layout, rect, legend.WATER, margin, n_dates):
            out.append(SceneObject("ship", rect))
    return out


def aircraft(layout: Layout, n_dates: int) -> list[SceneObject]:
    """Aircraft parked in a row on the apron, nose towards the runway."""
    rng = np.random.default_rng(salt_of(layout.seed, "aircraft"))
    apron = layout.airfield.apron
    out = []
    count = int(rng.integers(4, 9))
    for k in range(count):
        length = float(rng.uniform(20.0, 45.0))
        t = (k + 0.5) / count - 0.5
        cx = apron.cx + t * apron.length * math.cos(apron.angle)
        cy = apron.cy + t * apron.length * math.sin(apron.angle)
        rect = OrientedRect(cx, cy, length, length * 0.95, apron.angle + math.pi / 2)
        if _corners_have(layout, rect, legend.AIRFIELD, 0.0, n_dates):
            out.append(SceneObject("plane", rect))
    return out


def vehicles(layout: Layout, n_dates: int, count: int = 120) -> list[SceneObject]:
    """Cars on streets and roads around the town centre."""
    rng = np.random.default_rng(salt_of(layout.seed, "vehicles"))
    grid = layout.roads
    tx, ty, radius = layout.town
    c, s = math.cos(grid.angle), math.sin(grid.angle)
    tu = tx * c + ty * s - grid.offset_u
    tv = -tx * s + ty * c - grid.offset_v
    lines = np.round(rng.uniform(-radius, radius, size=count) / grid.spacing) * grid.spacing
    along = rng.uniform(-radius, radius, size=count)
    lane = rng.choice([-2.0, 2.0], size=count)
    on_u = rng.random(count) < 0.5
    u = np.where(on_u, tu + lines + lane, tu + along)
    v = np.where(on_u, tv + along, tv + lines + lane)
    x, y = lattice_point(layout, u, v)
    cls = ground(layout, x, y, 0, n_dates).cls
    out = []
    for i in np.flatnonzero(cls == legend.ROAD):
        angle = grid.angle + (math.pi / 2 if on_u[i] else 0.0) + (math.pi if lane[i] < 0 else 0.0)
        out.append(
            SceneObject("small-vehicle", OrientedRect(float(x[i]), float(y[i]), 4.6, 1.9, angle))
        )
    return out


def all_objects(layout: Layout, n_dates: int) -> list[SceneObject]:
    """Every object of the scene, ships first."""
    return (
        ships(layout, n_dates, max(layout.gsd, 5.0))
        + aircraft(layout, n_dates)
        + vehicles(layout, n_dates)
    )
