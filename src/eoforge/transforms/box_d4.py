"""D4 augmentation of detection samples: the image, its valid mask and its boxes together.

The eight elements of the dihedral group D4 are ``r`` counter-clockwise quarter
turns (as displayed) followed, when ``flip``, by a left-right mirror. Boxes use
eoforge's pixel convention (x = column, y = row, on pixel edges): horizontal
``[N, 4]`` ``(xmin, ymin, xmax, ymax)``, oriented ``[N, 5]`` ``(cx, cy, w, h,
angle)`` with ``angle`` in radians counter-clockwise as displayed from the x
axis to the ``w`` side, in ``[-pi/2, pi/2)``, ``w >= h`` (see
:func:`eoforge.io.vector.boxes.boxes_in_pixels`).

A quarter turn of an ``H x W`` image maps a point ``(x, y)`` to ``(y, W - x)``
and adds ``pi/2`` to angles; a mirror maps ``(x, y)`` to ``(W - x, y)`` and
negates angles. Widths and heights of oriented boxes do not change; angles are
brought back into the convention by :func:`eoforge.boxes.normalize_oriented`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from eoforge.boxes import normalize_oriented


def rotate_boxes(boxes: Tensor, height: int, width: int) -> Tensor:
    """Boxes after one counter-clockwise quarter turn of an ``height x width`` image.

    Args:
        boxes: ``[N, 4]`` or ``[N, 5]`` in pixels of the image before the turn.
        height: Image height before the turn, pixels.
        width: Image width before the turn, pixels (the new height).

    Returns:
        The boxes in pixels of the turned ``width x height`` image.
    """
    del height  # a quarter turn maps (x, y) to (y, width - x)
    if boxes.shape[-1] == 4:
        x0, y0, x1, y1 = boxes.unbind(-1)
        return torch.stack([y0, width - x1, y1, width - x0], -1)
    cx, cy, w, h, angle = boxes.unbind(-1)
    return normalize_oriented(torch.stack([cy, width - cx, w, h, angle + math.pi / 2], -1))


def mirror_boxes(boxes: Tensor, width: int) -> Tensor:
    """Boxes after a left-right mirror of an image ``width`` pixels wide."""
    if boxes.shape[-1] == 4:
        x0, y0, x1, y1 = boxes.unbind(-1)
        return torch.stack([width - x1, y0, width - x0, y1], -1)
    cx, cy, w, h, angle = boxes.unbind(-1)
    return normalize_oriented(torch.stack([width - cx, cy, w, h, -angle], -1))


def d4_sample(
    image: Tensor, valid: Tensor | None, boxes: Tensor, turns: int, flip: bool
) -> tuple[Tensor, Tensor | None, Tensor]:
    """Apply one D4 element to an image ``[C, H, W]``, its valid mask ``[H, W]`` and boxes.

    Args:
        image: The image.
        valid: Its valid mask, or None.
        boxes: ``[N, 4]`` or ``[N, 5]`` boxes in its pixels.
        turns: Counter-clockwise quarter turns (as displayed), 0-3.
        flip: Mirror left-right after the turns.

    Returns:
        The transformed image, valid mask and boxes.
    """
    height, width = int(image.shape[-2]), int(image.shape[-1])
    for _ in range(turns % 4):
        boxes = rotate_boxes(boxes, height, width)
        height, width = width, height
    if turns % 4:
        image = torch.rot90(image, turns % 4, dims=(-2, -1))
        valid = None if valid is None else torch.rot90(valid, turns % 4, dims=(-2, -1))
    if flip:
        boxes = mirror_boxes(boxes, width)
        image = torch.flip(image, dims=(-1,))
        valid = None if valid is None else torch.flip(valid, dims=(-1,))
    return image, valid, boxes


class BoxD4:
    """A random D4 element per sample of a detection batch (see :func:`d4_sample`).

    Non-square batches only draw the elements that keep their shape (no odd
    number of quarter turns), so the batch still stacks.

    Args:
        generator: Random generator (None: torch's global one, seeded by the run).
    """

    def __init__(self, generator: torch.Generator | None = None) -> None:
        self.generator = generator

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """The augmented batch (a new dict).

        ``image`` ``[B, C, H, W]``, ``valid`` ``[B, H, W]`` (optional) and ``boxes``
        (a list of ``[N_i, 4]`` or ``[N_i, 5]``) are transformed; other keys are kept.
        """
        image: Tensor = batch["image"]
        valid: Tensor | None = batch.get("valid")
        square = image.shape[-1] == image.shape[-2]
        images, valids, boxes = [], [], []
        for i in range(image.shape[0]):
            draw = torch.randint(0, 8, (1,), generator=self.generator).item()
            turns, flip = int(draw) % 4, int(draw) >= 4
            if not square:
                turns = 2 * (turns % 2)
            one_valid = None if valid is None else valid[i]
            img, val, box = d4_sample(image[i], one_valid, batch["boxes"][i], turns, flip)
            images.append(img)
            valids.append(val)
            boxes.append(box)
        out = dict(batch)
        out["image"] = torch.stack(images)
        if valid is not None:
            out["valid"] = torch.stack([v for v in valids if v is not None])
        out["boxes"] = boxes
        return out
