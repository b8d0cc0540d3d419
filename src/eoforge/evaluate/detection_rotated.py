"""Intersection over union of box pairs: axis-aligned boxes, and oriented boxes as polygons.

Boxes follow the shared pixel convention (x = column, y = row, origin at the
top-left corner of the top-left pixel, on pixel edges, so a box's area is
``(xmax - xmin) * (ymax - ymin)`` with no ``+1``). Oriented boxes are
``(cx, cy, w, h, angle)``: ``angle`` in radians, counter-clockwise as displayed
(rows growing downwards) from the image x axis to the ``w`` side, which runs
along ``(cos a, -sin a)``; their IoU is that of the rotated rectangles, computed
by shapely on the four corners, vectorised over the pairs whose envelopes meet.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

FloatArray = npt.NDArray[np.float64]


def oriented_corners(boxes: FloatArray) -> FloatArray:
    """Corners of oriented boxes, in the order of the shared convention.

    Args:
        boxes: ``[N, 5]`` ``(cx, cy, w, h, angle)``, pixels and radians.

    Returns:
        ``[N, 4, 2]`` corners ``(x, y)`` in pixels: ``c - u - v, c + u - v, c + u + v,
        c - u + v`` with ``u = (cos a, -sin a) * w / 2`` and ``v = (sin a, cos a) * h / 2``.
    """
    cx, cy, w, h, angle = np.asarray(boxes, dtype=np.float64).reshape(-1, 5).T
    u = np.stack([np.cos(angle), -np.sin(angle)], axis=1) * (w / 2)[:, None]
    v = np.stack([np.sin(angle), np.cos(angle)], axis=1) * (h / 2)[:, None]
    c = np.stack([cx, cy], axis=1)
    return np.stack([c - u - v, c + u - v, c + u + v, c - u + v], axis=1)


def _union_ratio(inter: FloatArray, area_a: FloatArray, area_b: FloatArray) -> FloatArray:
    """``inter / (area_a + area_b - inter)``, 0 where the union is empty; ``[N, M]``."""
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def axis_aligned_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of every pair of axis-aligned boxes.

    Args:
        a: ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` in pixels.
        b: ``[M, 4]`` likewise.

    Returns:
        ``[N, M]`` intersection over union in 0..1 (0 for pairs of empty boxes).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    return _union_ratio(inter, area_a, area_b)


def rotated_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of every pair of oriented boxes, as the overlap of their rotated rectangles.

    Args:
        a: ``[N, 5]`` ``(cx, cy, w, h, angle)``, pixels and radians.
        b: ``[M, 5]`` likewise.

    Returns:
        ``[N, M]`` intersection over union of the polygons, in 0..1.
    """
    corners_a = oriented_corners(a)
    corners_b = oriented_corners(b)
    inter = np.zeros((len(corners_a), len(corners_b)))
    if inter.size == 0:
        return inter
    low_a, high_a = corners_a.min(axis=1), corners_a.max(axis=1)
    low_b, high_b = corners_b.min(axis=1), corners_b.max(axis=1)
    # Only pairs whose envelopes overlap can intersect: the polygon work is done for those.
    meet = np.all(
        (np.minimum(high_a[:, None], high_b[None]) > np.maximum(low_a[:, None], low_b[None])),
        axis=2,
    )
    rows, cols = np.nonzero(meet)
    polygons_a: npt.NDArray[np.object_] = np.asarray(shapely.polygons(corners_a))
    polygons_b: npt.NDArray[np.object_] = np.asarray(shapely.polygons(corners_b))
    if rows.size:
        overlap = shapely.intersection(polygons_a[rows], polygons_b[cols])
        inter[rows, cols] = shapely.area(overlap)
    area_a: FloatArray = np.asarray(shapely.area(polygons_a), dtype=np.float64)
    area_b: FloatArray = np.asarray(shapely.area(polygons_b), dtype=np.float64)
    return _union_ratio(inter, area_a, area_b)


def pairwise_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of every pair: axis-aligned for ``[*, 4]`` boxes, rotated polygons for ``[*, 5]``.

    Args:
        a: ``[N, 4]`` or ``[N, 5]`` boxes in pixels (radians for the angle).
        b: ``[M, 4]`` or ``[M, 5]``, the same width as ``a``.

    Returns:
        ``[N, M]`` intersection over union in 0..1.

    Raises:
        ValueError: The boxes are not both 4 or both 5 wide.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or a.shape[1] not in (4, 5):
        raise ValueError(f"boxes of shapes {a.shape} and {b.shape}: expected [N, 4] or [N, 5]")
    return axis_aligned_iou(a, b) if a.shape[1] == 4 else rotated_iou(a, b)
