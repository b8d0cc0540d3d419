"""Cost of a network: floating-point operations of one forward pass and parameters.

FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode`, which
counts one multiply-add as 2 FLOPs (a convolution ``[O, C/g, k, k]`` producing
``H' x W'`` outputs per image costs ``2 * O * C/g * k * k * H' * W'``). Only
convolutions, matrix products and attention are counted; biases, activations,
normalisation, pooling and non-maximum suppression are not. The reported
``gflops`` is that count / 1e9, i.e. ``2 x`` GMACs.
"""

from __future__ import annotations

from typing import TypedDict

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


class Profile(TypedDict):
    """Cost of one network.

    Attributes:
        gflops: Forward-pass FLOPs for one image / 1e9 (2 FLOPs per multiply-add).
        parameters: Number of parameters (all of them, trainable or not).
    """

    gflops: float
    parameters: int


def profile(model: nn.Module, in_channels: int, size: int, *, seed: int = 0) -> Profile:
    """FLOPs of one forward pass of ``model`` in evaluation mode on one ``size x size`` image.

    The image ``[1, in_channels, size, size]`` is standard normal noise from
    ``seed`` (a detector's second stage can depend on the input through the
    number of proposals). The model's training mode is restored afterwards.

    Args:
        model: Network taking ``[B, C, H, W]``.
        in_channels: ``C``.
        size: Height and width in pixels.
        seed: Seed of the input noise.

    Returns:
        GFLOPs (2 FLOPs per multiply-add) and parameter count.
    """
    generator = torch.Generator().manual_seed(seed)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    image = torch.randn(1, in_channels, size, size, generator=generator).to(device)
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(image)
    finally:
        model.train(was_training)
    return Profile(
        gflops=counter.get_total_flops() / 1e9,
        parameters=sum(p.numel() for p in model.parameters()),
    )
