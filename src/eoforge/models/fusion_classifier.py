"""Scene classification from several input groups: one encoder per group, pooled and fused.

Samples with several inputs (``data.inputs``: e.g. BigEarthNet's Sentinel-2
10 m bands at 10 m, its 20 m bands at 20 m and Sentinel-1 at 10 m) hold one
image per group on the group's own grid over the same footprint.
:class:`FusionClassifier` runs one encoder per group on its native pixels,
averages each group's deepest feature map over space (so grids of any size
fuse without resampling), zeroes the features of absent groups, concatenates
the pooled features with one presence flag per group and maps them to the
class logits with one linear layer (multi-label or single-label scene
classification).

``modality_dropout: p`` drops each present group of each training sample with
probability ``p`` (never every group of a sample), as
:class:`~eoforge.models.fusion.FusionUNet` does.

Contract: ``forward(images, present)`` with ``images`` a dict of standardised
``[B, C_g, H_g, W_g]`` tensors (one per group, channels in the group's band
order) and ``present`` a dict of bool ``[B]``; returns logits ``[B, K]``.
"""

from __future__ import annotations

import torch
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.backbones import feature_channels, smp_encoder
from eoforge.models.fusion import input_groups, presence_flags, require_groups
from eoforge.models.layers import pad_to_multiple
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec

CLASSIFIER_FUSION_ARCHS = ("fusion_classifier",)
"""Scene-level architectures taking several input groups (``data.inputs``)."""


class FusionClassifier(nn.Module):
    """Per-group encoders at native resolution, features pooled per group, one linear head.

    Args:
        spec: Model spec. ``options``: ``inputs`` (``{name: {bands, gsd}}``,
            filled from ``data.inputs``), ``modality_dropout`` (probability,
            training only), ``encoder_depth`` (default 5) and ``dropout``
            (before the head, default 0). ``backbone`` is any smp encoder or
            ``tu-<timm model>``; each group's encoder takes its own band count.

    Raises:
        ConfigError: Bad groups or options.
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        options = spec.options
        groups = input_groups(spec)
        self.names = list(groups)
        self.modality_dropout = float(options.get("modality_dropout", 0.0))
        if not 0.0 <= self.modality_dropout < 1.0:
            raise ConfigError(
                f"model.options.modality_dropout: {self.modality_dropout} is not a probability "
                "in [0, 1).",
                fix="use e.g. 0.2 (or 0 for none).",
            )
        depth = int(options.get("encoder_depth", 5))
        self.multiple = 2**depth
        self.encoders = nn.ModuleDict(
            {name: smp_encoder(spec.backbone, len(groups[name]["bands"]), depth) for name in groups}
        )
        width = sum(feature_channels(self.encoders[n])[-1] for n in self.names) + len(self.names)
        self.dropout = nn.Dropout(float(options.get("dropout", 0.0)))
        self.head = nn.Linear(width, spec.num_classes)

    def presence(
        self, images: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Presence ``[B, G]`` (float), with modality dropout applied in training."""
        drop = self.modality_dropout if self.training else 0.0
        return presence_flags(images[self.names[0]], present, self.names, drop)

    def forward(
        self, images: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Logits ``[B, K]``.

        Args:
            images: Per group, standardised ``[B, C_g, H_g, W_g]`` (zeros where absent).
            present: Per group, bool ``[B]``.
        """
        require_groups(self.names, images, present)
        flags = self.presence(images, present)
        pooled = []
        for g, name in enumerate(self.names):
            on = flags[:, g].view(-1, 1)
            x = images[name] * on.view(-1, 1, 1, 1)
            height, width = x.shape[-2:]
            padded, _ = pad_to_multiple(x, self.multiple)
            deepest = self.encoders[name](padded)[-1]
            # the padding's share of the deepest map left out of the mean
            rows = -(-height // (padded.shape[-2] // deepest.shape[-2]))
            cols = -(-width // (padded.shape[-1] // deepest.shape[-1]))
            pooled.append(deepest[..., :rows, :cols].mean(dim=(-2, -1)) * on)
        logits: torch.Tensor = self.head(self.dropout(torch.cat([*pooled, flags], dim=1)))
        return logits


@register_model(
    "fusion_classifier",
    ("multilabel", "classification"),
    "several input groups (data.inputs), one encoder each at its native resolution, each "
    "group's features pooled, concatenated with presence flags, one linear head; modality "
    "dropout",
)
def _fusion_classifier(spec: ModelSpec) -> nn.Module:
    return FusionClassifier(spec)
