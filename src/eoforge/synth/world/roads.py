"""The road network: a rotated lattice of major roads everywhere and streets in towns.

Major roads run along every ``major_every``-th lattice line across the whole
scene, so they always form one connected grid; streets run along every
lattice line where the ground is urban, and meet the major roads downtown
(the lattice is anchored on the town centre).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from eoforge.synth.world.layout import Layout

F64 = npt.NDArray[np.float64]


def road_frame(layout: Layout, x: F64, y: F64) -> tuple[F64, F64]:
    """Coordinates (metres) along the road lattice's two axes, zero on a major crossing.

    Args:
        layout: Scene plan.
        x: Easting in metres.
        y: Southing in metres.

    Returns:
        (u, v) arrays of the broadcast shape.
    """
    grid = layout.roads
    c, s = math.cos(grid.angle), math.sin(grid.angle)
    return x * c + y * s - grid.offset_u, -x * s + y * c - grid.offset_v


def _line_distance(t: F64, spacing: float, major_every: int) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Distance to the nearest lattice line and whether that line is a major road."""
    k = np.round(t / spacing)
    distance = np.abs(t - k * spacing)
    return distance, (k.astype(np.int64) % major_every) == 0


def road_masks(
    layout: Layout, x: F64, y: F64
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Where major roads and (potential) streets are.

    Args:
        layout: Scene plan.
        x: Easting in metres.
        y: Southing in metres.

    Returns:
        (major, street) boolean arrays; streets still need the urban test.
    """
    grid = layout.roads
    u, v = road_frame(layout, x, y)
    du, major_u = _line_distance(u, grid.spacing, grid.major_every)
    dv, major_v = _line_distance(v, grid.spacing, grid.major_every)
    half_major = grid.major_width / 2
    half_street = grid.street_width / 2
    major = (major_u & (du < half_major)) | (major_v & (dv < half_major))
    street = (du < half_street) | (dv < half_street)
    return major, street


def lattice_point(layout: Layout, u: F64, v: F64) -> tuple[F64, F64]:
    """Local (x, y) metres of points given in the road frame."""
    grid = layout.roads
    c, s = math.cos(grid.angle), math.sin(grid.angle)
    uu = u + grid.offset_u
    vv = v + grid.offset_v
    return uu * c - vv * s, uu * s + vv * c
