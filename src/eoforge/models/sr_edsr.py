"""An EDSR/RCAN-like residual CNN for single-frame super-resolution (``arch: sr_edsr``).

A 3x3 head convolution, ``blocks`` residual blocks (conv-ReLU-conv, scaled by
``res_scale``; with ``attention`` each ends in RCAN's channel attention:
global average pool, squeeze by ``reduction``, sigmoid gate), a body skip, a
pixel-shuffle upsampler and a 3x3 tail, added to the bicubic upsampling of
the input (:class:`~eoforge.models.sr_common.SRNetwork`). Options:
``scale`` (2, 3, 4), ``features`` (64), ``blocks`` (8), ``attention``
(false), ``reduction`` (16), ``res_scale`` (0.1). The receptive field is
``4 * blocks + 5`` input pixels.
"""

from __future__ import annotations

from torch import Tensor, nn

from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec
from eoforge.models.sr_common import PixelShuffleUp, SRNetwork, option, sr_scale

OPTIONS = ("scale", "features", "blocks", "attention", "reduction", "res_scale")


class ChannelAttention(nn.Module):
    """RCAN's channel attention: a per-channel gate from globally pooled features."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``[B, F, H, W]`` scaled per channel."""
        gated: Tensor = x * self.gate(x)
        return gated


class ResidualBlock(nn.Module):
    """conv-ReLU-conv (+ channel attention), times ``res_scale``, plus the input."""

    def __init__(self, features: int, attention: bool, reduction: int, res_scale: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(features, features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, features, 3, padding=1),
        ]
        if attention:
            layers.append(ChannelAttention(features, reduction))
        self.body = nn.Sequential(*layers)
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        """``[B, F, H, W]`` to the same shape."""
        out: Tensor = x + self.res_scale * self.body(x)
        return out


class ResidualSR(SRNetwork):
    """EDSR (``attention=False``) or RCAN-like (``attention=True``) network.

    Args:
        bands: Input and output channels.
        scale: 2, 3 or 4.
        features: Feature channels.
        blocks: Residual blocks.
        attention: Channel attention in every block.
        reduction: Channel squeeze of the attention.
        res_scale: Residual scaling (EDSR uses 0.1 for stability).
        in_channels: Channels :meth:`residual` reads (default ``bands``; a subclass
            may feed the trunk other planes than the bands themselves).
    """

    def __init__(
        self,
        bands: int,
        scale: int = 4,
        features: int = 64,
        blocks: int = 8,
        attention: bool = False,
        reduction: int = 16,
        res_scale: float = 0.1,
        in_channels: int | None = None,
    ) -> None:
        super().__init__(bands, scale)
        self.head = nn.Conv2d(in_channels or bands, features, 3, padding=1)
        body: list[nn.Module] = [
            ResidualBlock(features, attention, reduction, res_scale) for _ in range(blocks)
        ]
        body.append(nn.Conv2d(features, features, 3, padding=1))
        self.body = nn.Sequential(*body)
        self.upsample = PixelShuffleUp(features, scale)
        self.tail = nn.Conv2d(features, bands, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as bicubic upsampling
        nn.init.zeros_(self.tail.bias)  # type: ignore[arg-type]  # Conv2d with bias=True

    def residual(self, x: Tensor) -> Tensor:
        """Standardised ``[B, in_channels, h, w]`` to the residual ``[B, C, h s, w s]``."""
        f = self.head(x)
        out: Tensor = self.tail(self.upsample(f + self.body(f)))
        return out


@register_model(
    "sr_edsr",
    ("super_resolution",),
    "EDSR/RCAN-like residual CNN with pixel-shuffle upsampler and bicubic skip "
    "(options: scale, features, blocks, attention, reduction, res_scale)",
)
def _sr_edsr(spec: ModelSpec) -> nn.Module:
    return ResidualSR(
        spec.in_channels,
        sr_scale(spec),
        features=int(option(spec, "features", 64, OPTIONS)),
        blocks=int(option(spec, "blocks", 8, OPTIONS)),
        attention=bool(option(spec, "attention", False, OPTIONS)),
        reduction=int(option(spec, "reduction", 16, OPTIONS)),
        res_scale=float(option(spec, "res_scale", 0.1, OPTIONS)),
    )
