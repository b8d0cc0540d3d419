"""A small fully convolutional network: a fast baseline and a cheap model for whole-scene runs.

``depth`` 3x3 convolutions of ``width`` channels (batch norm, ReLU) and a 1x1
head: a receptive field of ``2 * depth + 1`` pixels, any input size.
"""

from __future__ import annotations

from torch import nn

from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec


def simple_cnn(in_channels: int, outputs: int, width: int = 16, depth: int = 2) -> nn.Sequential:
    """``[B, C, H, W] -> [B, K, H, W]`` with ``depth`` same-padded 3x3 conv blocks."""
    layers: list[nn.Module] = []
    channels = in_channels
    for _ in range(depth):
        layers += [
            nn.Conv2d(channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        channels = width
    layers.append(nn.Conv2d(channels, outputs, 1))
    return nn.Sequential(*layers)


@register_model(
    "simple_cnn",
    ("segmentation", "pixel_regression", "image_to_image"),
    "a few 3x3 conv layers (options: width, depth): fast baseline, cheap scene runs",
)
def _simple_cnn(spec: ModelSpec) -> nn.Module:
    width = int(spec.options.get("width", 16))
    depth = int(spec.options.get("depth", 2))
    return simple_cnn(spec.in_channels, spec.num_classes, width, depth)
