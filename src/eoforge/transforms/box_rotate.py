"""Rotation by any angle of oriented-detection samples: image, valid mask and boxes together.

D4 (:mod:`eoforge.transforms.box_d4`) only turns objects by quarter turns, so a detector
trained on chips where most ships lie along one axis sees few oblique ones. This turns
each sample, with probability ``p``, about its centre by an angle drawn uniformly from
``[-pi, pi)``, counter-clockwise as displayed (the angle convention of
:mod:`eoforge.transforms.box_d4`):

* a point at ``(dx, dy)`` from the centre (pixels, x = column, y = row) moves to
  ``(dx cos t + dy sin t, -dx sin t + dy cos t)``; an oriented box's centre moves so and
  ``t`` is added to its angle (then :func:`eoforge.boxes.normalize_oriented`); widths
  and heights do not change;
* the image is resampled bilinearly (:func:`torch.nn.functional.grid_sample`), the valid
  mask by nearest neighbour; what comes from outside the input (the corners) is invalid;
* a box is kept when at least ``min_visible`` of it lies inside the turned chip and
  comes from inside the input (measured on a 4 x 4 grid of points spread over the box),
  as geo windows keep boxes cut by their edges; the others are dropped with their
  labels and ``difficult`` flags.

Only oriented boxes ``[N, 5]`` are turned: a horizontal box turned by an arbitrary angle
is no longer the tight box of its object (such batches are refused).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from eoforge.boxes import normalize_oriented
from eoforge.boxes.convert import oriented_to_corners

_GRID = (torch.arange(4, dtype=torch.float64) + 0.5) / 4 - 0.5
"""Fractions of a side at which a box is sampled for its visible fraction."""

PER_BOX_KEYS = ("labels", "difficult")
"""Per-box entries of a batch that follow the kept boxes."""


def turn_points(points: Tensor, angle: float, height: int, width: int) -> Tensor:
    """Points ``[..., 2]`` ``(x, y)`` after turning an image by ``angle`` about its centre.

    Args:
        points: Pixel coordinates in the image before the turn.
        angle: Radians, counter-clockwise as displayed.
        height: Image height, pixels (unchanged by the turn).
        width: Image width, pixels.

    Returns:
        ``[..., 2]`` pixel coordinates in the turned image.
    """
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = points[..., 0] - width / 2, points[..., 1] - height / 2
    return torch.stack([dx * cos + dy * sin + width / 2, -dx * sin + dy * cos + height / 2], dim=-1)


def turn_boxes(boxes: Tensor, angle: float, height: int, width: int) -> Tensor:
    """Oriented boxes ``[N, 5]`` after turning their image by ``angle`` (radians, CCW).

    Returns:
        ``[N, 5]`` in the shared convention, pixels of the turned image.
    """
    centres = turn_points(boxes[:, :2], angle, height, width)
    turned = torch.cat([centres, boxes[:, 2:4], boxes[:, 4:5] + angle], dim=1)
    return normalize_oriented(turned)


def visible_fraction(boxes: Tensor, angle: float, height: int, width: int) -> Tensor:
    """Fraction ``[N]`` of each turned box inside the turned image and from inside the input.

    Args:
        boxes: ``[N, 5]`` boxes already turned (:func:`turn_boxes`).
        angle: The turn, radians, counter-clockwise.
        height: Image height, pixels.
        width: Image width, pixels.
    """
    corner = oriented_to_corners(boxes.double())  # [N, 4, 2]: c - u - v, c + u - v, ...
    origin, along_w, along_h = (
        corner[:, 0],
        corner[:, 1] - corner[:, 0],
        corner[:, 3] - corner[:, 0],
    )
    steps = _GRID.to(corner.device) + 0.5  # the boxes may live on the accelerator
    fu, fv = torch.meshgrid(steps, steps, indexing="ij")
    samples = (
        origin[:, None, :]
        + fu.reshape(1, -1, 1) * along_w[:, None, :]
        + fv.reshape(1, -1, 1) * along_h[:, None, :]
    )  # [N, 16, 2]
    source = turn_points(samples, -angle, height, width)

    def inside(p: Tensor) -> Tensor:
        x, y = p[..., 0], p[..., 1]
        return (x >= 0) & (x <= width) & (y >= 0) & (y <= height)

    return (inside(samples) & inside(source)).double().mean(dim=1)


def turn_image(image: Tensor, valid: Tensor | None, angle: float) -> tuple[Tensor, Tensor]:
    """An image ``[C, H, W]`` and its valid mask ``[H, W]`` turned by ``angle`` (CCW).

    Returns:
        The turned image (bilinear; zeros outside the input) and valid mask (nearest;
        False outside the input).
    """
    height, width = int(image.shape[-2]), int(image.shape[-1])
    cos, sin = math.cos(angle), math.sin(angle)
    # output pixel -> input pixel is the turn by -angle; in grid_sample's normalised
    # coordinates (x / (W / 2), y / (H / 2)) the aspect ratio enters the off-diagonal
    theta = torch.tensor(
        [[cos, -sin * height / width, 0.0], [sin * width / height, cos, 0.0]],
        dtype=image.dtype if image.is_floating_point() else torch.float32,
        device=image.device,
    )
    grid = F.affine_grid(theta[None], [1, 1, height, width], align_corners=False)
    floating = image if image.is_floating_point() else image.float()
    turned = F.grid_sample(floating[None], grid.to(floating.dtype), align_corners=False)[0]
    ones = torch.ones((1, 1, height, width), dtype=grid.dtype, device=image.device)
    mask = ones if valid is None else valid.to(grid.dtype)[None, None]
    inside = F.grid_sample(mask, grid, mode="nearest", align_corners=False)[0, 0] > 0.5
    return turned.to(image.dtype), inside


class BoxRotate:
    """A random turn by any angle per sample of an oriented-detection batch, with probability ``p``.

    Args:
        p: Probability that a sample is turned.
        min_visible: Smallest visible fraction of a box kept after the turn.
        generator: Random generator (None: torch's global one, seeded by the run).

    Raises:
        ValueError: ``p`` or ``min_visible`` outside ``[0, 1]``.
    """

    def __init__(
        self, p: float = 0.5, min_visible: float = 0.5, generator: torch.Generator | None = None
    ) -> None:
        if not 0 <= p <= 1 or not 0 <= min_visible <= 1:
            raise ValueError(f"p and min_visible must lie in [0, 1], got {p} and {min_visible}")
        self.p = p
        self.min_visible = min_visible
        self.generator = generator

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """The augmented batch (a new dict).

        ``image`` ``[B, C, H, W]``, ``valid`` ``[B, H, W]`` (made when absent and a
        sample is turned) and ``boxes`` (a list of ``[N_i, 5]``) are transformed;
        ``labels`` and ``difficult`` lose the entries of dropped boxes; other keys are kept.

        Raises:
            ValueError: Horizontal boxes ``[N, 4]`` in the batch.
        """
        image: Tensor = batch["image"]
        valid: Tensor | None = batch.get("valid")
        size = int(image.shape[0])
        draws = torch.rand(size, generator=self.generator)
        angles = (torch.rand(size, generator=self.generator) * 2 - 1) * math.pi
        if not bool((draws < self.p).any()):
            return dict(batch)
        height, width = int(image.shape[-2]), int(image.shape[-1])
        images = list(image.unbind(0))
        valids: list[Tensor | None] = [None] * size if valid is None else list(valid.unbind(0))
        out = dict(batch)
        out["boxes"] = list(batch["boxes"])
        per_box = {key: list(batch[key]) for key in PER_BOX_KEYS if batch.get(key) is not None}
        for i in range(size):
            if draws[i] >= self.p:
                continue
            boxes: Tensor = batch["boxes"][i]
            if boxes.shape[-1] != 5:
                raise ValueError(
                    "only oriented boxes [N, 5] can be turned by any angle, got "
                    f"{tuple(boxes.shape)}"
                )
            angle = float(angles[i])
            images[i], valids[i] = turn_image(image[i], valids[i], angle)
            turned = turn_boxes(boxes, angle, height, width)
            keep = visible_fraction(turned, angle, height, width) >= self.min_visible
            out["boxes"][i] = turned[keep.to(turned.device)]
            for values in per_box.values():
                values[i] = values[i][keep.to(values[i].device)]
        out["image"] = torch.stack(images)
        full = torch.ones((height, width), dtype=torch.bool, device=image.device)
        out["valid"] = torch.stack([full if v is None else v.bool() for v in valids])
        out.update(per_box)
        return out
