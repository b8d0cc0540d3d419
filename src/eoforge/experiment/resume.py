"""Exact resume: what a checkpoint must carry so a killed run ends as an uninterrupted one.

Lightning restores weights, optimiser, schedule, loop counters and callback
states. :class:`ExactResume` adds what it leaves out: the random number
generators (augmentation draws), the tasks' metric history, and, after a
mid-epoch checkpoint, skipping the batches of the interrupted epoch that were
already trained on (Lightning restores the batch counter but restarts the
loader from its first batch). :func:`persist_metrics` makes the running
metric states part of the checkpoint, so the interrupted epoch's training
metrics also cover its first batches.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, cast

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torchmetrics import Metric

from eoforge.experiment.sampling import SkippingSampler

RNG_KEY = "eoforge_rng"
HISTORY_KEY = "eoforge_history"


def persist_metrics(module: torch.nn.Module) -> None:
    """Save every torchmetrics state of ``module`` in its state dict (hence checkpoints)."""
    for child in module.modules():
        if isinstance(child, Metric):
            child.persistent(True)


def rng_state() -> dict[str, Any]:
    """Torch, numpy and Python generator states as tensors and plain lists (no pickle needed)."""
    name, keys, position, has_gauss, cached = cast(
        tuple[str, np.ndarray[Any, Any], int, int, float], np.random.get_state(legacy=True)
    )
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [name, keys.tolist(), int(position), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generator states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, np.uint32), position, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


class ExactResume(Callback):
    """Carry generator states and history in checkpoints; skip done batches on resume.

    Args:
        sampler: Returns the training loader's sampler (built late, inside
            each process, so it knows its DDP rank).
        batch_size: Samples per training batch.
    """

    def __init__(self, sampler: Callable[[], SkippingSampler], batch_size: int) -> None:
        self.sampler = sampler
        self.batch_size = batch_size

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Store the generator states and the task's metric history."""
        checkpoint[RNG_KEY] = rng_state()
        checkpoint[HISTORY_KEY] = getattr(pl_module, "history", None)

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Restore the generator states and the metric history."""
        if RNG_KEY in checkpoint:
            set_rng_state(checkpoint[RNG_KEY])
        if checkpoint.get(HISTORY_KEY) is not None and hasattr(pl_module, "history"):
            pl_module.history = checkpoint[HISTORY_KEY]

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """After a mid-epoch checkpoint, make the loader start after the batches done."""
        progress = trainer.fit_loop.epoch_loop.batch_progress
        done = progress.current.ready
        if trainer.fit_loop.restarted_mid_epoch and 0 < done < trainer.num_training_batches:
            self.sampler().skip_once(done * self.batch_size)
