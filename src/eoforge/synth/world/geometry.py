"""Oriented rectangles on the scene's local frame, the shape of every built object.

The local frame has x to the east and y to the south, in metres from the
scene's upper-left corner. Angles are radians from +x towards +y.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class OrientedRect:
    """A rectangle of given length (along ``angle``) and width, centred at (cx, cy).

    Attributes:
        cx: Centre x in metres.
        cy: Centre y in metres.
        length: Side along the direction ``angle``, metres.
        width: Side across it, metres.
        angle: Direction of the length side, radians from +x towards +y.
    """

    cx: float
    cy: float
    length: float
    width: float
    angle: float

    def local(self, x: F64, y: F64) -> tuple[F64, F64]:
        """Coordinates (along, across) of points relative to the rectangle's axes.

        Args:
            x: Easting in metres (any broadcastable shape).
            y: Southing in metres.

        Returns:
            Two arrays of the broadcast shape, in metres.
        """
        c, s = math.cos(self.angle), math.sin(self.angle)
        dx = x - self.cx
        dy = y - self.cy
        return dx * c + dy * s, -dx * s + dy * c

    def contains(self, x: F64, y: F64, margin: float = 0.0) -> npt.NDArray[np.bool_]:
        """Whether points lie inside the rectangle grown by ``margin`` metres.

        Args:
            x: Easting in metres.
            y: Southing in metres.
            margin: Growth on every side, metres (negative shrinks).

        Returns:
            Boolean array of the broadcast shape.
        """
        u, v = self.local(x, y)
        inside: npt.NDArray[np.bool_] = (np.abs(u) <= self.length / 2 + margin) & (
            np.abs(v) <= self.width / 2 + margin
        )
        return inside

    def corners(self) -> F64:
        """The four corners, shape (4, 2) as (x, y), in order around the rectangle."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        hl, hw = self.length / 2, self.width / 2
        local = np.array([[-hl, -hw], [hl, -hw], [hl, hw], [-hl, hw]])
        rot = np.array([[c, s], [-s, c]])
        corners: F64 = local @ rot + np.array([self.cx, self.cy])
        return corners

    def radius(self) -> float:
        """Half the diagonal, metres."""
        return 0.5 * math.hypot(self.length, self.width)
