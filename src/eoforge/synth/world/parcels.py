"""Arable fields: a rotated brick pattern of rectangles, each with a crop type.

A field is identified by its (row, col) in the pattern; all its properties are
hashed from that pair, so the per-pixel map and the field polygons agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.synth.world import legend
from eoforge.synth.world.geometry import OrientedRect
from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import salt_of, uniform_ints
from eoforge.synth.world.zones import agri_noise, urban_potential

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Crop types and their cumulative probabilities.
_CROP_CUMULATIVE = (
    (legend.WHEAT, 0.35),
    (legend.RAPESEED, 0.55),
    (legend.SUNFLOWER, 0.75),
    (legend.MAIZE, 1.0),
)


@dataclass(frozen=True)
class FieldCells:
    """Position of points inside the field pattern.

    Attributes:
        row: Row index of the field.
        col: Column index of the field within its row.
        along: Distance from the field's start along the row, metres.
        across: Distance from the row's start across it, metres.
        length: Length of the fields of that row, metres.
        shift: Offset of that row's brick pattern, metres.
        u_min: Smallest along-row coordinate among the points, metres.
    """

    row: I64
    col: I64
    along: F64
    across: F64
    length: F64
    shift: F64
    u_min: float

    def local_col(self) -> I64:
        """Column counted from the first field of its row that the points reach.

        Column numbers grow with the distance from the origin at a rate that
        differs per row, so the (row, col) pairs of a block span a box as wide
        as the whole scene, while (row, local column) pairs stay block-sized.
        """
        out: I64 = self.col - first_col(self.u_min, self.length, self.shift)
        return out


def first_col(u_min: float, length: F64, shift: F64) -> I64:
    """Column of the field at along-row coordinate ``u_min`` in rows of given length and shift."""
    out: I64 = np.floor((u_min + shift) / length).astype(np.int64)
    return out


@dataclass(frozen=True)
class FieldParams:
    """Properties of fields given by (row, col) arrays.

    Attributes:
        exists: Whether the field is cropland (its centre lies in arable land).
        crop: Crop type code (:data:`eoforge.synth.world.legend.CROP_TYPES`).
        patch: Per-field random value in [0, 1) for within-class variability.
        cx: Centre x, metres.
        cy: Centre y, metres.
        length: Length along the row, metres.
    """

    exists: npt.NDArray[np.bool_]
    crop: npt.NDArray[np.uint8]
    patch: F64
    cx: F64
    cy: F64
    length: F64


def row_geometry(layout: Layout, row: I64) -> tuple[F64, F64]:
    """Field length and brick shift (metres) of rows."""
    grid = layout.fields
    salt = salt_of(layout.seed, "fields.row")
    length = grid.min_length + (grid.max_length - grid.min_length) * uniform_ints(
        salt, row, np.zeros_like(row)
    )
    shift = length * uniform_ints(salt, row, np.ones_like(row))
    return length, shift


def locate(layout: Layout, x: F64, y: F64) -> FieldCells:
    """Which field each point falls in, and where inside it.

    Args:
        layout: Scene plan.
        x: Easting in metres.
        y: Southing in metres.

    Returns:
        :class:`FieldCells` with arrays of the broadcast shape.
    """
    grid = layout.fields
    c, s = math.cos(grid.angle), math.sin(grid.angle)
    u = x * c + y * s
    v = -x * s + y * c
    row = np.floor(v / grid.row_height).astype(np.int64)
    length, shift = row_geometry(layout, row)
    shifted = u + shift
    col = np.floor(shifted / length).astype(np.int64)
    return FieldCells(
        row=row,
        col=col,
        along=shifted - col * length,
        across=v - row * grid.row_height,
        length=length,
        shift=shift,
        u_min=float(u.min()),
    )


def params(layout: Layout, row: I64, col: I64) -> FieldParams:
    """Properties of the fields (row, col).

    Args:
        layout: Scene plan (calibrated).
        row: Row indices (1-D).
        col: Column indices (same shape).

    Returns:
        :class:`FieldParams` of the same shape.
    """
    grid = layout.fields
    length, shift = row_geometry(layout, row)
    u = (col + 0.5) * length - shift
    v = (row + 0.5) * grid.row_height
    c, s = math.cos(grid.angle), math.sin(grid.angle)
    cx = u * c - v * s
    cy = u * s + v * c
    runway = layout.airfield.runway
    exists = (
        (agri_noise(layout, cx, cy) > layout.thresholds["agri"])
        & (urban_potential(layout, cx, cy) < 0.45)
        & (np.hypot(cx - runway.cx, cy - runway.cy) > layout.airfield.zone_radius)
    )
    salt = salt_of(layout.seed, "fields.crop")
    draw = uniform_ints(salt, col, row, 0)
    crop = np.full(row.shape, legend.MAIZE, dtype=np.uint8)
    for code, cumulative in reversed(_CROP_CUMULATIVE):
        crop[draw < cumulative] = code
    return FieldParams(
        exists=exists,
        crop=crop,
        patch=uniform_ints(salt, col, row, 1),
        cx=cx,
        cy=cy,
        length=length,
    )


def field_rect(layout: Layout, fields: FieldParams, index: int) -> OrientedRect:
    """The cropped part (inside the grass margin) of one field as a rectangle.

    Args:
        layout: Scene plan.
        fields: Field properties.
        index: Position in the arrays of ``fields``.

    Returns:
        The field's cropped rectangle in local metres.
    """
    grid = layout.fields
    return OrientedRect(
        float(fields.cx[index]),
        float(fields.cy[index]),
        float(fields.length[index]) - 2 * grid.margin,
        grid.row_height - 2 * grid.margin,
        grid.angle,
    )
