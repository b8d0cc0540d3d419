"""Change-detection networks: early fusion and Siamese FC-Siam-diff / -conc.

All take two co-registered dates ``[B, 2, C, H, W]`` and return change logits
``[B, K, H, W]`` (binary change uses K = 2). Any H and W are accepted: inputs
are padded to a multiple of 32 and outputs cropped back.

* Early fusion stacks both dates as ``2C`` channels into one segmentation
  network (Daudt et al., 2018, "FC-EF").
* FC-Siam-diff and FC-Siam-conc (Daudt et al., 2018) run one shared encoder
  on each date and feed a U-Net-like decoder per-scale ``|f1 - f2|`` or
  ``[f1, f2]``. Unlike the original, which decodes from the second date's
  bottleneck, the deepest scale is fused like the others, so swapping the
  dates of FC-Siam-diff gives the same output.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from eoforge.models.backbones import feature_channels, smp_encoder
from eoforge.models.decoder import DEFAULT_DECODER_CHANNELS, UNetDecoder
from eoforge.models.layers import crop_to, pad_to_multiple
from eoforge.models.registry import register_model
from eoforge.models.segmentation import OUTPUT_STRIDE, build_smp
from eoforge.models.spec import ModelSpec

Fusion = Literal["diff", "conc"]


def split_dates(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a bi-temporal batch ``[B, 2, C, H, W]`` into two ``[B, C, H, W]``.

    Raises:
        ValueError: When ``x`` is not ``[B, 2, C, H, W]``.
    """
    if x.dim() != 5 or x.shape[1] != 2:
        raise ValueError(
            f"change models take [B, 2, C, H, W] (two dates), got shape {tuple(x.shape)}."
        )
    return x[:, 0], x[:, 1]


class EarlyFusion(nn.Module):
    """Concatenate both dates as ``2C`` channels and segment them.

    Args:
        spec: Model spec; ``options["decoder"]`` picks the smp decoder
            (``unet`` default, ``deeplabv3plus``, ``fpn``, ``upernet``); other
            options go to that decoder.
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        decoder = str(spec.options.get("decoder", "unet"))
        self.segmenter = build_smp(decoder, spec, 2 * spec.in_channels)
        self.stem_bands = [*spec.in_bands, *spec.in_bands]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Change logits ``[B, K, H, W]`` for ``x`` ``[B, 2, C, H, W]``."""
        split_dates(x)
        logits: torch.Tensor = self.segmenter(x.flatten(1, 2))
        return logits


class SiameseUNet(nn.Module):
    """Shared encoder on both dates; per-scale fusion; U-Net-like decoder.

    Args:
        spec: Model spec; ``spec.backbone`` is any smp encoder or
            ``tu-<timm model>``; ``options["decoder_channels"]`` sets the
            decoder widths (default 256, 128, 64, 32, 16).
        fusion: ``"diff"`` (absolute difference) or ``"conc"`` (concatenation).
    """

    def __init__(self, spec: ModelSpec, fusion: Fusion) -> None:
        super().__init__()
        self.fusion = fusion
        self.encoder = smp_encoder(spec.backbone, spec.in_channels)
        channels = feature_channels(self.encoder)
        fused = channels if fusion == "diff" else [2 * c for c in channels]
        widths = tuple(spec.options.get("decoder_channels", DEFAULT_DECODER_CHANNELS))
        self.decoder = UNetDecoder(fused, widths)
        self.head = nn.Conv2d(self.decoder.out_channels, spec.num_classes, 3, padding=1)

    def _fuse(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        if self.fusion == "diff":
            return (first - second).abs()
        return torch.cat([first, second], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Change logits ``[B, K, H, W]`` for ``x`` ``[B, 2, C, H, W]``."""
        padded, size = pad_to_multiple(x, OUTPUT_STRIDE)
        first, second = split_dates(padded)
        pairs = zip(self.encoder(first)[1:], self.encoder(second)[1:], strict=True)
        decoded = self.decoder([self._fuse(a, b) for a, b in pairs])
        logits: torch.Tensor = self.head(decoded)
        return crop_to(logits, size)


@register_model(
    "early_fusion", ("change",), "both dates stacked as 2C channels into an smp segmenter"
)
def _early_fusion(spec: ModelSpec) -> nn.Module:
    return EarlyFusion(spec)


@register_model(
    "fc_siam_diff", ("change",), "FC-Siam-diff: shared encoder, per-scale |f1-f2|, U-Net decoder"
)
def _fc_siam_diff(spec: ModelSpec) -> nn.Module:
    return SiameseUNet(spec, "diff")


@register_model(
    "fc_siam_conc", ("change",), "FC-Siam-conc: shared encoder, per-scale [f1,f2], U-Net decoder"
)
def _fc_siam_conc(spec: ModelSpec) -> nn.Module:
    return SiameseUNet(spec, "conc")
