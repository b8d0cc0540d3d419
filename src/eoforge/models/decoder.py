"""A U-Net-like decoder over a pyramid of encoder features.

Used by the Siamese change networks, whose skip connections are fused
features of two dates rather than plain encoder outputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eoforge.models.layers import conv_bn_relu

DEFAULT_DECODER_CHANNELS = (256, 128, 64, 32, 16)


class UNetDecoder(nn.Module):
    """Upsample from the deepest feature, concatenating each shallower skip.

    Args:
        feature_channels: Channels of the features at strides 2, 4, ...,
            ``2**n`` (shallow to deep); a stage may have 0 channels.
        decoder_channels: Output channels of the ``n`` decoder blocks, deep to
            shallow; the last block works at stride 1 (the input size).
    """

    def __init__(
        self,
        feature_channels: list[int],
        decoder_channels: tuple[int, ...] = DEFAULT_DECODER_CHANNELS,
    ) -> None:
        super().__init__()
        depth = len(feature_channels)
        channels = list(decoder_channels[:depth])
        skips = [*reversed(feature_channels[:-1]), 0]
        inputs = [feature_channels[-1], *channels[:-1]]
        self.blocks = nn.ModuleList(
            nn.Sequential(conv_bn_relu(cin + skip, cout), conv_bn_relu(cout, cout))
            for cin, skip, cout in zip(inputs, skips, channels, strict=True)
        )
        self.out_channels = channels[-1]

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Decode ``features`` (strides 2 to ``2**n``, shallow to deep).

        Args:
            features: ``n`` maps ``[B, C_i, H / 2**(i+1), W / 2**(i+1)]``.

        Returns:
            ``[B, decoder_channels[n-1], H, W]``.
        """
        x = features[-1]
        skips = [*reversed(features[:-1]), None]
        for block, skip in zip(self.blocks, skips, strict=True):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            if skip is not None:
                x = torch.cat([x, skip], dim=1)
            x = block(x)
        return x
