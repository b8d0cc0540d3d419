"""Pixels covered by an oriented box, to check that augmented boxes follow their pixels."""

from __future__ import annotations

import numpy as np

from eoforge.predict.detections import corners


def oriented_mask(height: int, width: int, box: list[float]) -> np.ndarray:
    """``[height, width]`` bool: pixels whose centres lie inside the oriented box.

    Args:
        height: Image rows.
        width: Image columns.
        box: ``(cx, cy, w, h, angle)`` in pixels and radians (eoforge's convention).
    """
    pts = corners(np.array([box], dtype=np.float64))[0]
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    inside = np.ones((height, width), bool)
    for k in range(4):
        (ax, ay), (bx, by) = pts[k], pts[(k + 1) % 4]
        inside &= (bx - ax) * (ys - ay) - (by - ay) * (xs - ax) >= 0
    return inside
