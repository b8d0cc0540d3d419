"""Scene classification: single-label and multi-label.

Model contract: ``image [B, C, H, W] -> logits [B, K]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MetricCollection

from eoforge.errors import ConfigError
from eoforge.tasks.base import EOTask, check_class_ids
from eoforge.tasks.losses import class_loss
from eoforge.tasks.metrics import classification_metrics, multilabel_metrics


class ClassificationTask(EOTask):
    """One class per image, cross-entropy (or ``"focal"``) loss.

    Batch keys: ``image`` float32 ``[B, C, H, W]``, ``label`` int64 ``[B]``
    (samples whose label equals ``ignore_index`` do not count). Metrics:
    overall accuracy, macro F1, Cohen's kappa. See :class:`EOTask` for the
    arguments; ``num_classes`` (or a spec with it) is required.
    """

    kind = "classification"

    def make_metrics(self) -> MetricCollection:
        """Overall accuracy, macro F1, kappa."""
        return classification_metrics(self.require_classes())

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Logits ``[N, K]`` and labels ``[N]`` of the samples that count."""
        label: Tensor = batch["label"].long()
        if self.ignore_index is not None:
            keep = label != self.ignore_index
            output, label = output[keep], label[keep]
        return output, check_class_ids(label, self.require_classes(), "label")

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """The configured class loss."""
        return class_loss(self.loss_name, self.class_weights)(pred, target)

    def check_loss(self) -> None:
        """Accept ``ce``, ``dice``, ``focal``, ``ce+dice``."""
        class_loss(self.loss_name)


class MultiLabelTask(EOTask):
    """Several labels per image, binary cross-entropy with logits.

    Batch keys: ``image`` float32 ``[B, C, H, W]``, ``label`` float32
    multi-hot ``[B, K]``. ``class_weights`` act as BCE ``pos_weight``.
    Metrics: macro mAP, macro F1, label accuracy.
    """

    kind = "multilabel"

    default_loss = "bce"

    def make_metrics(self) -> MetricCollection:
        """Macro mAP, macro F1 and label accuracy."""
        return multilabel_metrics(self.require_classes())

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Logits ``[B, K]`` and multi-hot targets ``[B, K]``."""
        return output, batch["label"].float()

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """Binary cross-entropy with logits."""
        return F.binary_cross_entropy_with_logits(pred, target, pos_weight=self.class_weights)

    def check_loss(self) -> None:
        """Accept ``bce`` only."""
        if self.loss_name != "bce":
            raise ConfigError(f"unknown multi-label loss {self.loss_name!r}.", fix="use 'bce'.")

    def metric_inputs(self, pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Logits and integer targets (torchmetrics wants ints for multi-label)."""
        return pred, target.round().long()
