"""Small building blocks shared by the networks: conv blocks and padding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Convolution (same padding, no bias) + batch norm + ReLU; keeps H and W."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the last two dimensions up to a multiple of ``multiple``.

    Replicate padding is applied on the bottom and right, so pixel ``(i, j)``
    keeps its position and :func:`crop_to` undoes it.

    Args:
        x: Tensor ``[..., H, W]``.
        multiple: Required divisor of H and W (the network's output stride).

    Returns:
        The padded tensor ``[..., H', W']`` and the original ``(H, W)``.
    """
    height, width = x.shape[-2:]
    pad_h = -height % multiple
    pad_w = -width % multiple
    if pad_h or pad_w:
        flat = x.reshape(-1, *x.shape[-3:]) if x.dim() > 4 else x
        flat = F.pad(flat, (0, pad_w, 0, pad_h), mode="replicate")
        x = flat.reshape(*x.shape[:-2], height + pad_h, width + pad_w)
    return x, (height, width)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop ``[..., H', W']`` to the top-left ``[..., H, W]`` of ``size``."""
    return x[..., : size[0], : size[1]]
