"""Spectral patch embedding: an image of any named bands -> patch tokens.

``[B, C, H, W]`` with ``C`` named bands becomes ``[B, N, D]`` tokens,
``N = (H / p) * (W / p)``: each band's ``p x p`` patch is projected by that
band's generated kernel ``[D, 1, p, p]``
(:class:`~eoforge.models.encoders.generator.KernelGenerator`) and the
projections are summed over bands, divided by ``sqrt(C)``, so the tokens of
independent unit-variance bands have about the same spread for 3 bands as for
200. Done as one strided convolution with the stacked kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.encoders.generator import KernelGenerator
from eoforge.sensors import Band


def check_image(image: torch.Tensor, bands: Sequence[str | Band], multiple: int = 1) -> None:
    """Check that ``image`` is ``[B, len(bands), H, W]`` with H and W multiples of ``multiple``.

    Raises:
        ConfigError: Wrong rank, a channel count that differs from the number
            of band names, or a size that is not a multiple of ``multiple``.
    """
    if image.dim() != 4:
        raise ConfigError(
            f"the spectral encoder expects images [B, C, H, W], got shape {tuple(image.shape)}.",
            fix="pass a batch of single-date images.",
        )
    if image.shape[1] != len(bands):
        raise ConfigError(
            f"the image has {image.shape[1]} channels but {len(bands)} bands were named "
            f"({', '.join(str(getattr(b, 'name', b)) for b in bands[:6])}"
            f"{', ...' if len(bands) > 6 else ''}).",
            fix="pass bands= naming every channel of the image, in channel order.",
        )
    height, width = image.shape[-2:]
    if height % multiple or width % multiple:
        raise ConfigError(
            f"image size {height} x {width} is not a multiple of the patch size {multiple}.",
            fix=f"crop or pad the image to a multiple of {multiple} pixels.",
        )


class SpectralPatchEmbed(nn.Module):
    """Patch tokens from an image of named bands.

    Args:
        embed_dim: Token width ``D``.
        patch_size: Patch side ``p`` in pixels.
        band_dim: Length of the band conditioning vectors.
        hidden: Width of the kernel-generator MLP.
    """

    def __init__(
        self, embed_dim: int, patch_size: int = 16, band_dim: int = 128, hidden: int = 128
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.patch_size = patch_size
        self.generator = KernelGenerator(embed_dim, patch_size, band_dim=band_dim, hidden=hidden)

    def grid_size(self, image: torch.Tensor) -> tuple[int, int]:
        """Patch rows and columns ``(H / p, W / p)`` of ``image`` ``[B, C, H, W]``."""
        return image.shape[-2] // self.patch_size, image.shape[-1] // self.patch_size

    def forward(self, image: torch.Tensor, bands: Sequence[str | Band]) -> torch.Tensor:
        """Tokens ``[B, N, D]`` (row-major patches) of ``image`` ``[B, C, H, W]``.

        Args:
            image: Images whose channels are ``bands``; H and W multiples of ``p``.
            bands: Band names (or records) in channel order.

        Raises:
            ConfigError: Shape that does not fit (see :func:`check_image`), or
                a band the encoder cannot embed.
        """
        check_image(image, bands, self.patch_size)
        kernels = self.generator(bands)
        weight = kernels.weight.to(image.dtype)
        maps = F.conv2d(image, weight, kernels.bias.to(image.dtype), stride=self.patch_size)
        return maps.flatten(2).transpose(1, 2)
