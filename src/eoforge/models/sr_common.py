"""What every super-resolution network shares: options, the upsampler, the bicubic skip, units.

Forward contract (``task: super_resolution``): ``[B, C, h, w]`` standardised
input (``(x - mean) / std`` per band) to ``[B, C, h * scale, w * scale]``
in the input's physical units. The network learns the residual over a
bicubic upsampling of its input (the global skip) in standardised units and
maps it back with per-band ``output_mean``/``output_std`` buffers, which the
task sets from the normalisation and the bundle's weights carry, so a
bundle's outputs are reflectance when its inputs are.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.models.spec import ModelSpec

SCALES = (2, 3, 4, 5, 6, 7, 8)
"""Upsampling factors the networks build upsamplers for (7: WorldStrat's 10 m / 1.5 m once
the target is resampled to 10/7 m, :mod:`eoforge.data.sr_grids`)."""


def sr_scale(spec: ModelSpec) -> int:
    """``spec.options["scale"]`` (default 4), checked.

    Raises:
        ConfigError: Not one of :data:`SCALES`.
    """
    scale = spec.options.get("scale", 4)
    if scale not in SCALES:
        raise ConfigError(
            f"model.options.scale: {scale!r} is not a supported factor.",
            fix=f"use one of {', '.join(map(str, SCALES))}.",
        )
    return int(scale)


def option(spec: ModelSpec, name: str, default: Any, known: tuple[str, ...]) -> Any:
    """``spec.options[name]`` or ``default``, after refusing options not in ``known``.

    Raises:
        ConfigError: An option the architecture does not take.
    """
    unknown = sorted(set(spec.options) - set(known))
    if unknown:
        raise ConfigError(
            f"model.options.{unknown[0]}: {spec.arch} takes no such option.",
            fix=f"{spec.arch} takes {', '.join(known)}.",
        )
    return spec.options.get(name, default)


class PixelShuffleUp(nn.Sequential):
    """Convolution + pixel shuffle steps: x2, x4 and x8 in steps of 2, other factors in one step.

    Args:
        channels: Feature channels in and out.
        scale: One of :data:`SCALES`.
    """

    def __init__(self, channels: int, scale: int) -> None:
        steps = [2] * (scale.bit_length() - 1) if scale & (scale - 1) == 0 else [scale]
        layers: list[nn.Module] = []
        for step in steps:
            layers += [
                nn.Conv2d(channels, channels * step * step, 3, padding=1),
                nn.PixelShuffle(step),
            ]
        super().__init__(*layers)


class SRNetwork(nn.Module):
    """Base of the super-resolution networks: bicubic skip and output units.

    Subclasses implement :meth:`residual` (standardised ``[B, C, h, w]`` to the
    standardised residual ``[B, C, h s, w s]``).

    Args:
        bands: Channels ``C`` in and out.
        scale: Upsampling factor.
    """

    output_mean: Tensor
    output_std: Tensor

    def __init__(self, bands: int, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.register_buffer("output_mean", torch.zeros(bands))
        self.register_buffer("output_std", torch.ones(bands))

    def set_output_units(self, mean: Tensor, std: Tensor) -> None:
        """Per-band ``(mean, std)`` that turn standardised outputs into physical units."""
        self.output_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.output_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def residual(self, x: Tensor) -> Tensor:
        """The learnt residual over the bicubic upsampling, standardised units."""
        raise NotImplementedError

    def standardised(self, x: Tensor) -> Tensor:
        """Bicubic upsampling plus the residual, standardised units ``[B, C, h s, w s]``."""
        skip = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return skip + self.residual(x)

    def forward(self, x: Tensor) -> Tensor:
        """Standardised ``[B, C, h, w]`` to physical ``[B, C, h s, w s]``."""
        out = self.standardised(x)
        return out * self.output_std[:, None, None] + self.output_mean[:, None, None]
