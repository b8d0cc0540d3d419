"""Conversions between box encodings, all in pixel coordinates (x = column, y = row).

Conventions (shared by data, models, metrics and prediction; see ``docs/architecture.md``):

* Origin at the top-left corner of the top-left pixel, units of pixels, on pixel edges:
  the box covering exactly the pixel at row 2, column 3 is ``(3, 2, 4, 3)``.
* Horizontal boxes: ``(xmin, ymin, xmax, ymax)``.
* Oriented boxes: ``(cx, cy, w, h, angle)``; ``angle`` in radians, counter-clockwise *as
  displayed* (rows growing downwards) from the image x axis to the box's ``w`` side, in
  ``[-pi/2, pi/2)``; ``w >= h``; for squares the side whose angle lies in ``[-pi/4, pi/4)``
  is ``w``. The ``w`` side runs along ``u = (cos a, -sin a)`` and the ``h`` side along
  ``v = (sin a, cos a)`` in ``(x, y)``; corners are ``c - u w/2 - v h/2``,
  ``c + u w/2 - v h/2``, ``c + u w/2 + v h/2``, ``c - u w/2 + v h/2``.

Every function takes tensors of shape ``[..., k]`` (float32 or float64) and returns a
tensor of the same dtype on the same device; autograd flows through all of them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

HALF_PI = math.pi / 2
QUARTER_PI = math.pi / 4

# Pairs of corners of a quadrilateral: every edge and both diagonals; the minimum-area
# rectangle of the quadrilateral has a side along one edge of its convex hull, which is
# one of these six directions.
_PAIRS = ((0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (1, 3))


def _check(boxes: Tensor, width: int, name: str) -> None:
    if boxes.ndim < 1 or boxes.shape[-1] != width:
        raise ValueError(f"{name} must have shape [..., {width}], got {tuple(boxes.shape)}")
    if not boxes.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {boxes.dtype}")


def xyxy_to_cxcywh(boxes: Tensor) -> Tensor:
    """Horizontal boxes ``(xmin, ymin, xmax, ymax)`` to ``(cx, cy, w, h)``.

    Args:
        boxes: ``[..., 4]`` in pixels.

    Returns:
        ``[..., 4]`` centre and size in pixels.
    """
    _check(boxes, 4, "boxes")
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1)


def cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """Horizontal boxes ``(cx, cy, w, h)`` to ``(xmin, ymin, xmax, ymax)``.

    Args:
        boxes: ``[..., 4]`` centre and size in pixels.

    Returns:
        ``[..., 4]`` corners in pixels.
    """
    _check(boxes, 4, "boxes")
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def xywh_to_xyxy(boxes: Tensor) -> Tensor:
    """COCO boxes ``(xmin, ymin, w, h)`` to ``(xmin, ymin, xmax, ymax)``.

    Args:
        boxes: ``[..., 4]`` top-left corner and size in pixels.

    Returns:
        ``[..., 4]`` corners in pixels.
    """
    _check(boxes, 4, "boxes")
    x0, y0, w, h = boxes.unbind(-1)
    return torch.stack([x0, y0, x0 + w, y0 + h], dim=-1)


def _axes(boxes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Centre ``[..., 2]``, half ``w`` side ``[..., 2]`` and half ``h`` side ``[..., 2]``."""
    cx, cy, w, h, angle = boxes.unbind(-1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    u = torch.stack([cos, -sin], dim=-1) * (w / 2).unsqueeze(-1)
    v = torch.stack([sin, cos], dim=-1) * (h / 2).unsqueeze(-1)
    return torch.stack([cx, cy], dim=-1), u, v


def oriented_to_corners(boxes: Tensor) -> Tensor:
    """Corners of oriented boxes, in the shared order.

    Args:
        boxes: ``[..., 5]`` ``(cx, cy, w, h, angle)``, pixels and radians.

    Returns:
        ``[..., 4, 2]`` corners ``(x, y)`` in pixels: ``c - u - v``, ``c + u - v``,
        ``c + u + v``, ``c - u + v`` with ``u``, ``v`` the half sides along ``w`` and ``h``.
        For ``w, h > 0`` the ring is positively oriented in raw ``(x, y)`` coordinates
        (its shoelace area is positive).
    """
    _check(boxes, 5, "boxes")
    c, u, v = _axes(boxes)
    return torch.stack([c - u - v, c + u - v, c + u + v, c - u + v], dim=-2)


def oriented_to_xyxy(boxes: Tensor) -> Tensor:
    """Axis-aligned envelopes of oriented boxes.

    Args:
        boxes: ``[..., 5]`` ``(cx, cy, w, h, angle)``, pixels and radians.

    Returns:
        ``[..., 4]`` ``(xmin, ymin, xmax, ymax)`` in pixels.
    """
    _check(boxes, 5, "boxes")
    cx, cy, w, h, angle = boxes.unbind(-1)
    cos, sin = torch.cos(angle).abs(), torch.sin(angle).abs()
    half_x = (cos * w.abs() + sin * h.abs()) / 2
    half_y = (sin * w.abs() + cos * h.abs()) / 2
    return torch.stack([cx - half_x, cy - half_y, cx + half_x, cy + half_y], dim=-1)


def wrap_angle(angle: Tensor, period: float = math.pi) -> Tensor:
    """Angles wrapped into ``[-period/2, period/2)``, kept there after rounding.

    Args:
        angle: ``[...]`` radians.
        period: The period of the angle (``pi`` for boxes, ``pi/2`` for squares).

    Returns:
        ``[...]`` radians, same dtype; the lower end is the smallest representable value
        not below ``-period/2`` (float32 cannot hold ``-pi/2`` exactly).
    """
    half = period / 2
    wrapped = angle - period * torch.floor((angle + half) / period)
    # rounding can land on +half (or on the dtype's value just below -half); the bounds
    # are worked out on the CPU in the angle's dtype, so no device round trip is needed
    upper = float(torch.tensor(half, dtype=angle.dtype))
    wrapped = torch.where(wrapped >= upper, wrapped - period, wrapped)
    lowest = torch.tensor(-half, dtype=angle.dtype)
    if float(lowest) < -half:  # float32(-pi/2) lies just below -pi/2
        lowest = torch.nextafter(lowest, torch.zeros_like(lowest))
    return wrapped.clamp(min=float(lowest))


def _is_square(w: Tensor, h: Tensor) -> Tensor:
    eps = torch.finfo(w.dtype).eps
    return (w - h).abs() <= 8 * eps * torch.maximum(w.abs(), h.abs())


def normalize_oriented(boxes: Tensor) -> Tensor:
    """Any ``(cx, cy, w, h, angle)`` in the shared convention.

    ``w`` and ``h`` are swapped (and ``pi/2`` added to the angle) where ``h > w``, the
    angle is wrapped into ``[-pi/2, pi/2)``, and squares (``w == h`` to a few units of
    rounding) get the side whose angle lies in ``[-pi/4, pi/4)`` as ``w``. The box (its
    polygon) does not change.

    Args:
        boxes: ``[..., 5]`` pixels and radians; ``w``, ``h`` non-negative.

    Returns:
        ``[..., 5]`` in the convention, same dtype and device.
    """
    _check(boxes, 5, "boxes")
    cx, cy, w, h, angle = boxes.unbind(-1)
    swap = h > w
    w, h = torch.where(swap, h, w), torch.where(swap, w, h)
    angle = torch.where(swap, angle + HALF_PI, angle)
    square = _is_square(w, h)
    angle = torch.where(square, wrap_angle(angle, HALF_PI), wrap_angle(angle))
    return torch.stack([cx, cy, w, h, angle], dim=-1)


def corners_to_oriented(corners: Tensor) -> Tensor:
    """Minimum-area rectangles of quadrilaterals (e.g. DOTA's 8-number polygons).

    The rectangle of least area that contains the four points has one side along an
    edge of their convex hull; every hull edge joins two of the four points, so the six
    directions between pairs of points are tried and the smallest enclosing rectangle
    kept (ties: the first pair in the order edges 01, 12, 23, 30, then diagonals).

    Args:
        corners: ``[..., 4, 2]`` points ``(x, y)`` in pixels, in any order.

    Returns:
        ``[..., 5]`` ``(cx, cy, w, h, angle)`` in the shared convention
        (see :func:`normalize_oriented`).
    """
    if corners.ndim < 2 or corners.shape[-2:] != (4, 2):
        raise ValueError(f"corners must have shape [..., 4, 2], got {tuple(corners.shape)}")
    if not corners.is_floating_point():
        raise ValueError(f"corners must be a floating-point tensor, got {corners.dtype}")
    first = torch.tensor([p[0] for p in _PAIRS], device=corners.device)
    second = torch.tensor([p[1] for p in _PAIRS], device=corners.device)
    direction = corners[..., second, :] - corners[..., first, :]  # [..., 6, 2]
    length = torch.linalg.vector_norm(direction, dim=-1, keepdim=True)
    # two coincident points give no direction: use the x axis (the envelope) instead
    x_axis = torch.tensor([1.0, 0.0], dtype=corners.dtype, device=corners.device)
    unit = torch.where(length > 0, direction / length.clamp_min(1e-30), x_axis)
    normal = torch.stack([-unit[..., 1], unit[..., 0]], dim=-1)
    # projections of the four points on each direction: [..., 6, 4]
    along = torch.einsum("...pk,...ck->...cp", corners, unit)
    across = torch.einsum("...pk,...ck->...cp", corners, normal)
    lo_u, hi_u = along.amin(-1), along.amax(-1)
    lo_v, hi_v = across.amin(-1), across.amax(-1)
    side_u, side_v = hi_u - lo_u, hi_v - lo_v
    best = torch.argmin(side_u * side_v, dim=-1, keepdim=True)  # [..., 1]

    def pick(values: Tensor) -> Tensor:
        return torch.gather(values, -1, best).squeeze(-1)

    mid_u, mid_v = pick((lo_u + hi_u) / 2), pick((lo_v + hi_v) / 2)
    ux = torch.gather(unit[..., 0], -1, best).squeeze(-1)
    uy = torch.gather(unit[..., 1], -1, best).squeeze(-1)
    cx = mid_u * ux - mid_v * uy
    cy = mid_u * uy + mid_v * ux
    # counter-clockwise as displayed (rows grow downwards): atan2(-dy, dx)
    angle = torch.atan2(-uy, ux)
    boxes = torch.stack([cx, cy, pick(side_u), pick(side_v), angle], dim=-1)
    return normalize_oriented(boxes)


def from_le90(boxes: Tensor) -> Tensor:
    """mmrotate/OpenCV "le90" boxes to the shared convention.

    "le90" angles are measured clockwise *as displayed* (the ``w`` side runs along
    ``(cos t, sin t)`` in ``(x, y)``), in ``[-pi/2, pi/2)``; the shared angle is ``-t``,
    wrapped (and normalised, see :func:`normalize_oriented`).

    Args:
        boxes: ``[..., 5]`` ``(cx, cy, w, h, t)``, pixels and radians.

    Returns:
        ``[..., 5]`` ``(cx, cy, w, h, angle)`` in the shared convention.
    """
    _check(boxes, 5, "boxes")
    return normalize_oriented(torch.cat([boxes[..., :4], -boxes[..., 4:]], dim=-1))


def to_le90(boxes: Tensor) -> Tensor:
    """Boxes in the shared convention to mmrotate/OpenCV "le90".

    Args:
        boxes: ``[..., 5]`` ``(cx, cy, w, h, angle)``, pixels and radians (normalised
            first, so any encoding of the box is accepted).

    Returns:
        ``[..., 5]`` ``(cx, cy, w, h, t)`` with ``w >= h`` and ``t = -angle`` wrapped into
        ``[-pi/2, pi/2)`` (clockwise as displayed): a shared angle of ``-pi/2`` gives
        ``t = -pi/2``; squares get ``t`` in ``(-pi/4, pi/4]``.
    """
    _check(boxes, 5, "boxes")
    norm = normalize_oriented(boxes)
    return torch.cat([norm[..., :4], wrap_angle(-norm[..., 4:])], dim=-1)


def point_length_to_xyxy(
    centres: Tensor, lengths: Tensor, *, pixel_size: float = 1.0, default_size: float = 0.0
) -> Tensor:
    """Square boxes around points with an object length (xView3-style rows).

    xView3 labels give a detection as a pixel position (``detect_scene_column``,
    ``detect_scene_row``) and a vessel length in metres (often missing) without a
    heading; the box is the square of side ``length / pixel_size`` centred on the point,
    or of side ``default_size`` pixels where the length is missing (NaN) or not positive.

    Args:
        centres: ``[..., 2]`` ``(x, y)`` in pixels (add 0.5 to a pixel's column and row
            indices to get its centre).
        lengths: ``[...]`` object lengths in metres.
        pixel_size: Metres per pixel.
        default_size: Side in pixels where the length is unknown.

    Returns:
        ``[..., 4]`` ``(xmin, ymin, xmax, ymax)`` in pixels, dtype of ``centres``.
    """
    _check(centres, 2, "centres")
    if lengths.shape != centres.shape[:-1]:
        raise ValueError(
            f"lengths of shape {tuple(lengths.shape)} do not match centres of shape"
            f" {tuple(centres.shape)}; expected {tuple(centres.shape[:-1])}"
        )
    if pixel_size <= 0:
        raise ValueError(f"pixel_size must be positive, got {pixel_size}")
    side = lengths.to(centres.dtype) / pixel_size
    known = torch.isfinite(side) & (side > 0)
    side = torch.where(known, side, torch.full_like(side, default_size))
    half = (side / 2).unsqueeze(-1)
    return torch.cat([centres - half, centres + half], dim=-1)
