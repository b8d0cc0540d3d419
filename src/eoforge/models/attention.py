"""Attention and regularisation blocks for scene classification.

The balanced attention block follows the seed paper on EuroSAT ("balanced
multi-task attention"): Coordinate Attention extracts spatial features,
Squeeze-and-Excitation spectral (channel) features, and a learnable fusion
weight ``alpha`` mixes them (the paper reports it converging near 0.57).
DropBlock drops contiguous square regions of feature maps (Ghiasi et al.,
2018), which regularises convolutional features better than dropout.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import drop_block2d


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al., 2018): ``x * sigmoid(MLP(avgpool(x)))``.

    Args:
        channels: Channels C of the input ``[B, C, H, W]``.
        reduction: Bottleneck ratio of the MLP.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 8)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reweight the channels of ``x`` ``[B, C, H, W]``; same shape out."""
        gated: torch.Tensor = x * self.gate(x)
        return gated


class CoordinateAttention(nn.Module):
    """Coordinate attention (Hou et al., 2021).

    Pools along W and along H separately, encodes both directions with a
    shared 1x1 conv, and gates ``x`` with a per-row and a per-column map, so
    the attention keeps positional information along each axis.

    Args:
        channels: Channels C of the input ``[B, C, H, W]``.
        reduction: Bottleneck ratio of the shared encoding.
    """

    def __init__(self, channels: int, reduction: int = 32) -> None:
        super().__init__()
        hidden = max(channels // reduction, 8)
        self.encode = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.Hardswish(inplace=True),
        )
        self.to_rows = nn.Conv2d(hidden, channels, 1)
        self.to_cols = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate ``x`` ``[B, C, H, W]`` by row and column attention; same shape out."""
        height = x.shape[-2]
        rows = x.mean(dim=3, keepdim=True)  # [B, C, H, 1]
        cols = x.mean(dim=2, keepdim=True).transpose(2, 3)  # [B, C, W, 1]
        encoded = self.encode(torch.cat([rows, cols], dim=2))
        row_code, col_code = encoded.split([height, encoded.shape[2] - height], dim=2)
        row_gate = torch.sigmoid(self.to_rows(row_code))  # [B, C, H, 1]
        col_gate = torch.sigmoid(self.to_cols(col_code.transpose(2, 3)))  # [B, C, 1, W]
        gated: torch.Tensor = x * row_gate * col_gate
        return gated


class BalancedAttention(nn.Module):
    """Coordinate attention and squeeze-excitation fused by a learned weight.

    ``out = alpha * CA(x) + (1 - alpha) * SE(x)`` with
    ``alpha = sigmoid(fusion_logit)``, initialised to 0.5, so alpha stays in
    (0, 1) while it learns the balance of spatial and spectral attention.

    Args:
        channels: Channels C of the input ``[B, C, H, W]``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.spatial = CoordinateAttention(channels)
        self.spectral = SqueezeExcitation(channels)
        self.fusion_logit = nn.Parameter(torch.zeros(()))

    @property
    def alpha(self) -> float:
        """Current weight of the spatial (coordinate attention) branch."""
        return float(torch.sigmoid(self.fusion_logit.detach()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over ``x`` ``[B, C, H, W]``; same shape out."""
        alpha = torch.sigmoid(self.fusion_logit)
        fused: torch.Tensor = alpha * self.spatial(x) + (1 - alpha) * self.spectral(x)
        return fused


class DropBlock(nn.Module):
    """DropBlock on ``[B, C, H, W]`` feature maps, active in training only.

    Wraps :func:`torchvision.ops.drop_block2d` and shrinks the block (to the
    largest odd size that fits) on maps smaller than ``block_size``, such as
    the deepest features of small chips.

    Args:
        drop_prob: Fraction of activations to drop (the paper uses 0.05 to
            0.2, growing with depth).
        block_size: Side of the dropped squares in pixels of the feature map.
    """

    def __init__(self, drop_prob: float = 0.1, block_size: int = 3) -> None:
        super().__init__()
        self.drop_prob = drop_prob
        self.block_size = block_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Drop blocks of ``x`` in training; identity in evaluation."""
        if not self.training or self.drop_prob <= 0.0:
            return x
        block = min(self.block_size, x.shape[-2], x.shape[-1])
        block = max(1, block - (1 - block % 2))  # torchvision needs an odd block size
        dropped: torch.Tensor = drop_block2d(x, self.drop_prob, block, training=True)
        return dropped
