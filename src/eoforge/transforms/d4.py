"""The dihedral group D4 on batches: the 8 flips and right-angle rotations.

Nadir imagery has no preferred orientation, so every element of D4 is a valid
augmentation. :class:`D4` draws one element per sample and applies it to every
per-pixel tensor of the sample (image, mask, valid, pixel targets), so labels
stay aligned; the two dates of a change pair ``[B, 2, C, H, W]`` share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

NUM_ELEMENTS = 8
SHAPE_PRESERVING = (0, 2, 4, 6)
"""Elements that keep a non-square ``H != W`` shape: identity, 180° turn, two flips."""

SPATIAL_KEYS = ("image", "mask", "valid", "target")


def apply_d4(x: Tensor, element: int) -> Tensor:
    """Apply D4 element ``element`` (0-7) to the last two axes of ``x``.

    Element ``k`` flips left-right when ``k >= 4``, then rotates by
    ``(k % 4) * 90`` degrees counter-clockwise.

    Args:
        x: Tensor ``[..., H, W]``.
        element: Index of the group element, 0 (identity) to 7.

    Returns:
        The transformed tensor ``[..., H, W]`` (``[..., W, H]`` for odd turns).
    """
    flipped = x.flip(-1) if element >= 4 else x
    return torch.rot90(flipped, element % 4, dims=(-2, -1))


def _is_spatial(value: Any, size: torch.Size) -> bool:
    return isinstance(value, Tensor) and value.ndim >= 3 and value.shape[-2:] == size


class D4:
    """Random D4 element per sample, applied consistently to a batch dict.

    Args:
        keys: Batch keys to transform when they hold per-pixel tensors
            ``[B, ..., H, W]`` matching the image's ``H, W``; scene-level
            values such as ``label`` ``[B]`` or ``target`` ``[B, K]`` are left
            alone.
        generator: Random generator (None: torch's global one).
    """

    def __init__(
        self, keys: Iterable[str] = SPATIAL_KEYS, generator: torch.Generator | None = None
    ) -> None:
        self.keys = tuple(keys)
        self.generator = generator

    def draw(self, batch_size: int, square: bool) -> Tensor:
        """Element indices ``[B]``; only shape-preserving ones for non-square images."""
        choices = torch.arange(NUM_ELEMENTS) if square else torch.tensor(SHAPE_PRESERVING)
        picks = torch.randint(len(choices), (batch_size,), generator=self.generator)
        return choices[picks]

    def __call__(self, batch: Mapping[str, Any], elements: Tensor | None = None) -> dict[str, Any]:
        """Transform a batch.

        Args:
            batch: Batch dict with ``image`` ``[B, ..., H, W]``.
            elements: Element per sample ``[B]`` (None: drawn at random).

        Returns:
            A new batch dict; untouched keys are shared with ``batch``.
        """
        image: Tensor = batch["image"]
        size = image.shape[-2:]
        if elements is None:
            elements = self.draw(image.shape[0], square=size[0] == size[1])
        out = dict(batch)
        for key in self.keys:
            if _is_spatial(batch.get(key), size):
                out[key] = _apply_per_sample(batch[key], elements)
        return out


def _apply_per_sample(x: Tensor, elements: Tensor) -> Tensor:
    out = torch.empty_like(x)
    for element in sorted(set(elements.tolist())):
        index = (elements == element).nonzero().squeeze(1).to(x.device)
        out[index] = apply_d4(x[index], int(element))
    return out
