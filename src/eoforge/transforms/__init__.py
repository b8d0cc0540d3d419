"""Normalisation, band statistics, spectral indices and batch augmentation.

Example:
    Statistics over the valid pixels of samples (a dataset, loader or list of them),
    then a normaliser built from them:

    >>> import torch
    >>> samples = [{"image": torch.stack([torch.full((8, 8), 0.1), torch.full((8, 8), 0.3)])},
    ...            {"image": torch.stack([torch.full((8, 8), 0.3), torch.full((8, 8), 0.5)])}]
    >>> stats = compute_band_stats(samples, ["S2.B04", "S2.B08"])
    >>> [round(float(m), 3) for m in stats.mean], [round(float(s), 3) for s in stats.std]
    ([0.2, 0.4], [0.1, 0.1])
    >>> Normalize(stats.mean, stats.std)(samples[0]["image"])[:, 0, 0].round().tolist()
    [-1.0, -1.0]
"""

from eoforge.transforms.augment import BatchAugment
from eoforge.transforms.d4 import D4, apply_d4
from eoforge.transforms.indices import AppendIndices, normalized_difference
from eoforge.transforms.normalize import Normalize
from eoforge.transforms.photometric import Photometric
from eoforge.transforms.stats import BandStats, compute_band_stats

__all__ = [
    "D4",
    "AppendIndices",
    "BandStats",
    "BatchAugment",
    "Normalize",
    "Photometric",
    "apply_d4",
    "compute_band_stats",
    "normalized_difference",
]
