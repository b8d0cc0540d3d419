"""Training-time batch augmentation: D4 geometry plus optional photometry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoforge.transforms.d4 import D4
from eoforge.transforms.normalize import Normalize
from eoforge.transforms.photometric import Photometric


class BatchAugment:
    """D4 on every per-pixel tensor, then photometric changes on the image.

    Args:
        d4: Apply a random D4 element per sample.
        photometric: Photometric ops (None: off).
    """

    def __init__(self, d4: bool = True, photometric: Photometric | None = None) -> None:
        self.d4 = D4() if d4 else None
        self.photometric = photometric

    def __call__(
        self, batch: Mapping[str, Any], normalize: Normalize | None = None
    ) -> dict[str, Any]:
        """Augment a batch dict.

        Args:
            batch: Batch with ``image`` ``[B, C, H, W]`` (or ``[B, T, C, H, W]``)
                in physical units and any per-pixel ``mask``/``valid``/``target``.
            normalize: When given, photometric ops act on standardised values
                (magnitudes in band standard deviations) and the image is
                returned in physical units again.

        Returns:
            The augmented batch (a new dict).
        """
        out = self.d4(batch) if self.d4 is not None else dict(batch)
        if self.photometric is None or not self.photometric.active:
            return out
        image = out["image"]
        if normalize is None:
            out["image"] = self.photometric(image)
        else:
            out["image"] = normalize.inverse(self.photometric(normalize(image)))
        return out
