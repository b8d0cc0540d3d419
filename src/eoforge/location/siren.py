"""SIREN: a multilayer perceptron with sine activations (Sitzmann et al., 2020).

Each hidden layer is ``sin(w0 · (W x + b))``. The initialisation is the
paper's: the first layer's weights are uniform in ``±1 / fan_in`` (its
``w0_initial`` sets the frequencies the network starts from), every later
layer's in ``±√(6 / fan_in) / w0``, so activations keep the same
arcsine distribution layer after layer whatever the depth. The last layer is
linear (no sine), as SatCLIP's location encoder has it.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn


class SineLayer(nn.Module):
    """``sin(w0 · linear(x))`` with SIREN's initialisation.

    Args:
        fan_in: Input width.
        fan_out: Output width.
        w0: Frequency factor.
        first: The network's first layer (weights ``±1 / fan_in``).
    """

    def __init__(self, fan_in: int, fan_out: int, *, w0: float, first: bool) -> None:
        super().__init__()
        self.w0 = float(w0)
        self.linear = nn.Linear(fan_in, fan_out)
        bound = 1.0 / fan_in if first else math.sqrt(6.0 / fan_in) / self.w0
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound)
            self.linear.bias.uniform_(-bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """``[..., fan_in] -> [..., fan_out]``."""
        return torch.sin(self.w0 * self.linear(x))


class Siren(nn.Module):
    """``layers`` sine layers of width ``hidden``, then a linear layer to ``dim``.

    Args:
        fan_in: Input width.
        hidden: Width of the sine layers.
        layers: Number of sine layers (>= 1).
        dim: Output width.
        w0: Frequency factor of the hidden sine layers.
        w0_initial: Frequency factor of the first sine layer.
    """

    def __init__(
        self,
        fan_in: int,
        hidden: int,
        layers: int,
        dim: int,
        *,
        w0: float = 1.0,
        w0_initial: float = 30.0,
    ) -> None:
        super().__init__()
        widths = [fan_in] + [hidden] * layers
        self.body = nn.Sequential(
            *(
                SineLayer(a, b, w0=w0_initial if i == 0 else w0, first=i == 0)
                for i, (a, b) in enumerate(itertools.pairwise(widths))
            )
        )
        self.last = nn.Linear(hidden, dim)
        bound = math.sqrt(6.0 / hidden) / w0
        with torch.no_grad():
            self.last.weight.uniform_(-bound, bound)
            self.last.bias.uniform_(-bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """``[..., fan_in] -> [..., dim]``."""
        output: Tensor = self.last(self.body(x))
        return output
