"""Segmentation and pixel-regression networks: smp decoders on any encoder.

``[B, C, H, W] -> [B, K, H, W]`` for any H and W: the input is padded up to a
multiple of the encoder's output stride (32) and the output cropped back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import segmentation_models_pytorch as smp
import torch
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.backbones import require_smp_encoder
from eoforge.models.layers import crop_to, pad_to_multiple
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec

OUTPUT_STRIDE = 32

SPEC_ONLY_OPTIONS = ("decoder", "target_bands")
"""Spec options that describe the network, not smp constructor arguments (``target_bands``:
the output band names of an ``image_to_image`` model)."""

DECODERS: dict[str, Callable[..., nn.Module]] = {
    "unet": smp.Unet,
    "deeplabv3plus": smp.DeepLabV3Plus,
    "fpn": smp.FPN,
    "upernet": smp.UPerNet,
}


class PaddedSegmenter(nn.Module):
    """Wrap a dense network so it accepts any input size.

    Args:
        net: Network ``[B, C, H, W] -> [B, K, H, W]`` for H, W multiples of
            ``multiple``.
        multiple: Required divisor of the input size.
    """

    def __init__(self, net: nn.Module, multiple: int = OUTPUT_STRIDE) -> None:
        super().__init__()
        self.net = net
        self.multiple = multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (or regression values) ``[B, K, H, W]`` for ``x`` ``[B, C, H, W]``."""
        padded, size = pad_to_multiple(x, self.multiple)
        out: torch.Tensor = self.net(padded)
        return crop_to(out, size)


def build_smp(decoder: str, spec: ModelSpec, in_channels: int) -> nn.Module:
    """An smp ``decoder`` network on ``spec.backbone`` with ``in_channels`` inputs.

    ``spec.options`` are passed to the smp constructor (e.g.
    ``decoder_channels``).

    Raises:
        ConfigError: Unknown decoder, encoder or option.
    """
    if decoder not in DECODERS:
        raise ConfigError(
            f"model.options.decoder: unknown decoder {decoder!r}; use one of {sorted(DECODERS)}."
        )
    options = {k: v for k, v in spec.options.items() if k not in SPEC_ONLY_OPTIONS}
    kwargs: dict[str, Any] = {
        "encoder_name": require_smp_encoder(spec.backbone),
        "encoder_weights": None,
        "in_channels": in_channels,
        "classes": spec.num_classes,
        **options,
    }
    try:
        net = DECODERS[decoder](**kwargs)
    except TypeError as error:
        raise ConfigError(
            f"model.options: {decoder} rejects the options {sorted(options)}: {error}.",
            fix="remove the options the decoder does not take.",
        ) from None
    return PaddedSegmenter(net)


def _register(name: str, title: str) -> None:
    @register_model(
        name,
        ("segmentation", "pixel_regression", "image_to_image"),
        f"{title} (segmentation-models-pytorch) on any smp encoder or tu-<timm model>",
    )
    def factory(spec: ModelSpec) -> nn.Module:
        return build_smp(name, spec, spec.in_channels)


for _name, _title in (
    ("unet", "U-Net"),
    ("deeplabv3plus", "DeepLabV3+"),
    ("fpn", "FPN"),
    ("upernet", "UPerNet"),
):
    _register(_name, _title)
