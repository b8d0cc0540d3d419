from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.tasks.helpers import PairConv, fit, loader, validate
from torch import Tensor
from torch.utils.data import DataLoader

from eoforge.data import collate
from eoforge.data.chips import ChangeTripletDataset
from eoforge.errors import ConfigError
from eoforge.tasks import ChangeDetectionTask, build_task
from eoforge.transforms import compute_band_stats


def _pairs(n: int, size: int = 24) -> dict[str, Tensor]:
    before = torch.randn(n, 3, size, size)
    after = before.clone()
    changed = torch.rand(n, size, size) < 0.3
    after[:, 0] += 3.0 * changed
    return {"image": torch.stack([before, after], dim=1), "mask": changed.long()}


def test_binary_change_learns() -> None:
    task = build_task("change", PairConv(3, 2), num_classes=2, lr=0.05)
    assert isinstance(task, ChangeDetectionTask)
    fit(task, loader(_pairs(48), shuffle=True), epochs=5, val=loader(_pairs(16)))
    train, val = task.history["train"], task.history["val"]
    assert train[-1]["train/loss"] < train[0]["train/loss"]
    assert val[-1]["val/f1_1"] > 0.8
    assert val[-1]["val/miou"] > 0.5


def test_change_rejects_single_date_images() -> None:
    task = ChangeDetectionTask(PairConv(3, 2), num_classes=2)
    with pytest.raises(ConfigError, match=r"\[B, 2, C, H, W\]"):
        task(torch.zeros(1, 3, 8, 8))


def test_change_trains_on_levir_cd(real_data: Path) -> None:
    dataset = ChangeTripletDataset(real_data / "levir_cd")
    stats = compute_band_stats(dataset, dataset.bands, max_samples=None)
    data = DataLoader(dataset, batch_size=3, shuffle=True, collate_fn=collate)
    task = ChangeDetectionTask(
        PairConv(3, 2, hidden=8),
        num_classes=2,
        lr=0.02,
        class_weights=[1.0, 5.0],
        normalization=(stats.mean, stats.std),
    )
    fit(task, data, epochs=5)
    losses = [epoch["train/loss"] for epoch in task.history["train"]]
    assert losses[-1] < losses[0]


def test_invalid_pixels_of_either_date_never_count() -> None:
    batch = _pairs(6)
    invalid = torch.rand(batch["mask"].shape, generator=torch.Generator().manual_seed(4)) < 0.3
    batch["valid"] = ~invalid
    task = ChangeDetectionTask(PairConv(3, 2, hidden=4), num_classes=2)

    def garbage(seed: int) -> dict[str, Tensor]:
        g = torch.Generator().manual_seed(seed)
        out = dict(batch)
        noise = torch.randn(batch["image"].shape, generator=g) * 1e3
        out["image"] = torch.where(invalid[:, None, None], noise, batch["image"])
        out["mask"] = torch.where(invalid, torch.randint(0, 2, invalid.shape, generator=g), 0)
        out["mask"] = torch.where(invalid, out["mask"], batch["mask"])
        return out

    assert validate(task, loader(garbage(1))) == validate(task, loader(garbage(2)))
