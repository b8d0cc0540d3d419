"""Band-conditioned weight generator: the input kernels of a network, made per band set.

A small MLP turns each band's conditioning vector
(:class:`~eoforge.models.encoders.band_embedding.BandEmbedding`) into that
band's kernel ``[O, k, k]`` and a bias ``[O]``. Stacked over the bands they are
the weight ``[O, C, k, k]`` of an ordinary convolution, so one set of weights
serves any list of bands, in any order (DOFA's idea, without its transformer
across bands: a band's kernel depends on that band alone).

Magnitude: the stacked weight is divided by ``sqrt(C)`` and the bias is the
mean of the bands' biases. With ``C`` independent unit-variance bands the
outputs keep the same spread whatever ``C`` is (3 RGB bands or 200
hyperspectral ones); perfectly correlated bands would grow as ``sqrt(C)``.
At initialisation a band's kernel entries have standard deviation about
``1 / k``, so one band of unit variance gives outputs of about unit variance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.encoders.band_embedding import BandEmbedding
from eoforge.sensors import Band


@dataclass(frozen=True)
class GeneratedKernels:
    """Convolution parameters for one band list.

    Attributes:
        weight: ``[O, C, k, k]``, already divided by ``sqrt(C)``; band ``c``'s
            own kernel is ``weight[:, c:c + 1] * sqrt(C)`` (``[O, 1, k, k]``).
        bias: ``[O]``, the mean of the bands' biases.
    """

    weight: torch.Tensor
    bias: torch.Tensor


class KernelGenerator(nn.Module):
    """Generate ``[O, C, k, k]`` convolution weights from band names.

    Args:
        out_channels: ``O``, output channels of the generated convolution.
        kernel_size: ``k``.
        band_dim: Length of the band conditioning vectors.
        hidden: Width of the generator MLP.
        num_frequencies: Wavelength Fourier frequencies of the band embedding.
    """

    def __init__(
        self,
        out_channels: int,
        kernel_size: int,
        band_dim: int = 128,
        hidden: int = 128,
        num_frequencies: int = 16,
    ) -> None:
        super().__init__()
        if out_channels < 1 or kernel_size < 1 or hidden < 1:
            raise ConfigError(
                f"kernel generator: out_channels {out_channels}, kernel_size {kernel_size} "
                f"and hidden {hidden} must be positive.",
                fix="pass positive sizes.",
            )
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.band_embedding = BandEmbedding(band_dim, num_frequencies)
        self.mlp = nn.Sequential(
            nn.Linear(band_dim, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.LayerNorm(hidden),
        )
        self.kernel_head = nn.Linear(hidden, out_channels * kernel_size * kernel_size)
        self.bias_head = nn.Linear(hidden, out_channels)
        # The LayerNorm output has unit-variance entries, so this gives kernel entries of
        # std 1/k: one unit-variance band then yields unit-variance outputs.
        nn.init.normal_(self.kernel_head.weight, std=1.0 / (kernel_size * math.sqrt(hidden)))
        nn.init.zeros_(self.kernel_head.bias)
        nn.init.normal_(self.bias_head.weight, std=0.02 / math.sqrt(hidden))
        nn.init.zeros_(self.bias_head.bias)

    def band_kernels(self, bands: Sequence[str | Band]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each band's own kernel and bias, unscaled.

        Args:
            bands: Band names (or records), in channel order.

        Returns:
            ``[C, O, k, k]`` kernels and ``[C, O]`` biases.

        Raises:
            ConfigError: A band the encoder cannot embed.
        """
        hidden = self.mlp(self.band_embedding(bands))
        k = self.kernel_size
        kernels = self.kernel_head(hidden).view(len(bands), self.out_channels, k, k)
        biases: torch.Tensor = self.bias_head(hidden)
        return kernels, biases

    def forward(self, bands: Sequence[str | Band]) -> GeneratedKernels:
        """Convolution weight ``[O, C, k, k]`` and bias ``[O]`` for ``bands``.

        Raises:
            ConfigError: A band the encoder cannot embed.
        """
        kernels, biases = self.band_kernels(bands)
        weight = kernels.transpose(0, 1) / math.sqrt(len(bands))
        return GeneratedKernels(weight=weight, bias=biases.mean(dim=0))
