"""Tiny models obeying the eoforge.models forward contract, data helpers, a quiet trainer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from eoforge.data import collate
from eoforge.tasks import EOTask


class PooledHead(nn.Module):
    """Classification/regression contract: ``[B, C, H, W] -> [B, K]``."""

    def __init__(self, bands: int, outputs: int) -> None:
        super().__init__()
        self.linear = nn.Linear(bands, outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x.mean(dim=(-2, -1)))


class PairConv(nn.Module):
    """Change contract: ``[B, 2, C, H, W] -> [B, K, H, W]`` (early fusion)."""

    def __init__(self, bands: int, classes: int, hidden: int = 0) -> None:
        super().__init__()
        layers: list[nn.Module] = (
            [nn.Conv2d(2 * bands, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, classes, 1)]
            if hidden
            else [nn.Conv2d(2 * bands, classes, 1)]
        )
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x.flatten(1, 2))
        return out


class ListDataset(Dataset[dict[str, Any]]):
    def __init__(self, samples: Sequence[dict[str, Any]]) -> None:
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.samples[i]


def split(batch: Mapping[str, Tensor]) -> list[dict[str, Tensor]]:
    n = next(iter(batch.values())).shape[0]
    return [{k: v[i] for k, v in batch.items()} for i in range(n)]


def loader(batch: Mapping[str, Tensor], batch_size: int = 16, shuffle: bool = False) -> DataLoader:
    return DataLoader(
        ListDataset(split(batch)), batch_size=batch_size, shuffle=shuffle, collate_fn=collate
    )


def trainer(**options: Any) -> L.Trainer:
    defaults: dict[str, Any] = {
        "accelerator": "cpu",
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
    }
    return L.Trainer(**{**defaults, **options})


def fit(task: EOTask, data: DataLoader, epochs: int, val: DataLoader | None = None) -> EOTask:
    trainer(max_epochs=epochs).fit(task, data, val)
    return task


def validate(task: EOTask, data: DataLoader) -> dict[str, float]:
    trainer().validate(task, data, verbose=False)
    return {k: v for k, v in task.history["val"][-1].items()}
