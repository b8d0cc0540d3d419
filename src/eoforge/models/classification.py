"""Scene-level networks: classification, multi-label and regression.

``[B, C, H, W] -> [B, K]`` logits (or regression values). Any timm backbone
works (ResNet, ConvNeXt, EfficientNet, ViT, Swin, ...); ViT and Swin need a
fixed input size, given as ``options["img_size"]``.
"""

from __future__ import annotations

import torch
from torch import nn

from eoforge.models.attention import BalancedAttention, DropBlock
from eoforge.models.backbones import feature_channels, is_channels_last, timm_model
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec, Task

SCENE_TASKS: tuple[Task, ...] = ("classification", "multilabel", "regression")


class TimmClassifier(nn.Module):
    """A timm model with ``len(in_bands)`` input channels and a K-way head.

    Args:
        spec: Model spec; ``spec.options`` go to ``timm.create_model``
            (e.g. ``img_size``, ``drop_rate``).
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.backbone = timm_model(
            spec.backbone, spec.in_channels, num_classes=spec.num_classes, **spec.options
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, K]`` for images ``[B, C, H, W]``."""
        logits: torch.Tensor = self.backbone(x)
        return logits


class BalancedAttentionClassifier(nn.Module):
    """timm feature extractor + balanced attention + DropBlock + linear head.

    The deepest feature map goes through :class:`BalancedAttention`, then
    :class:`DropBlock`, global average pooling, dropout and a linear layer.

    Args:
        spec: Model spec. Options: ``drop_block`` (default 0.1; the seed
            paper grows 0.05 to 0.2 with depth, the deepest gets 0.2 there),
            ``block_size`` (3), ``dropout`` (0.2), ``img_size`` (ViT/Swin).
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        options = dict(spec.options)
        drop_block = float(options.pop("drop_block", 0.1))
        block_size = int(options.pop("block_size", 3))
        dropout = float(options.pop("dropout", 0.2))
        self.backbone = timm_model(spec.backbone, spec.in_channels, features_only=True, **options)
        channels = feature_channels(self.backbone)[-1]
        self.channels_last = is_channels_last(self.backbone)
        self.attention = BalancedAttention(channels)
        self.drop_block = DropBlock(drop_block, block_size)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels, spec.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, K]`` for images ``[B, C, H, W]``."""
        features = self.backbone(x)[-1]
        if self.channels_last:
            features = features.permute(0, 3, 1, 2)
        logits: torch.Tensor = self.head(self.drop_block(self.attention(features)))
        return logits


@register_model(
    "timm_classifier",
    SCENE_TASKS,
    "any timm backbone (ResNet, ConvNeXt, EfficientNet, ViT, Swin) with its own head",
)
def _timm_classifier(spec: ModelSpec) -> nn.Module:
    return TimmClassifier(spec)


@register_model(
    "balanced_attention",
    SCENE_TASKS,
    "timm features + balanced attention (coordinate attention + SE, learned fusion) + DropBlock",
)
def _balanced_attention(spec: ModelSpec) -> nn.Module:
    return BalancedAttentionClassifier(spec)
