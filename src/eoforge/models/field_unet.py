"""Field-boundary network: a U-Net trunk with three conditioned heads (ResUNet-a style).

``[B, C, H, W] -> [B, 3, H, W]`` probabilities in ``[0, 1]``, channels ``extent``,
``boundary``, ``distance`` (:data:`~eoforge.transforms.field_targets.TARGET_NAMES`).
As in ResUNet-a's conditioned multitasking (Diakogiannis et al. 2020; Waldner and
Diakogiannis 2020), the distance head reads the trunk's features, the boundary head
reads them with the predicted distance, and the extent head with both: the
distance to the edge tells where edges can be, and both tell where fields are.
The trunk is segmentation-models-pytorch's U-Net on any smp encoder, its last
layer giving ``head_channels`` features instead of class scores.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import segmentation_models_pytorch as smp
import torch
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.backbones import require_smp_encoder
from eoforge.models.registry import register_model
from eoforge.models.segmentation import PaddedSegmenter
from eoforge.models.spec import ModelSpec

FIELD_ARCH = "field_unet"
OWN_OPTIONS = ("head_channels",)
"""Spec options of this network; the others go to the smp U-Net (e.g. ``decoder_channels``)."""


def _head(in_channels: int, hidden: int) -> nn.Sequential:
    """3x3 conv, batch norm, ReLU, 1x1 conv to one logit, sigmoid."""
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, 1, 1),
        nn.Sigmoid(),
    )


class FieldHeads(nn.Module):
    """Distance, then boundary (given distance), then extent (given both).

    Args:
        trunk: Network ``[B, C, H, W] -> [B, F, H, W]`` features (or any inputs the
            trunk takes, e.g. a time series' ``(images, present, series)``).
        features: ``F``.
        hidden: Width of each head's hidden layer.
    """

    def __init__(self, trunk: nn.Module, features: int, hidden: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.distance = _head(features, hidden)
        self.boundary = _head(features + 1, hidden)
        self.extent = _head(features + 2, hidden)

    def forward(self, *inputs: Any) -> torch.Tensor:
        """Probabilities ``[B, 3, H, W]``: extent, boundary, distance (``inputs``: the trunk's)."""
        features = torch.relu(self.trunk(*inputs))
        distance = self.distance(features)
        boundary = self.boundary(torch.cat([features, distance], dim=1))
        extent = self.extent(torch.cat([features, distance, boundary], dim=1))
        return torch.cat([extent, boundary, distance], dim=1)


def check_outputs(spec: ModelSpec) -> int:
    """The heads' hidden width (``options.head_channels``, default 32) of a 3-map spec.

    Raises:
        ConfigError: ``num_classes`` is not 3.
    """
    if spec.num_classes != 3:
        raise ConfigError(
            f"{spec.arch} predicts 3 maps (extent, boundary, distance), not {spec.num_classes}.",
            fix="build it for task field_boundaries with num_classes 3.",
        )
    return int(spec.options.get("head_channels", 32))


def field_unet_net(spec: ModelSpec, in_channels: int, own: Iterable[str] = ()) -> nn.Module:
    """The padded U-Net with field heads on ``in_channels`` inputs.

    Args:
        spec: The spec (``num_classes`` 3; backbone and U-Net options).
        in_channels: Input channels of the U-Net.
        own: Further spec options that are not the U-Net's (a caller's own).

    Raises:
        ConfigError: ``num_classes`` is not 3, or the U-Net rejects an option.
    """
    hidden = check_outputs(spec)
    skip = {*OWN_OPTIONS, *own}
    options: dict[str, Any] = {k: v for k, v in spec.options.items() if k not in skip}
    try:
        trunk = smp.Unet(
            encoder_name=require_smp_encoder(spec.backbone),
            encoder_weights=None,
            in_channels=in_channels,
            classes=hidden,
            **options,
        )
    except TypeError as error:
        raise ConfigError(
            f"model.options: the U-Net rejects the options {sorted(options)}: {error}.",
            fix=f"remove the options it does not take (its own: {', '.join(sorted(skip))}).",
        ) from None
    return PaddedSegmenter(FieldHeads(trunk, hidden, hidden))


def build_field_unet(spec: ModelSpec) -> nn.Module:
    """The network of ``spec`` (``num_classes`` must be 3).

    Raises:
        ConfigError: ``num_classes`` is not 3, or the U-Net rejects an option.
    """
    return field_unet_net(spec, spec.in_channels)


@register_model(
    FIELD_ARCH,
    ("field_boundaries",),
    "U-Net trunk with conditioned distance -> boundary -> extent heads (ResUNet-a style)",
)
def _factory(spec: ModelSpec) -> nn.Module:
    return build_field_unet(spec)
