"""Per-band standardisation that travels with the model.

:class:`Normalize` holds the per-band mean and standard deviation (physical
units, one value per input channel) as registered buffers, so a checkpoint or
state dict carries the preprocessing the model was trained with.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from eoforge.errors import ConfigError


def _as_vector(values: Sequence[float] | Tensor, name: str) -> Tensor:
    vector = torch.as_tensor(values, dtype=torch.float32).flatten()
    if vector.numel() == 0:
        raise ConfigError(f"normalization {name} is empty.", fix="give one value per band.")
    return vector


class Normalize(nn.Module):
    """Standardise each band: ``(x - mean) / std``.

    The channel axis is the third from last, so images ``[C, H, W]``, batches
    ``[B, C, H, W]``, time series ``[B, T, C, H, W]`` and change pairs
    ``[B, 2, C, H, W]`` all work.

    Args:
        mean: Per-band mean, physical units, length ``C``.
        std: Per-band standard deviation, same units, length ``C``; values
            below ``eps`` are raised to ``eps`` so constant bands do not blow up.
        eps: Smallest standard deviation used.

    Raises:
        ConfigError: ``mean`` and ``std`` are empty or differ in length.
    """

    mean: Tensor
    std: Tensor

    def __init__(
        self, mean: Sequence[float] | Tensor, std: Sequence[float] | Tensor, eps: float = 1e-6
    ) -> None:
        super().__init__()
        mean_v, std_v = _as_vector(mean, "mean"), _as_vector(std, "std")
        if mean_v.shape != std_v.shape:
            raise ConfigError(
                f"normalization has {mean_v.numel()} means but {std_v.numel()} stds.",
                fix="give one mean and one std per input band.",
            )
        self.register_buffer("mean", mean_v)
        self.register_buffer("std", std_v.clamp_min(eps))

    @property
    def num_bands(self) -> int:
        """Number of bands ``C`` this normalisation expects."""
        return int(self.mean.numel())

    def _check(self, x: Tensor) -> None:
        if x.ndim < 3 or x.shape[-3] != self.num_bands:
            raise ConfigError(
                f"normalization expects {self.num_bands} bands on axis -3, got shape "
                f"{tuple(x.shape)}.",
                fix="compute the statistics for the same band list the model reads.",
            )

    def forward(self, x: Tensor) -> Tensor:
        """Standardise ``x`` ``[..., C, H, W]`` (physical units) to zero mean, unit std."""
        self._check(x)
        return (x - self.mean[:, None, None]) / self.std[:, None, None]

    def inverse(self, x: Tensor) -> Tensor:
        """Undo :meth:`forward`: standardised ``[..., C, H, W]`` back to physical units."""
        self._check(x)
        return x * self.std[:, None, None] + self.mean[:, None, None]
