from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from eoforge.data import collate
from eoforge.errors import ConfigError
from eoforge.transforms import Normalize, compute_band_stats


class ArrayDataset(Dataset[dict[str, torch.Tensor]]):
    """Known samples: 3 bands on different scales, some invalid and NaN pixels."""

    def __init__(self, n: int = 12, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        scales = np.array([1.0, 100.0, 0.01])[:, None, None]
        self.images = (rng.normal(5.0, 2.0, (n, 3, 8, 8)) * scales).astype(np.float32)
        self.valid = rng.random((n, 8, 8)) > 0.3
        self.images[~np.broadcast_to(self.valid[:, None], self.images.shape)] = 1e6  # fill value
        self.images[0, 1, 0, 0] = np.nan  # a non-finite value inside a valid pixel

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": torch.from_numpy(self.images[i]), "valid": torch.from_numpy(self.valid[i])}

    def numpy_stats(self) -> tuple[np.ndarray, np.ndarray]:
        keep = np.broadcast_to(self.valid[:, None], self.images.shape) & np.isfinite(self.images)
        values = [self.images[:, c][keep[:, c]].astype(np.float64) for c in range(3)]
        return np.array([v.mean() for v in values]), np.array([v.std() for v in values])


def test_band_stats_match_numpy_on_valid_pixels() -> None:
    data = ArrayDataset()
    stats = compute_band_stats(data, ["a", "b", "c"], max_samples=None)
    mean, std = data.numpy_stats()
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-9)
    np.testing.assert_allclose(stats.std, std, rtol=1e-9)
    assert stats.to_dict()["bands"] == ["a", "b", "c"]


def test_band_stats_from_a_loader_of_batches() -> None:
    data = ArrayDataset()
    loader = DataLoader(data, batch_size=5, collate_fn=collate)
    stats = compute_band_stats(loader, ["a", "b", "c"], max_samples=None)
    mean, std = data.numpy_stats()
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-9)
    np.testing.assert_allclose(stats.std, std, rtol=1e-9)


def test_band_stats_subset_is_seeded() -> None:
    data = ArrayDataset(n=20)
    a = compute_band_stats(data, ["a", "b", "c"], max_samples=5, seed=1)
    b = compute_band_stats(data, ["a", "b", "c"], max_samples=5, seed=1)
    np.testing.assert_array_equal(a.mean, b.mean)
    assert a.count.sum() < compute_band_stats(data, ["a", "b", "c"], max_samples=None).count.sum()


def test_band_stats_rejects_wrong_band_count() -> None:
    with pytest.raises(ConfigError, match="3 channels but 2 band names"):
        compute_band_stats(ArrayDataset(), ["a", "b"])


def test_normalize_standardises_any_layout_and_inverts() -> None:
    norm = Normalize([1.0, 10.0], [2.0, 5.0])
    pair = (
        torch.randn(4, 2, 2, 8, 8) * torch.tensor([2.0, 5.0])[:, None, None]
        + torch.tensor([1.0, 10.0])[:, None, None]
    )
    out = norm(pair)
    assert out.shape == pair.shape
    torch.testing.assert_close(norm.inverse(out), pair)
    assert set(norm.state_dict()) == {"mean", "std"}
    with pytest.raises(ConfigError, match="expects 2 bands"):
        norm(torch.zeros(1, 3, 4, 4))
