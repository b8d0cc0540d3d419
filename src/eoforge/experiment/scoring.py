"""Score a task over a loader with the task's own metric code (Lightning ``test``)."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from eoforge.tasks import EOTask


def score(task: EOTask, loader: DataLoader[Any], *, progress: bool = False) -> dict[str, float]:
    """Metrics of ``task`` on every batch of ``loader``.

    Args:
        task: The task (its network in eval mode during the pass).
        loader: Batches with the task's keys.
        progress: Show Lightning's progress bar.

    Returns:
        ``{metric: value}`` without the stage prefix (``"miou"``, ``"loss"``...).
    """
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
    )
    trainer.test(task, dataloaders=loader, verbose=False)
    return {k.removeprefix("test/"): v for k, v in task.history["test"][-1].items()}
