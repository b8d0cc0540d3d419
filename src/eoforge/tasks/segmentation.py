"""Semantic segmentation and change detection.

Model contracts: segmentation ``image [B, C, H, W] -> logits [B, K, H, W]``;
change detection ``image [B, 2, C, H, W] -> logits [B, K, H, W]`` (binary
change is ``K = 2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor
from torchmetrics import MetricCollection

from eoforge.errors import ConfigError
from eoforge.tasks.base import EOTask, check_class_ids
from eoforge.tasks.losses import class_loss
from eoforge.tasks.metrics import segmentation_metrics


def keep_pixels(mask: Tensor, valid: Tensor | None, ignore_index: int | None) -> Tensor:
    """Pixels that count: valid and not ``ignore_index``, bool ``[B, H, W]``."""
    keep = mask != ignore_index if ignore_index is not None else mask >= 0
    return keep if valid is None else keep & valid.to(keep.dtype)


class SegmentationTask(EOTask):
    """Per-pixel classes; ``loss`` is ``"ce"``, ``"dice"``, ``"focal"`` or ``"ce+dice"``.

    Batch keys: ``image`` float32 ``[B, C, H, W]``, ``mask`` int64
    ``[B, H, W]``, optional ``valid`` bool ``[B, H, W]``. Pixels that are
    invalid or equal ``ignore_index`` never reach the loss or the metrics
    (and invalid pixels are blanked before the model). Metrics: overall
    accuracy, macro F1, kappa, per-class IoU, mean IoU.
    """

    kind = "segmentation"

    def make_metrics(self) -> MetricCollection:
        """Accuracy, macro F1, kappa, per-class IoU and mean IoU."""
        return segmentation_metrics(self.require_classes())

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Logits ``[N, K]`` and class ids ``[N]`` of the pixels that count."""
        mask: Tensor = batch["mask"].long()
        if output.shape[-2:] != mask.shape[-2:]:
            raise ConfigError(
                f"model output {tuple(output.shape)} does not match mask {tuple(mask.shape)}.",
                fix="use a model whose output has the input's height and width.",
            )
        keep = keep_pixels(mask, batch.get("valid"), self.ignore_index)
        target = check_class_ids(mask[keep], self.require_classes(), "mask")
        return output.movedim(1, -1)[keep], target

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """The configured class loss on the selected pixels."""
        return class_loss(self.loss_name, self.class_weights)(pred, target)

    def check_loss(self) -> None:
        """Accept ``ce``, ``dice``, ``focal``, ``ce+dice``."""
        class_loss(self.loss_name)


class ChangeDetectionTask(SegmentationTask):
    """Binary (``K = 2``) or semantic change between two dates.

    Batch keys: ``image`` float32 ``[B, 2, C, H, W]`` (before, after),
    ``mask`` int64 ``[B, H, W]`` (0/1 for binary change, class ids for
    semantic change), optional ``valid`` bool ``[B, H, W]`` (valid on both
    dates). Metrics: those of :class:`SegmentationTask` plus per-class F1
    (``f1_1`` is the change-class F1 reported for LEVIR-CD).
    """

    kind = "change"

    def make_metrics(self) -> MetricCollection:
        """Segmentation metrics plus per-class F1."""
        return segmentation_metrics(self.require_classes(), per_class_f1=True)

    def forward(self, image: Tensor, valid: Tensor | None = None) -> Tensor:
        """Logits ``[B, K, H, W]`` for an image pair ``[B, 2, C, H, W]``."""
        if image.ndim != 5 or image.shape[1] != 2:
            raise ConfigError(
                f"change detection expects image [B, 2, C, H, W], got {tuple(image.shape)}.",
                fix="stack the before and after images on axis 1.",
            )
        return super().forward(image, valid)
