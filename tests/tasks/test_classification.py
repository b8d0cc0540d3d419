from __future__ import annotations

from pathlib import Path

import torch
from tests.tasks.helpers import ListDataset, PooledHead, fit, loader, validate
from torch import Tensor
from torch.utils.data import DataLoader

from eoforge.data import collate
from eoforge.data.bigearthnet import BigEarthNetDataset
from eoforge.tasks import ClassificationTask, MultiLabelTask, build_task
from eoforge.transforms import compute_band_stats


def _scenes(n: int, classes: int) -> dict[str, Tensor]:
    """Class k brightens band k: learnable from band means."""
    label = torch.arange(n) % classes
    image = torch.randn(n, classes, 16, 16)
    image[torch.arange(n), label] += 1.5
    return {"image": image * 40 + 500, "label": label}


def test_classification_learns_above_chance() -> None:
    data = loader(_scenes(96, 3), shuffle=True)
    stats = ([500.0] * 3, [40.0] * 3)
    task = ClassificationTask(PooledHead(3, 3), num_classes=3, lr=0.05, normalization=stats)
    fit(task, data, epochs=6, val=loader(_scenes(48, 3)))
    train = task.history["train"]
    assert train[-1]["train/loss"] < 0.7 * train[0]["train/loss"]
    assert task.history["val"][-1]["val/accuracy"] > 0.9 > 1 / 3
    assert task.history["val"][-1]["val/kappa"] > task.history["val"][0]["val/kappa"] - 1e-6
    final = task.final_metrics()
    assert all(isinstance(v, float) for v in final.values())
    assert {"val/f1_macro", "val/kappa", "train/loss"} <= set(final)


def test_ignored_labels_do_not_count() -> None:
    batch = _scenes(32, 3)
    task = ClassificationTask(PooledHead(3, 3), num_classes=3, ignore_index=-1)
    clean = validate(task, loader(batch))
    noisy = dict(batch)
    noisy["label"] = torch.cat([batch["label"], torch.full((8,), -1)])
    noisy["image"] = torch.cat([batch["image"], torch.randn(8, 3, 16, 16) * 1e4])
    assert validate(task, loader(noisy)) == clean


def _multilabel(n: int, labels: int) -> dict[str, Tensor]:
    target = (torch.rand(n, labels) > 0.5).float()
    image = torch.randn(n, labels, 16, 16) + 1.5 * target[:, :, None, None]
    return {"image": image, "label": target}


def test_multilabel_map_rises() -> None:
    task = build_task("multilabel", PooledHead(4, 4), num_classes=4, lr=0.05)
    assert isinstance(task, MultiLabelTask)
    fit(task, loader(_multilabel(96, 4), shuffle=True), epochs=6, val=loader(_multilabel(48, 4)))
    train = task.history["train"]
    assert train[-1]["train/loss"] < train[0]["train/loss"]
    assert train[-1]["train/map"] > train[0]["train/map"]
    assert task.history["val"][-1]["val/map"] > 0.9


def test_multilabel_trains_on_bigearthnet_with_s1(real_data: Path) -> None:
    root = real_data / "bigearthnet"
    dataset = BigEarthNetDataset(root / "BigEarthNet-S2-Example", root / "BigEarthNet-S1-Example")
    samples = [dataset[i] for i in range(len(dataset))]  # read each patch once
    stats = compute_band_stats(samples, dataset.bands, max_samples=None)
    task = MultiLabelTask(
        PooledHead(len(dataset.bands), 19),
        num_classes=19,
        lr=0.05,
        normalization=(stats.mean, stats.std),
        class_names=dataset.classes,
    )
    fit(task, DataLoader(ListDataset(samples), batch_size=3, collate_fn=collate), epochs=6)
    train = task.history["train"]
    assert train[-1]["train/loss"] < train[0]["train/loss"]
