"""The ``finetune`` probe: the encoder unfrozen under a linear head, trained a few epochs.

A copy of the bundle's encoder (``[B, C, S, S] -> [B, D]``) gets a linear
head (``[B, D] -> [B, K]`` logits) and trains through Lightning with eoforge's
own :class:`~eoforge.tasks.ClassificationTask` (single labels: cross-entropy;
metrics ``accuracy``, ``f1_macro``, ``kappa``) or
:class:`~eoforge.tasks.MultiLabelTask` (multi-hot labels: BCE; ``map``,
``f1_macro``, ``accuracy``; ``map`` as the other probes define it, leaving out
classes without a positive validation window, and the task's own value as
``map_task``). The inputs are the probe's prepared windows
(already resized and normalised, so the task normalises nothing), without
augmentation; the validation split is scored once after the last epoch.
"""

from __future__ import annotations

import copy
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from eoforge.errors import ConfigError
from eoforge.evaluate.features import Features
from eoforge.evaluate.probe import mean_average_precision
from eoforge.tasks import build_task


class EncoderWithHead(nn.Module):
    """``image [B, C, S, S] -> logits [B, K]``: the encoder's vector through a linear layer.

    Args:
        encoder: Embedding network ``[B, C, S, S] -> [B, D]``.
        width: ``D``.
        num_classes: ``K``.
    """

    def __init__(self, encoder: nn.Module, width: int, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(width, num_classes)

    def forward(self, image: Tensor) -> Tensor:
        """Logits ``[B, K]``."""
        logits: Tensor = self.head(self.encoder(image))
        return logits


class _Windows(Dataset[dict[str, Tensor]]):
    """The prepared windows and their labels as samples (``image``, ``label``)."""

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {"image": self.images[index], "label": self.labels[index]}


def _samples(features: Features, multilabel: bool) -> _Windows:
    assert features.images is not None  # extracted with keep_images=True
    if multilabel:
        assert features.multi is not None
        labels: Tensor = torch.from_numpy(features.multi).float()
    else:
        assert features.single is not None
        labels = torch.from_numpy(features.single).long()
    return _Windows(features.images, labels)


def finetune_probe(
    encoder: nn.Module,
    train: Features,
    val: Features,
    class_names: list[str],
    *,
    epochs: int = 3,
    lr: float = 1e-4,
    batch_size: int = 16,
    seed: int = 0,
    accelerator: str = "cpu",
) -> dict[str, float]:
    """Train a copy of ``encoder`` with a linear head and score it on ``val``.

    Args:
        encoder: The bundle's embedding network (left untouched: a copy trains).
        train: Training features with ``images`` (the prepared inputs) and labels.
        val: Validation features with ``images`` and labels.
        class_names: The ``K`` class names.
        epochs: Training epochs.
        lr: AdamW learning rate (cosine schedule over ``epochs``).
        batch_size: Windows per step.
        seed: Seed of the head's initialisation and the shuffling.
        accelerator: Lightning accelerator (``cpu``, ``gpu``, ``auto``).

    Returns:
        The task's validation metrics (``accuracy`` or ``map``, ``f1_macro``, ``loss``...).

    Raises:
        ConfigError: The features lack their prepared images or a usable label.
    """
    if train.images is None or val.images is None:
        raise ConfigError(
            "fine-tuning needs the prepared windows.", fix="extract with keep_images=True."
        )
    single = train.single is not None and val.single is not None
    if not single and (train.multi is None or val.multi is None):
        raise ConfigError("the data carries no label to fine-tune on.", fix="check the data.")
    torch.manual_seed(seed)
    width = int(train.vectors.shape[1])
    network = EncoderWithHead(copy.deepcopy(encoder).train(), width, len(class_names))
    task = build_task(
        "classification" if single else "multilabel",
        network,
        lr=lr,
        max_epochs=epochs,
        augment=False,
        normalization=None,
        class_names=class_names,
        num_classes=len(class_names),
    )
    generator = torch.Generator().manual_seed(seed)
    fit_loader: DataLoader[Any] = DataLoader(
        _samples(train, not single), batch_size=batch_size, shuffle=True, generator=generator
    )
    val_loader: DataLoader[Any] = DataLoader(_samples(val, not single), batch_size=batch_size)
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator=accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    trainer.fit(task, train_dataloaders=fit_loader)
    trainer.test(task, dataloaders=val_loader, verbose=False)
    metrics = {k.removeprefix("test/"): float(v) for k, v in task.history["test"][-1].items()}
    if not single and val.multi is not None:
        # the same map as the other probes (classes without a positive left out), so the three
        # compare; the task's own value stays beside it
        metrics["map_task"] = metrics.pop("map")
        metrics["map"] = mean_average_precision(_scores(network, val.images), val.multi)
    return metrics


def _scores(network: nn.Module, images: Tensor, batch_size: int = 32) -> Tensor:
    """Sigmoid scores ``[N, K]`` of the trained network on the prepared windows (on the CPU)."""
    network = network.cpu().eval()
    with torch.no_grad():
        parts = [network(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return torch.sigmoid(torch.cat(parts))
