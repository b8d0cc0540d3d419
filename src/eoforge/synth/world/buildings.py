"""Buildings: up to four per street block, each a rectangle aligned with the streets.

A building is identified by (block_u, block_v, lot); its footprint, height,
roof and life span (built or demolished during the time series) are hashed
from that triple, so the class map, the nDSM and the polygons agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import salt_of, uniform_ints
from eoforge.synth.world.roads import lattice_point, road_frame
from eoforge.synth.world.terrain import river_distance
from eoforge.synth.world.unique_keys import distinct
from eoforge.synth.world.zones import lake_noise, urban_potential

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Share of buildings built during the series, and share demolished.
BUILT_SHARE = 0.07
DEMOLISHED_SHARE = 0.05
NEVER = 10_000


@dataclass(frozen=True)
class Lots:
    """Buildings given by arrays of (block_u, block_v, lot) identifiers.

    Attributes:
        exists: Whether the lot holds a building at some date.
        u0: Footprint start along the road frame's u axis, metres.
        u1: Footprint end along u, metres.
        v0: Footprint start along v, metres.
        v1: Footprint end along v, metres.
        height: Building height, metres.
        roof: Per-building random value in [0, 1) (roof material and brightness).
        built: First date index at which the building stands (0 = before the series).
        demolished: First date index at which it is gone (:data:`NEVER` if never).
    """

    exists: B
    u0: F64
    u1: F64
    v0: F64
    v1: F64
    height: F64
    roof: F64
    built: I64
    demolished: I64

    def standing(self, date_index: int) -> B:
        """Whether each building stands at the given date index."""
        ok: B = self.exists & (self.built <= date_index) & (self.demolished > date_index)
        return ok


def block_ok(layout: Layout, bu: I64, bv: I64) -> tuple[B, F64]:
    """Whether blocks may hold buildings, and their urban potential.

    A block is built up when its centre is urban and no part of it is near
    water, the harbour or the airfield.

    Args:
        layout: Scene plan (calibrated).
        bu: Block indices along u.
        bv: Block indices along v.

    Returns:
        (ok, potential) arrays of the input shape.
    """
    sp = layout.roads.spacing
    cx, cy = lattice_point(
        layout, ((bu + 0.5) * sp).astype(np.float64), ((bv + 0.5) * sp).astype(np.float64)
    )
    potential = urban_potential(layout, cx, cy)
    ok = potential > 0.55
    # The remaining tests are costly on points: run them on urban blocks only.
    sel = np.flatnonzero(ok)
    if sel.size:
        ok[sel] = _clear_of_water_and_airfield(
            layout, bu.ravel()[sel], bv.ravel()[sel], cx.ravel()[sel], cy.ravel()[sel]
        )
    return ok, potential


_BLOCK_PROBES = (
    (0.0, 0.0),
    (0.0, 1.0),
    (1.0, 0.0),
    (1.0, 1.0),
    (0.5, 0.0),
    (0.0, 0.5),
    (1.0, 0.5),
    (0.5, 1.0),
)


def _clear_of_water_and_airfield(layout: Layout, bu: I64, bv: I64, cx: F64, cy: F64) -> B:
    """Whether blocks (1-D arrays) keep clear of the river, lakes, harbour and airfield."""
    sp = layout.roads.spacing
    distance, width = river_distance(layout, cx, cy)
    runway = layout.airfield.runway
    ok = distance > width / 2 + sp
    ok &= np.hypot(cx - runway.cx, cy - runway.cy) > layout.airfield.zone_radius
    ok &= ~layout.harbour.quay.contains(cx, cy, margin=sp)
    for du, dv in _BLOCK_PROBES:
        px, py = lattice_point(
            layout, ((bu + du) * sp).astype(np.float64), ((bv + dv) * sp).astype(np.float64)
        )
        ok &= lake_noise(layout, px, py) < layout.thresholds["lake"] - 0.02
    out: B = ok
    return out


def lots(layout: Layout, bu: I64, bv: I64, lot: I64, n_dates: int) -> Lots:
    """Properties of the buildings (bu, bv, lot).

    Args:
        layout: Scene plan (calibrated).
        bu: Block indices along u (1-D).
        bv: Block indices along v.
        lot: Lot index 0..3 inside the block (bit 0: upper half in u, bit 1: in v).
        n_dates: Number of dates of the series.

    Returns:
        :class:`Lots` of the input shape.
    """
    grid = layout.roads
    sp = grid.spacing
    ok, potential = block_ok(layout, bu, bv)
    salt = salt_of(layout.seed, "buildings")
    key = bu * 4 + lot

    def draw(k: int) -> F64:
        return uniform_ints(salt, key, bv, k)

    inset = grid.street_width / 2 + 4.0
    half = sp / 2
    lu = (lot & 1).astype(np.float64)
    lv = (lot >> 1).astype(np.float64)
    # Usable part of the lot: set back from the street on the outer side.
    start_u = bu * sp + lu * half + np.where(lu == 0, inset, 2.0)
    start_v = bv * sp + lv * half + np.where(lv == 0, inset, 2.0)
    usable = half - inset - 2.0
    size_u = usable * (0.45 + 0.5 * draw(1))
    size_v = usable * (0.45 + 0.5 * draw(2))
    u0 = start_u + (usable - size_u) * draw(3)
    v0 = start_v + (usable - size_v) * draw(4)
    density = np.clip(0.35 + 0.6 * potential, 0.0, 0.95)
    exists = ok & (draw(0) < density)
    height = 3.5 + (5.0 + 28.0 * np.clip(potential, 0.0, 1.0) ** 3) * draw(5)
    fate = draw(6)
    when = 1 + np.floor(draw(7) * max(n_dates - 1, 1)).astype(np.int64)
    changes = n_dates > 1
    built = np.where(changes & (fate < BUILT_SHARE), when, 0)
    demolished = np.where(changes & (fate > 1.0 - DEMOLISHED_SHARE), when, NEVER)
    return Lots(exists, u0, u0 + size_u, v0, v0 + size_v, height, draw(8), built, demolished)


def corners(layout: Layout, found: Lots, index: int) -> list[tuple[float, float]]:
    """The four footprint corners (local metres) of one building, in ring order."""
    us = (found.u0[index], found.u1[index], found.u1[index], found.u0[index])
    vs = (found.v0[index], found.v0[index], found.v1[index], found.v1[index])
    x, y = lattice_point(layout, np.array(us, dtype=np.float64), np.array(vs, dtype=np.float64))
    return [(float(a), float(b)) for a, b in zip(x, y, strict=True)]


@dataclass(frozen=True)
class BuildingRaster:
    """Per-pixel building state.

    Attributes:
        footprint: Inside a footprint that ever exists.
        standing: Inside a building standing at the date.
        height: Height of the building (0 outside), metres.
        roof: Roof random value (0 outside).
    """

    footprint: B
    standing: B
    height: F64
    roof: F64


def rasterize(layout: Layout, x: F64, y: F64, date_index: int, n_dates: int) -> BuildingRaster:
    """Building state at points (evaluated at the exact point, e.g. pixel centres).

    Args:
        layout: Scene plan (calibrated).
        x: Easting in metres.
        y: Southing in metres.
        date_index: Date index in the series.
        n_dates: Number of dates.

    Returns:
        :class:`BuildingRaster` with arrays of the broadcast shape.
    """
    sp = layout.roads.spacing
    u, v = road_frame(layout, x, y)
    bu = np.floor(u / sp).astype(np.int64)
    bv = np.floor(v / sp).astype(np.int64)
    lot = (((u - bu * sp) >= sp / 2).astype(np.int64)) | (
        ((v - bv * sp) >= sp / 2).astype(np.int64) << 1
    )
    (ubu, ubv, ulot), inverse = distinct(bu, bv, lot)
    found = lots(layout, ubu, ubv, ulot, n_dates)
    inside = (
        (u >= found.u0[inverse])
        & (u < found.u1[inverse])
        & (v >= found.v0[inverse])
        & (v < found.v1[inverse])
    )
    footprint = inside & found.exists[inverse]
    standing = inside & found.standing(date_index)[inverse]
    return BuildingRaster(
        footprint=footprint,
        standing=standing,
        height=np.where(footprint, found.height[inverse], 0.0),
        roof=np.where(footprint, found.roof[inverse], 0.0),
    )


def angle(layout: Layout) -> float:
    """Orientation of all footprints (radians, local frame)."""
    return float(math.atan2(math.sin(layout.roads.angle), math.cos(layout.roads.angle)))
