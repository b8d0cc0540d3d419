"""Streaming per-band statistics over the valid pixels of a dataset.

:func:`compute_band_stats` visits a random subset of samples (or the batches
of a loader) once and merges per-sample moments with the parallel form of
Welford's algorithm (Chan et al.), in float64, so memory never depends on the
dataset size and the result matches a two-pass numpy computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from eoforge.errors import ConfigError
from eoforge.transforms.normalize import Normalize


@dataclass
class BandStats:
    """Per-band mean and (population) standard deviation in physical units.

    Attributes:
        bands: Band names, in channel order.
        mean: Mean per band, float64 ``[C]``.
        std: Standard deviation per band (``ddof=0``), float64 ``[C]``.
        count: Valid pixels seen per band, int64 ``[C]``.
    """

    bands: list[str]
    mean: np.ndarray[Any, np.dtype[np.float64]]
    std: np.ndarray[Any, np.dtype[np.float64]]
    count: np.ndarray[Any, np.dtype[np.int64]] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for a model bundle): ``bands``, ``mean``, ``std``."""
        return {"bands": self.bands, "mean": self.mean.tolist(), "std": self.std.tolist()}

    def normalize(self) -> Normalize:
        """A :class:`Normalize` module with these statistics."""
        return Normalize(self.mean.tolist(), self.std.tolist())


class _Moments:
    """Running count, mean and sum of squared deviations per channel (float64)."""

    def __init__(self, channels: int) -> None:
        self.count = torch.zeros(channels, dtype=torch.float64)
        self.mean = torch.zeros(channels, dtype=torch.float64)
        self.m2 = torch.zeros(channels, dtype=torch.float64)

    def update(self, values: Tensor, keep: Tensor) -> None:
        """Merge the kept entries of ``values`` ``[C, N]`` (``keep`` bool ``[C, N]``)."""
        count = keep.sum(dim=1).to(torch.float64)
        total = torch.where(keep, values, 0.0).sum(dim=1)
        mean = total / count.clamp_min(1.0)
        m2 = torch.where(keep, values - mean[:, None], 0.0).square().sum(dim=1)
        merged = self.count + count
        delta = mean - self.mean
        weight = torch.where(merged > 0, count / merged.clamp_min(1.0), 0.0)
        self.mean = self.mean + delta * weight
        self.m2 = self.m2 + m2 + delta.square() * self.count * weight
        self.count = merged


def _flatten(image: Tensor, valid: Tensor | None) -> tuple[Tensor, Tensor]:
    """Image ``[..., C, H, W]`` to values ``[C, N]`` and keep mask ``[C, N]`` (valid, finite)."""
    channels = image.shape[-3]
    values = image.to(torch.float64).movedim(-3, 0).reshape(channels, -1)
    keep = torch.isfinite(values)
    if valid is not None:
        mask = valid.to(torch.bool)
        while mask.ndim < image.ndim - 1:
            mask = mask.unsqueeze(-3)
        shape = image.movedim(-3, 0).shape[1:]
        keep &= mask.expand(shape).reshape(1, -1)
    return values, keep


def _items(
    source: Dataset[Any] | DataLoader[Any] | Iterable[Any], max_samples: int | None, seed: int
) -> Iterator[Mapping[str, Any]]:
    """Samples (or batches) to visit: a seeded random subset of a sized dataset."""
    if isinstance(source, Dataset) and hasattr(source, "__len__"):
        size = len(source)
        order = np.random.default_rng(seed).permutation(size)
        for index in order[: size if max_samples is None else max_samples]:
            yield source[int(index)]
        return
    seen = 0
    for item in cast(Iterable[Any], source):
        yield item
        seen += int(item["image"].shape[0]) if isinstance(source, DataLoader) else 1
        if max_samples is not None and seen >= max_samples:
            return


def compute_band_stats(
    source: Dataset[Any] | DataLoader[Any] | Iterable[Any],
    bands: Sequence[str],
    *,
    max_samples: int | None = 1000,
    seed: int = 0,
) -> BandStats:
    """Per-band mean and standard deviation over the valid pixels of a dataset.

    Args:
        source: A map-style dataset of samples (``image`` ``[C, H, W]`` or
            ``[T, C, H, W]``, optional ``valid`` ``[H, W]``), visited in a
            seeded random order; or a loader / iterable of batches or samples
            (``image`` ``[B, C, H, W]``...), visited in its own order.
        bands: Names of the image channels, in order (length ``C``).
        max_samples: Stop after this many samples (None: all of them).
        seed: Seed of the random subset drawn from a dataset.

    Returns:
        The statistics; pixels that are invalid or not finite never count.

    Raises:
        ConfigError: The image does not have ``len(bands)`` channels, or no
            valid pixel was seen for some band.
    """
    names = list(bands)
    moments = _Moments(len(names))
    for item in _items(source, max_samples, seed):
        image = torch.as_tensor(item["image"])
        if image.shape[-3] != len(names):
            raise ConfigError(
                f"images have {image.shape[-3]} channels but {len(names)} band names were given.",
                fix="pass the band names of the image channels, in order.",
            )
        valid = item.get("valid")
        moments.update(*_flatten(image, None if valid is None else torch.as_tensor(valid)))
    empty = [n for n, c in zip(names, moments.count.tolist(), strict=True) if c == 0]
    if empty:
        raise ConfigError(
            f"no valid pixel seen for bands {empty}.",
            fix="check the valid masks, or raise max_samples.",
        )
    variance = moments.m2 / moments.count
    return BandStats(
        bands=names,
        mean=moments.mean.numpy(),
        std=variance.sqrt().numpy(),
        count=moments.count.to(torch.int64).numpy(),
    )
