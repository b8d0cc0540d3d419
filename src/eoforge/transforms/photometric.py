"""Photometric augmentation (brightness, contrast, Gaussian noise) with kornia.

Values are not clipped, so the ops work on any range: the task applies them to
standardised images (see :class:`~eoforge.transforms.augment.BatchAugment`),
where magnitudes are in band standard deviations for every sensor.
"""

from __future__ import annotations

import kornia.augmentation as K
from torch import Tensor, nn


class Photometric(nn.Module):
    """Random brightness shift, contrast gain and Gaussian noise, per sample.

    Args:
        brightness: Shift drawn from ``[-brightness, brightness]`` (0: off).
        contrast: Gain drawn from ``[1 - contrast, 1 + contrast]`` (0: off).
        noise_std: Standard deviation of additive noise (0: off).
        p: Probability that each op is applied to a sample.
    """

    def __init__(
        self, brightness: float = 0.0, contrast: float = 0.0, noise_std: float = 0.0, p: float = 0.5
    ) -> None:
        super().__init__()
        ops: list[nn.Module] = []
        if brightness > 0:
            ops.append(K.RandomBrightness((1 - brightness, 1 + brightness), clip_output=False, p=p))
        if contrast > 0:
            ops.append(K.RandomContrast((1 - contrast, 1 + contrast), clip_output=False, p=p))
        if noise_std > 0:
            ops.append(K.RandomGaussianNoise(std=noise_std, p=p))
        self.ops = nn.Sequential(*ops)

    @property
    def active(self) -> bool:
        """Whether any op is switched on."""
        return len(self.ops) > 0

    def forward(self, image: Tensor) -> Tensor:
        """Augment ``image`` ``[B, C, H, W]`` or ``[B, T, C, H, W]`` (each date independently)."""
        if not self.active:
            return image
        flat = image.reshape(-1, *image.shape[-3:])
        out: Tensor = self.ops(flat)
        return out.reshape(image.shape)
