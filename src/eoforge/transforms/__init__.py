"""Normalisation, band statistics, spectral indices and batch augmentation.

Example:
    >>> stats = compute_band_stats(train_dataset, ["S2.B04", "S2.B08"], max_samples=500)
    >>> task = SegmentationTask(model, normalization=(stats.mean, stats.std))
"""

from eoforge.transforms.augment import BatchAugment
from eoforge.transforms.d4 import D4, apply_d4
from eoforge.transforms.indices import INDICES, AppendIndices, normalized_difference
from eoforge.transforms.normalize import Normalize
from eoforge.transforms.photometric import Photometric
from eoforge.transforms.stats import BandStats, compute_band_stats

__all__ = [
    "D4",
    "INDICES",
    "AppendIndices",
    "BandStats",
    "BatchAugment",
    "Normalize",
    "Photometric",
    "apply_d4",
    "compute_band_stats",
    "normalized_difference",
]
