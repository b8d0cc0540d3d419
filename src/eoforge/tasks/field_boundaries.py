"""Field boundaries: extent, boundary and distance maps learnt together (ResUNet-a style).

Model contract: ``image [B, C, H, W] -> probabilities [B, 3, H, W]`` in ``[0, 1]``,
channels extent, boundary, distance (e.g. ``field_unet``). The batch's ``mask``
numbers the fields (0: no field, see :mod:`eoforge.io.vector.fields`); the three
targets are computed from it after augmentation
(:func:`~eoforge.transforms.field_targets.batch_field_targets`), so flips and
turns never misplace a boundary.

The loss is the Tanimoto loss with complement of ResUNet-a (Diakogiannis et al.
2020), per map, summed over the counted pixels of the batch and averaged over
the three maps:

``T(p, l) = sum(p l) / sum(p^2 + l^2 - p l)``,
``loss = 1 - (T(p, l) + T(1 - p, 1 - l)) / 2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection

from eoforge.errors import ConfigError, available_list
from eoforge.tasks.base import EOTask
from eoforge.transforms.field_targets import TARGET_NAMES, batch_field_targets

LOSSES = ("tanimoto", "bce", "tanimoto+bce")
THRESHOLD = 0.5
"""Probability above which a pixel counts as field (extent) or edge (boundary) in the metrics."""


def tanimoto_complement(pred: Tensor, target: Tensor, eps: float = 1e-6) -> Tensor:
    """Tanimoto loss with complement, per column of ``[N, K]``, averaged over ``K``.

    Args:
        pred: Probabilities ``[N, K]``.
        target: Targets in ``[0, 1]``, ``[N, K]``.
        eps: Guards empty sums.

    Returns:
        The scalar loss in ``[0, 1]`` (0: ``pred == target``).
    """

    def tanimoto(p: Tensor, t: Tensor) -> Tensor:
        inter = (p * t).sum(0)
        return (inter + eps) / ((p * p + t * t).sum(0) - inter + eps)

    both = (tanimoto(pred, target) + tanimoto(1 - pred, 1 - target)) / 2
    return 1 - both.mean()


class FieldPixelMetrics(Metric):
    """Extent IoU, boundary F1 (pixel-wise, threshold 0.5) and distance MAE over an epoch.

    ``update(pred [N, 3], target [N, 3])`` with channels extent, boundary, distance.
    """

    full_state_update = False
    higher_is_better = True
    tp: Tensor
    fp: Tensor
    fn: Tensor
    distance_error: Tensor
    pixels: Tensor

    def __init__(self) -> None:
        super().__init__()
        for name in ("tp", "fp", "fn"):  # [extent, boundary]
            self.add_state(name, default=torch.zeros(2, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("distance_error", torch.zeros((), dtype=torch.float64), "sum")
        self.add_state("pixels", torch.zeros((), dtype=torch.float64), "sum")

    def update(self, pred: Tensor, target: Tensor) -> None:
        """Add a batch's counted pixels."""
        said = pred[:, :2] > THRESHOLD
        truth = target[:, :2] > THRESHOLD
        self.tp += (said & truth).sum(0).double()
        self.fp += (said & ~truth).sum(0).double()
        self.fn += (~said & truth).sum(0).double()
        self.distance_error += (pred[:, 2] - target[:, 2]).abs().sum().double()
        self.pixels += pred.shape[0]

    def compute(self) -> dict[str, Tensor]:
        """``extent_iou``, ``extent_f1``, ``boundary_f1``, ``boundary_iou``, ``distance_mae``."""
        tp, fp, fn = self.tp, self.fp, self.fn
        iou = tp / (tp + fp + fn).clamp(min=1)
        f1 = 2 * tp / (2 * tp + fp + fn).clamp(min=1)
        return {
            "extent_iou": iou[0].float(),
            "extent_f1": f1[0].float(),
            "boundary_f1": f1[1].float(),
            "boundary_iou": iou[1].float(),
            "distance_mae": (self.distance_error / self.pixels.clamp(min=1)).float(),
        }


class FieldBoundaryTask(EOTask):
    """Multi-task field delineation: extent, boundary and distance to the boundary.

    Batch keys: ``image`` float32 ``[B, C, H, W]``, ``mask`` int64 ``[B, H, W]``
    numbering the fields (0: no field; negative: unlabelled, never counted) and
    optional ``valid`` bool ``[B, H, W]``. Metrics (validation): extent IoU and F1,
    boundary F1 and IoU (pixel-wise at 0.5), distance MAE; object-level scores of
    the polygons come from :mod:`eoforge.evaluate.field_objects`.

    Args:
        model: Network obeying the contract above.
        boundary_width: Boundary ring width in pixels on each side of an edge.
        **options: See :class:`EOTask`; ``loss`` is ``"tanimoto"`` (default),
            ``"bce"`` or ``"tanimoto+bce"``.
    """

    kind = "field_boundaries"
    default_loss = "tanimoto"

    def __init__(self, model: torch.nn.Module, *, boundary_width: int = 1, **options: Any) -> None:
        options.setdefault("num_classes", len(TARGET_NAMES))
        super().__init__(model, **options)
        if boundary_width < 1:
            raise ConfigError(
                f"boundary width {boundary_width} px is below 1.", fix="use 1 px or more."
            )
        self.boundary_width = int(boundary_width)
        self.hparams["boundary_width"] = self.boundary_width

    def make_metrics(self) -> MetricCollection:
        """Extent IoU/F1, boundary F1/IoU and distance MAE."""
        return MetricCollection({"fields": FieldPixelMetrics()}, compute_groups=False)

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Predictions and targets ``[N, 3]`` of the counted pixels.

        Raises:
            ConfigError: The output is not ``[B, 3, H, W]`` at the mask's size.
        """
        mask: Tensor = batch["mask"].long()
        if output.ndim != 4 or output.shape[1] != 3 or output.shape[-2:] != mask.shape[-2:]:
            raise ConfigError(
                f"model output {tuple(output.shape)} does not fit field mask {tuple(mask.shape)}.",
                fix="use a field-boundary network (e.g. field_unet): [B, 3, H, W] at the "
                "input size.",
            )
        targets = batch_field_targets(mask.clamp(min=0), self.boundary_width).to(output.dtype)
        keep = mask >= 0
        valid = batch.get("valid")
        if valid is not None:
            keep &= valid.to(torch.bool)
        return output.movedim(1, -1)[keep], targets.movedim(1, -1)[keep]

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """The configured loss on the selected pixels."""
        loss = pred.new_zeros(())
        if "tanimoto" in self.loss_name:
            loss = loss + tanimoto_complement(pred, target)
        if "bce" in self.loss_name:
            loss = loss + torch.nn.functional.binary_cross_entropy(
                pred.clamp(1e-6, 1 - 1e-6), target
            )
        return loss

    def check_loss(self) -> None:
        """Accept :data:`LOSSES`."""
        if self.loss_name not in LOSSES:
            raise ConfigError(
                f"unknown field-boundary loss {self.loss_name!r}.",
                fix=f"use one of {available_list(LOSSES)}.",
            )
