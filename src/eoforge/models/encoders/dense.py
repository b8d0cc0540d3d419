"""Dense heads on the spectral encoders: ``[B, C, H, W] -> [B, K, H, W]`` for any H, W.

* :class:`ViTSegmenter`: SpectralViT patch tokens as a map ``[B, D, H / p, W / p]``
  -> ``log2(p)`` stages of bilinear x2 + conv-BN-ReLU -> 1x1 conv (SETR's
  progressive upsampling); the input is padded up to a multiple of ``p``.
* :class:`ResNetFPNSegmenter`: SpectralResNet stages (strides 4 - 32) -> FPN
  top-down path -> conv-BN-ReLU at stride 4 -> 1x1 conv -> bilinear x4; the
  input is padded up to a multiple of 32.

Outputs are cropped back to the input size; ``bands`` default to the
encoder's bound bands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from eoforge.models.encoders.cnn import SpectralResNet
from eoforge.models.encoders.vit import SpectralViT
from eoforge.models.layers import conv_bn_relu, crop_to, pad_to_multiple
from eoforge.sensors import Band

RESNET_STRIDE = 32


class ViTSegmenter(nn.Module):
    """SpectralViT patch tokens -> progressive upsampling -> ``[B, K, H, W]``.

    Args:
        encoder: The ViT.
        num_outputs: ``K``.
        decoder_channels: Channels of the first decoder stage; each later
            stage halves them (at least 32).
    """

    stem_bands: tuple[str, ...] = ()
    """No per-band stem weights: importing weights adapts nothing."""

    def __init__(self, encoder: SpectralViT, num_outputs: int, decoder_channels: int = 256) -> None:
        super().__init__()
        self.encoder = encoder
        stages = max(math.ceil(math.log2(encoder.patch_size)), 0)
        layers: list[nn.Module] = [conv_bn_relu(encoder.num_features, decoder_channels)]
        channels = decoder_channels
        for _ in range(stages):
            out = max(channels // 2, 32)
            layers += [
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                conv_bn_relu(channels, out),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, num_outputs, 1))
        self.decoder = nn.Sequential(*layers)

    def forward(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> torch.Tensor:
        """Logits (or values) ``[B, K, H, W]`` for any H, W; ``bands`` default to the bound ones."""
        padded, size = pad_to_multiple(image, self.encoder.patch_size)
        out: torch.Tensor = self.decoder(self.encoder.feature_map(padded, bands))
        if out.shape[-2:] != padded.shape[-2:]:
            out = F.interpolate(out, size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return crop_to(out, size)


class ResNetFPNSegmenter(nn.Module):
    """SpectralResNet stages -> FPN -> ``[B, K, H, W]``.

    Args:
        encoder: The ResNet.
        num_outputs: ``K``.
        decoder_channels: Channels of the FPN levels.
    """

    stem_bands: tuple[str, ...] = ()
    """No per-band stem weights: importing weights adapts nothing."""

    def __init__(
        self, encoder: SpectralResNet, num_outputs: int, decoder_channels: int = 128
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.lateral = nn.ModuleList(
            nn.Conv2d(channels, decoder_channels, 1) for channels in encoder.stage_channels
        )
        self.smooth = conv_bn_relu(decoder_channels, decoder_channels)
        self.classifier = nn.Conv2d(decoder_channels, num_outputs, 1)

    def forward(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> torch.Tensor:
        """Logits (or values) ``[B, K, H, W]`` for any H, W; ``bands`` default to the bound ones."""
        padded, size = pad_to_multiple(image, RESNET_STRIDE)
        stages = self.encoder.forward_stages(padded, bands)
        top = self.lateral[-1](stages[-1])
        for lateral, stage in zip(self.lateral[-2::-1], stages[-2::-1], strict=True):
            top = lateral(stage) + F.interpolate(top, size=stage.shape[-2:], mode="nearest")
        out: torch.Tensor = self.classifier(self.smooth(top))
        out = F.interpolate(out, size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return crop_to(out, size)
