"""LENet-style attention change detection, compact.

From "A Remote Sensing Image Change Detection Method Integrating Layer
Exchange and Channel-Spatial Differences" (LENet, in the papers this project
serves), at small scale:

* **Channel-Spatial Difference Weighting (CSDW).** For bi-temporal features
  ``a, b`` ``[B, C, H, W]``, a spatial weight ``1 - sigmoid(cos_C(a, b))``
  ``[B, 1, H, W]`` (cosine over channels at each pixel) and a channel weight
  ``1 - sigmoid(cos_HW(a, b))`` ``[B, C, 1, 1]`` (cosine over pixels for each
  channel) are multiplied into one weight ``w``; each date is refined by a
  residual conv block on ``x * w``, so dissimilar places and channels are
  emphasised.
* **Layer exchange (LE).** Features of the two dates are swapped at every
  other scale, before and after the lateral projections, so each stream mixes
  both dates.
* **Exchange decoding.** Top-down, each date's decoder input at a scale adds
  the *other* date's upsampled decoding, is refined, concatenated with the
  other date's features and fused by a 1x1 conv + squeeze-excitation; CSDW
  reweights the decoded pair again below the top scale.

Differences from the paper (to stay small and backbone-agnostic): any smp
encoder instead of a Swin-V2 with CSDW inside the backbone (CSDW is applied
on the encoder outputs), 1x1 laterals instead of an FPN neck, and conv blocks
instead of Swin blocks in the decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eoforge.models.attention import SqueezeExcitation
from eoforge.models.backbones import feature_channels, smp_encoder
from eoforge.models.change import split_dates
from eoforge.models.layers import conv_bn_relu, crop_to, pad_to_multiple
from eoforge.models.registry import register_model
from eoforge.models.segmentation import OUTPUT_STRIDE
from eoforge.models.spec import ModelSpec

DECODER_LEVELS = 4

FeaturePair = tuple[list[torch.Tensor], list[torch.Tensor]]


def _residual_branch(channels: int) -> nn.Sequential:
    return nn.Sequential(
        conv_bn_relu(channels, channels),
        nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels),
    )


class ChannelSpatialDifferenceWeighting(nn.Module):
    """CSDW: weight both dates by their spatial and channel dissimilarity.

    Args:
        channels: Channels C of both inputs.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.refine_first = _residual_branch(channels)
        self.refine_second = _residual_branch(channels)

    @staticmethod
    def weights(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """Difference weights ``[B, C, H, W]`` in (0.26, 0.74) for two ``[B, C, H, W]``."""
        spatial = 1 - torch.sigmoid(F.cosine_similarity(first, second, dim=1)).unsqueeze(1)
        channel = 1 - torch.sigmoid(F.cosine_similarity(first.flatten(2), second.flatten(2), dim=2))
        return spatial * channel[..., None, None]

    def forward(
        self, first: torch.Tensor, second: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Refined ``(first, second)``, each ``[B, C, H, W]``."""
        weight = self.weights(first, second)
        refined_first = first + self.refine_first(first * weight)
        refined_second = second + self.refine_second(second * weight)
        return refined_first, refined_second


def exchange_layers(first: list[torch.Tensor], second: list[torch.Tensor]) -> FeaturePair:
    """Swap the two dates' features at scales 0, 2, 4, ... (layer exchange)."""
    pairs = list(enumerate(zip(first, second, strict=True)))
    out_first = [b if i % 2 == 0 else a for i, (a, b) in pairs]
    out_second = [a if i % 2 == 0 else b for i, (a, b) in pairs]
    return out_first, out_second


class ExchangeStage(nn.Module):
    """One decoder scale of one date: refine, concat the other date, fuse.

    Args:
        width: Channels of the decoder features.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.refine = conv_bn_relu(width, width)
        self.fuse = nn.Sequential(conv_bn_relu(2 * width, width, 1), SqueezeExcitation(width))

    def forward(self, own: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        """Fused ``[B, W, h, w]`` from own and other-date ``[B, W, h, w]``."""
        fused: torch.Tensor = self.fuse(torch.cat([self.refine(own), other], dim=1))
        return fused


class LENetChange(nn.Module):
    """Compact LENet: shared encoder, CSDW, layer exchange, exchange decoding.

    Args:
        spec: Model spec; ``spec.backbone`` is any smp encoder (or
            ``tu-<timm model>``) with at least 4 non-empty scales;
            ``options["width"]`` sets the decoder width (default 64).
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        width = int(spec.options.get("width", 64))
        self.encoder = smp_encoder(spec.backbone, spec.in_channels)
        channels = [c for c in feature_channels(self.encoder) if c > 0][-DECODER_LEVELS:]
        self.encoder_csdw = nn.ModuleList(ChannelSpatialDifferenceWeighting(c) for c in channels)
        self.lateral_first = nn.ModuleList(nn.Conv2d(c, width, 1) for c in channels)
        self.lateral_second = nn.ModuleList(nn.Conv2d(c, width, 1) for c in channels)
        self.stages_first = nn.ModuleList(ExchangeStage(width) for _ in channels)
        self.stages_second = nn.ModuleList(ExchangeStage(width) for _ in channels)
        self.decoder_csdw = nn.ModuleList(
            ChannelSpatialDifferenceWeighting(width) for _ in channels[:-1]
        )
        self.head = nn.Sequential(
            conv_bn_relu(2 * width * len(channels), width, 1),
            nn.Conv2d(width, spec.num_classes, 3, padding=1),
        )

    def _encode(self, first: torch.Tensor, second: torch.Tensor) -> FeaturePair:
        levels = len(self.encoder_csdw)
        feats_first = [f for f in self.encoder(first)[1:] if f.shape[1] > 0][-levels:]
        feats_second = [f for f in self.encoder(second)[1:] if f.shape[1] > 0][-levels:]
        pairs = [
            csdw(a, b)
            for csdw, a, b in zip(self.encoder_csdw, feats_first, feats_second, strict=True)
        ]
        feats_first, feats_second = exchange_layers([a for a, _ in pairs], [b for _, b in pairs])
        lat_first = [conv(f) for conv, f in zip(self.lateral_first, feats_first, strict=True)]
        lat_second = [conv(f) for conv, f in zip(self.lateral_second, feats_second, strict=True)]
        return exchange_layers(lat_first, lat_second)

    def _decode(self, first: list[torch.Tensor], second: list[torch.Tensor]) -> list[torch.Tensor]:
        top = len(first) - 1
        dec_a = self.stages_first[top](first[top], second[top])
        dec_b = self.stages_second[top](second[top], first[top])
        maps = [torch.cat([dec_a, dec_b], dim=1)]
        for level in range(top - 1, -1, -1):
            size = first[level].shape[-2:]
            own_a = first[level] + F.interpolate(dec_b, size=size, mode="bilinear")
            own_b = second[level] + F.interpolate(dec_a, size=size, mode="bilinear")
            dec_a = self.stages_first[level](own_a, own_b)
            dec_b = self.stages_second[level](own_b, own_a)
            dec_a, dec_b = self.decoder_csdw[level](dec_a, dec_b)
            maps.append(torch.cat([dec_a, dec_b], dim=1))
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Change logits ``[B, K, H, W]`` for ``x`` ``[B, 2, C, H, W]``."""
        padded, size = pad_to_multiple(x, OUTPUT_STRIDE)
        first, second = split_dates(padded)
        maps = self._decode(*self._encode(first, second))
        finest = maps[-1].shape[-2:]
        stacked = torch.cat([F.interpolate(m, size=finest, mode="bilinear") for m in maps], dim=1)
        logits = F.interpolate(self.head(stacked), size=padded.shape[-2:], mode="bilinear")
        return crop_to(logits, size)


@register_model(
    "lenet_cd",
    ("change",),
    "LENet-style attention: channel-spatial difference weighting + layer exchange decoding",
)
def _lenet_cd(spec: ModelSpec) -> nn.Module:
    return LENetChange(spec)
