"""What a person sees while a model trains: one progress bar, not the framework's notes.

:class:`TrainingBar` is a Lightning callback drawing one rich bar over the
whole run (every optimisation step of every epoch) with the epoch, the step,
the latest training loss and the monitored validation metric; it replaces
Lightning's own bars, which draw one bar per epoch and per validation pass
and list every logged value. :func:`framework_notes_hidden` hides Lightning's
start-up notes (devices, tips) and the warnings known to be harmless for
eoforge's trainer, leaving every other warning and error alone.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")
"""Loggers of Lightning's INFO notes ("GPU available: ...", the ``litlogger`` tip...)."""

HARMLESS_WARNINGS = (
    # Lightning's own pytree code uses a torch API that torch now deprecates.
    r".*isinstance\(treespec, LeafSpec\)",
    # Tasks augment batches on the device on purpose; the data module has no such hook.
    r".*overridden `on_after_batch_transfer` in `LightningModule`",
    # Short epochs (tiny data sets, tests) have fewer steps than the logging interval.
    r".*smaller than the logging interval",
)
"""Regexes of the messages of warnings Lightning gives that need no action with eoforge."""

LOSS_REFRESH_S = 0.25
"""Seconds between readings of the training loss (each reading waits for the device)."""


@contextmanager
def framework_notes_hidden() -> Iterator[None]:
    """Hide Lightning's INFO notes and :data:`HARMLESS_WARNINGS` inside the block.

    Lightning's warnings and errors of level WARNING and above, eoforge's
    warnings and any other warning still show. The logger levels and warning
    filters are restored afterwards.
    """
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for message in HARMLESS_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


class TrainingBar(Callback):
    """One rich progress bar for a whole training run (global rank 0 only).

    It shows ``epoch e/E``, the bar over all optimisation steps,
    ``step s/S``, the latest training loss (read at most every
    :data:`LOSS_REFRESH_S` seconds), the monitored validation metric after
    each validation pass (``-`` before the first), the validation batch
    during a validation pass, and the elapsed and remaining time.

    Args:
        console: Console to draw on (e.g. :func:`eoforge.cli.ui.console`).
        monitor: Name of the validation metric to show, e.g. ``"val/miou"``.
    """

    def __init__(self, console: Console, monitor: str) -> None:
        super().__init__()
        self.console = console
        self.monitor = monitor
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._loss: torch.Tensor | None = None
        self._loss_read = -math.inf

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start the bar at the current step (past steps count when resuming)."""
        if not trainer.is_global_zero:
            return
        total = trainer.estimated_stepping_batches
        self._progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            TextColumn("step {task.completed:.0f}/{task.fields[steps]}"),
            TextColumn("train loss {task.fields[loss]}"),
            TextColumn(f"{self.monitor} {{task.fields[metric]}}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[phase]}"),
            console=self.console,
        )
        self._task = self._progress.add_task(
            "train",
            total=total if math.isfinite(total) else None,
            completed=trainer.global_step,
            epoch=self._epoch(trainer),
            steps=f"{total:.0f}" if math.isfinite(total) else "?",
            loss="-",
            metric="-",
            phase="",
        )
        self._progress.start()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Show the new epoch."""
        self._update(epoch=self._epoch(trainer))

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Advance to the trainer's step; read the loss when the last reading is old enough."""
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if isinstance(loss, torch.Tensor):
            self._loss = loss.detach()
        now = time.monotonic()
        if now - self._loss_read >= LOSS_REFRESH_S:
            self._loss_read = now
            self._update(completed=trainer.global_step, loss=self._loss_text())
        else:
            self._update(completed=trainer.global_step)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Show the epoch's last training loss."""
        self._update(loss=self._loss_text())

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Show which validation batch is being scored."""
        if trainer.sanity_checking:
            return
        batches = sum(int(n) for n in trainer.num_val_batches if math.isfinite(n))
        self._update(phase=f"validating {batch_idx + 1}/{batches}")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Show the monitored metric of the finished validation pass."""
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        fields: dict[str, Any] = {"phase": ""}
        if value is not None:
            fields["metric"] = f"{float(value):.4f}"
        self._update(**fields)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Leave the finished bar on screen."""
        self._stop()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """Stop drawing, so the error message starts on a line of its own."""
        self._stop()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Stop drawing whatever ended the run."""
        self._stop()

    def _epoch(self, trainer: L.Trainer) -> str:
        epochs = trainer.max_epochs
        return (
            f"{trainer.current_epoch + 1}/{epochs if epochs is not None and epochs >= 0 else '?'}"
        )

    def _loss_text(self) -> str:
        return "-" if self._loss is None else f"{float(self._loss):.4f}"

    def _update(self, **fields: Any) -> None:
        if self._progress is None or self._task is None:
            return
        completed = fields.pop("completed", None)
        self._progress.update(self._task, completed=completed, **fields)

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._task = None
