from __future__ import annotations

import pytest
import torch
from tests.tasks.helpers import PooledHead, fit, loader, validate
from torch import Tensor, nn

from eoforge.tasks import RegressionTask, build_task
from eoforge.transforms import BatchAugment, Photometric


def _scenes(n: int) -> dict[str, Tensor]:
    image = torch.randn(n, 2, 8, 8) + torch.randn(n, 2, 1, 1)
    target = 30.0 * image[:, 0].mean(dim=(-2, -1)) + 100.0
    return {"image": image, "target": target}


def test_scene_regression_learns() -> None:
    task = RegressionTask(PooledHead(2, 1), lr=0.05, target_normalization=(100.0, 30.0))
    fit(task, loader(_scenes(96), shuffle=True), epochs=8, val=loader(_scenes(32)))
    train, val = task.history["train"], task.history["val"]
    assert train[-1]["train/loss"] < 0.5 * train[0]["train/loss"]
    assert val[-1]["val/r2"] > 0.8
    assert val[-1]["val/mae"] < val[0]["val/mae"]


def _sparse(n: int, labelled: float = 0.05, size: int = 32) -> dict[str, Tensor]:
    """Per-pixel target 2*b0 - b1 (e.g. biomass), labelled on ~5% of pixels (footprints)."""
    image = torch.randn(n, 2, size, size)
    target = 2 * image[:, 0] - image[:, 1]
    target[torch.rand(n, size, size) > labelled] = torch.nan
    return {"image": image, "target": target, "valid": torch.ones(n, size, size, dtype=bool)}


def test_sparse_pixel_regression_learns() -> None:
    task = build_task("pixel_regression", nn.Conv2d(2, 1, 1), lr=0.05)
    fit(task, loader(_sparse(64), shuffle=True), epochs=6, val=loader(_sparse(16)))
    train, val = task.history["train"], task.history["val"]
    assert train[-1]["train/loss"] < 0.5 * train[0]["train/loss"]
    assert val[-1]["val/r2"] > val[0]["val/r2"]
    assert val[-1]["val/r2"] > 0.8


def test_only_labelled_valid_pixels_count() -> None:
    batch = _sparse(8, labelled=0.2)
    invalid = torch.rand(batch["valid"].shape, generator=torch.Generator().manual_seed(5)) < 0.3
    batch["valid"] = ~invalid
    task = RegressionTask(nn.Conv2d(2, 1, 1))
    with torch.no_grad():
        pred = task(batch["image"], batch["valid"])[:, 0]
    counted = torch.isfinite(batch["target"]) & batch["valid"]
    expected_mae = (pred - batch["target"])[counted].abs().mean().item()
    garbage = dict(batch)
    garbage["target"] = torch.where(invalid, torch.full_like(pred, 1e6), batch["target"])
    first, second = validate(task, loader(batch)), validate(task, loader(garbage))
    assert first == second
    assert first["val/mae"] == pytest.approx(expected_mae, rel=1e-5)


def test_multi_output_scene_regression_with_photometric_augmentation() -> None:
    data = _scenes(96)
    data["target"] = torch.stack([data["target"], -0.5 * data["target"]], dim=1)
    augment = BatchAugment(d4=True, photometric=Photometric(brightness=0.05, noise_std=0.01))
    task = RegressionTask(
        PooledHead(2, 2),
        lr=0.05,
        augment=augment,
        normalization=([0.0, 0.0], [1.5, 1.5]),
        target_normalization=(0.0, 60.0),
    )
    fit(task, loader(data, shuffle=True), epochs=8)
    train = task.history["train"]
    assert train[-1]["train/loss"] < 0.5 * train[0]["train/loss"]
    assert train[-1]["train/r2"] > 0.5
