"""Intersection over union of horizontal and oriented boxes, exact and vectorised.

Oriented boxes are intersected by Sutherland–Hodgman clipping: one box's corner ring
(the subject) is clipped in turn by the four half-planes of the other (the clip ring),
for all pairs at once. Clipping a convex polygon by a half-plane adds at most one
vertex, so the intersection of two quadrilaterals has at most 8 vertices; polygons live
in fixed-size arrays with a vertex count, and each clipping step emits, per vertex, the
vertex itself (when inside) and the crossing with the next edge (when the edge leaves or
enters the half-plane), then packs the emitted points to the front in order. The area
is the shoelace sum. Only pairs whose envelopes overlap are clipped.
"""

from __future__ import annotations

import torch
from torch import Tensor

from eoforge.boxes.convert import _check, oriented_to_corners, oriented_to_xyxy

_SLOTS = 10
"""Vertex slots per clipped polygon: at most 8 are needed, 2 spare absorb rounding."""

_CHUNK = 1 << 16
"""Pairs clipped at once (bounds memory: about 3 kB per pair in float64)."""


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of every pair of horizontal boxes.

    Args:
        a: ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` in pixels.
        b: ``[M, 4]`` likewise.

    Returns:
        ``[N, M]`` intersection over union in ``[0, 1]``; 0 where the union is empty.
    """
    _check(a, 4, "a")
    _check(b, 4, "b")
    area_a = (a[:, 2] - a[:, 0]).clamp_min(0) * (a[:, 3] - a[:, 1]).clamp_min(0)
    area_b = (b[:, 2] - b[:, 0]).clamp_min(0) * (b[:, 3] - b[:, 1]).clamp_min(0)
    low = torch.maximum(a[:, None, :2], b[None, :, :2])
    high = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    size = (high - low).clamp_min(0)
    inter = size[..., 0] * size[..., 1]
    return _ratio(inter, area_a[:, None] + area_b[None, :] - inter)


def _ratio(inter: Tensor, union: Tensor) -> Tensor:
    positive = union > 0
    return torch.where(positive, inter / torch.where(positive, union, 1), 0)


def _rings(boxes: Tensor) -> Tensor:
    """Positively oriented corner rings ``[N, 4, 2]`` (sizes taken as absolute values)."""
    sizes = boxes[:, 2:4].abs()
    return oriented_to_corners(torch.cat([boxes[:, :2], sizes, boxes[:, 4:]], dim=1))


def _cross(edge: Tensor, offset: Tensor) -> Tensor:
    """The z component of ``edge x offset``: positive where ``offset`` lies left of ``edge``."""
    return edge[..., 0] * offset[..., 1] - edge[..., 1] * offset[..., 0]


def _clip_once(poly: Tensor, count: Tensor, start: Tensor, end: Tensor) -> tuple[Tensor, Tensor]:
    """Clip polygons by the half-planes left of ``start -> end``.

    Args:
        poly: ``[P, S, 2]`` vertices; slots from ``count`` on hold copies of vertex 0.
        count: ``[P]`` vertices in use.
        start: ``[P, 2]`` a point on each clipping line.
        end: ``[P, 2]`` a second point; the kept side is on the left.

    Returns:
        The clipped polygons in the same layout, and their vertex counts.
    """
    slots = poly.shape[1]
    index = torch.arange(slots, device=poly.device)
    depth = _cross((end - start)[:, None, :], poly - start[:, None, :])  # [P, S]
    used = index[None, :] < count[:, None]
    following = torch.where(index[None, :] + 1 < count[:, None], index[None, :] + 1, 0)
    depth_next = torch.gather(depth, 1, following)
    poly_next = torch.gather(poly, 1, following[..., None].expand(-1, -1, 2))
    inside = depth >= 0
    crossing = used & (inside != (depth_next >= 0))
    step = torch.where(crossing, depth / torch.where(crossing, depth - depth_next, 1), 0)
    meet = poly + step[..., None] * (poly_next - poly)
    points = torch.stack([poly, meet], dim=2).reshape(len(poly), 2 * slots, 2)
    emitted = torch.stack([used & inside, crossing], dim=2).reshape(len(poly), 2 * slots)
    order = torch.argsort((~emitted).to(torch.uint8), dim=1, stable=True)[:, :slots]
    packed = torch.gather(points, 1, order[..., None].expand(-1, -1, 2))
    count = emitted.sum(dim=1).clamp(max=slots)
    packed = torch.where(index[None, :, None] < count[:, None, None], packed, packed[:, :1])
    return packed, count


def _intersection_areas(subject: Tensor, clip: Tensor) -> Tensor:
    """Areas ``[P]`` of the intersections of convex rings ``[P, 4, 2]`` (both positive)."""
    pairs = len(subject)
    poly = torch.cat([subject, subject[:, :1].expand(-1, _SLOTS - 4, -1)], dim=1)
    count = torch.full((pairs,), 4, dtype=torch.long, device=subject.device)
    for edge in range(4):  # the four sides of the clip ring, for all pairs at once
        poly, count = _clip_once(poly, count, clip[:, edge], clip[:, (edge + 1) % 4])
    following = torch.roll(poly, -1, dims=1)
    twice = _cross(poly, following).sum(dim=1)
    return (twice / 2).clamp_min(0)


def _chunked_areas(subject: Tensor, clip: Tensor) -> Tensor:
    if len(subject) <= _CHUNK:
        return _intersection_areas(subject, clip)
    parts = [
        _intersection_areas(subject[i : i + _CHUNK], clip[i : i + _CHUNK])
        for i in range(0, len(subject), _CHUNK)
    ]
    return torch.cat(parts)


def rotated_iou(a: Tensor, b: Tensor, *, candidates: Tensor | None = None) -> Tensor:
    """IoU of every pair of oriented boxes, computed exactly from their polygons.

    Args:
        a: ``[N, 5]`` ``(cx, cy, w, h, angle)``, pixels and radians (any encoding of a
            box works: the convention's normal form is not required).
        b: ``[M, 5]`` likewise.
        candidates: Optional ``[N, M]`` bool: pairs to compute; the others are 0
            (non-maximum suppression passes the pairs of one class).

    Returns:
        ``[N, M]`` intersection over union in ``[0, 1]``, dtype of ``a``; 0 where the
        envelopes do not overlap or the union is empty. Differentiable.
    """
    _check(a, 5, "a")
    _check(b, 5, "b")
    env_a, env_b = oriented_to_xyxy(a), oriented_to_xyxy(b)
    low = torch.maximum(env_a[:, None, :2], env_b[None, :, :2])
    high = torch.minimum(env_a[:, None, 2:], env_b[None, :, 2:])
    touching = (high > low).all(dim=-1)
    if candidates is not None:
        if candidates.shape != touching.shape:
            raise ValueError(
                f"candidates of shape {tuple(candidates.shape)} for {len(a)} x {len(b)} boxes"
            )
        touching &= candidates
    rows, cols = torch.nonzero(touching, as_tuple=True)
    areas = _chunked_areas(_rings(a)[rows], _rings(b)[cols])
    inter = torch.zeros(len(a), len(b), dtype=a.dtype, device=a.device)
    inter = inter.index_put((rows, cols), areas)
    area_a = (a[:, 2] * a[:, 3]).abs()
    area_b = (b[:, 2] * b[:, 3]).abs()
    return _ratio(inter, area_a[:, None] + area_b[None, :] - inter)


def rotated_iou_pairs(a: Tensor, b: Tensor) -> Tensor:
    """IoU of matched pairs of oriented boxes (row ``i`` of ``a`` with row ``i`` of ``b``).

    Args:
        a: ``[N, 5]`` ``(cx, cy, w, h, angle)``, pixels and radians.
        b: ``[N, 5]`` likewise.

    Returns:
        ``[N]`` intersection over union in ``[0, 1]``, dtype of ``a``. Differentiable.
    """
    _check(a, 5, "a")
    _check(b, 5, "b")
    if a.shape != b.shape:
        raise ValueError(f"pairs need equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    inter = _chunked_areas(_rings(a), _rings(b))
    union = (a[:, 2] * a[:, 3]).abs() + (b[:, 2] * b[:, 3]).abs() - inter
    return _ratio(inter, union)
