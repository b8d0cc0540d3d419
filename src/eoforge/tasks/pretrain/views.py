"""Random views of a batch for self-supervised pretraining, drawn on the tensor in one pass.

Each view of a window is a random resized crop (area share and aspect ratio
drawn per sample), a random D4 element (flip and quarter turn), and a small
spectral jitter (a gain and an offset per sample and band), applied to the
whole batch as one ``affine_grid`` + ``grid_sample`` and one fused
multiply-add: no per-sample Python loop, no copy beyond the output.

Images are standardised ``[B, C, H, W]``; views keep ``H x W`` (so ViT patch
grids stay whole). Jitter is in band standard deviations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from eoforge.errors import ConfigError


@dataclass(frozen=True)
class ViewSettings:
    """How views are drawn.

    Attributes:
        crop_scale: Range of the crop's share of the window's area.
        crop_ratio: Range of the crop's aspect ratio (width over height).
        d4: Random flips and quarter turns.
        gain: Std of the per-band multiplicative jitter ``1 + gain·N(0, 1)``.
        offset: Std of the per-band additive jitter, band standard deviations.
    """

    crop_scale: tuple[float, float] = (0.3, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    d4: bool = True
    gain: float = 0.1
    offset: float = 0.1

    def __post_init__(self) -> None:
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise ConfigError(
                f"crop_scale {list(self.crop_scale)} must satisfy 0 < low <= high <= 1.",
                fix="use e.g. [0.3, 1.0].",
            )
        if not 0 < self.crop_ratio[0] <= self.crop_ratio[1]:
            raise ConfigError(
                f"crop_ratio {list(self.crop_ratio)} must be positive and increasing.",
                fix="use e.g. [0.75, 1.333].",
            )
        if self.gain < 0 or self.offset < 0:
            raise ConfigError("view jitter must not be negative.", fix="use e.g. 0.1.")


def view_affines(
    batch: int, settings: ViewSettings, device: torch.device, generator: torch.Generator | None
) -> Tensor:
    """Sampling affines ``[B, 2, 3]`` in normalised coordinates (``affine_grid``'s convention).

    An output location ``u`` in [-1, 1]² reads the input at
    ``diag(crop_w, crop_h) · R · u + centre``, ``R`` a D4 element; the crop
    stays inside the window.
    """

    def uniform(low: float, high: float) -> Tensor:
        return low + (high - low) * torch.rand(batch, generator=generator, device=device)

    area = uniform(*settings.crop_scale)
    log_ratio = uniform(math.log(settings.crop_ratio[0]), math.log(settings.crop_ratio[1]))
    ratio = log_ratio.exp()
    width = (area * ratio).sqrt().clamp(max=1.0)
    height = (area / ratio).sqrt().clamp(max=1.0)
    cx = (2 * torch.rand(batch, generator=generator, device=device) - 1) * (1 - width)
    cy = (2 * torch.rand(batch, generator=generator, device=device) - 1) * (1 - height)
    rotation = torch.eye(2, device=device).repeat(batch, 1, 1)
    if settings.d4:
        turns = torch.randint(4, (batch,), generator=generator, device=device)
        angle = turns.float() * (math.pi / 2)
        cos, sin = angle.cos().round(), angle.sin().round()
        flip = torch.randint(2, (batch,), generator=generator, device=device).float() * -2 + 1
        rotation = torch.stack(
            [torch.stack([cos * flip, -sin], -1), torch.stack([sin * flip, cos], -1)], -2
        )
    scale = torch.diag_embed(torch.stack([width, height], -1))
    linear = scale @ rotation
    return torch.cat([linear, torch.stack([cx, cy], -1)[..., None]], dim=-1)


def random_view(
    image: Tensor,
    settings: ViewSettings,
    generator: torch.Generator | None = None,
    *,
    channels_last: bool = False,
) -> Tensor:
    """One random view of every window: ``[B, C, H, W] -> [B, C, H, W]``.

    Args:
        image: Standardised images.
        settings: Crop, D4 and jitter settings.
        generator: Random generator on ``image``'s device (None: the global one).
        channels_last: Return the view in channels-last memory order (the jitter
            writes it there, so no extra copy); the values are the same.
    """
    b, c, h, w = image.shape
    theta = view_affines(b, settings, image.device, generator).to(image.dtype)
    grid = F.affine_grid(theta, [b, c, h, w], align_corners=False)
    out = F.grid_sample(
        image, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )
    layout = torch.channels_last if channels_last else torch.contiguous_format
    if settings.gain == 0 and settings.offset == 0:
        return out.contiguous(memory_format=layout)
    noise = torch.randn(2, b, c, 1, 1, generator=generator, device=image.device, dtype=image.dtype)
    view = torch.empty_like(out, memory_format=layout)
    return torch.addcmul(noise[1] * settings.offset, out, 1 + settings.gain * noise[0], out=view)
