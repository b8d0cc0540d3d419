"""Object detection: horizontal boxes and oriented boxes.

Model contract (:class:`eoforge.models.detection.Detector`): in training mode
``model(images [B, C, H, W], targets)`` returns a dict of scalar losses (their
sum is optimised); in evaluation mode ``model(images)`` returns one dict per
image with ``boxes`` ``[N, 4]`` (or oriented ``[N, 5]``), ``scores`` ``[N]`` and
``labels`` ``[N]`` (class ids 0..K-1). Batches carry ``image`` ``[B, C, H, W]``
(physical values), ``valid`` ``[B, H, W]`` and, per image, ``boxes``, ``labels``
and optionally ``difficult`` as lists (see :mod:`eoforge.data.detection`).

Training batches are augmented by a random D4 element per image that moves the
boxes with the pixels (:class:`~eoforge.transforms.box_d4.BoxD4`) and, for oriented
boxes with ``rotate > 0``, by a turn through any angle with that probability
(:class:`~eoforge.transforms.box_rotate.BoxRotate`). Validation
and test collect the detections of the whole epoch and score them at its end
(:func:`~eoforge.evaluate.detection_metrics.detection_scores`): ``map`` (mean
AP over the classes with objects; VOC 2012 all-point AP at IoU 0.5 by default,
DOTA-style for oriented boxes) and ``ap_<class>``; ``val/map`` is what early
stopping and checkpoints watch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from eoforge.errors import ConfigError
from eoforge.evaluate.detection_metrics import detection_scores
from eoforge.tasks.base import Batch, EOTask, Stage, blank_invalid, check_class_ids
from eoforge.transforms.box_d4 import BoxD4
from eoforge.transforms.box_rotate import BoxRotate

Style = Literal["voc07", "voc12", "coco"]


class DetectionTask(EOTask):
    """Horizontal boxes ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` in pixels.

    Args:
        model: A detector obeying the module's contract.
        style: How average precision is computed: ``voc12`` (all-point, IoU
            0.5), ``voc07`` (11-point) or ``coco`` (IoU 0.50:0.95, with AP50/AP75).
        iou_threshold: IoU a detection needs to match an object (VOC styles).
        augment: Random D4 of training batches, boxes included.
        rotate: Oriented boxes only: probability that a training image is also turned
            by a uniform random angle (0 = never).
        rotate_min_visible: Smallest share of a box that must stay visible after a
            turn for it to be kept (the data's ``min_visible``).
        **options: See :class:`~eoforge.tasks.base.EOTask` (``loss`` must be
            ``"detector"`` or None: the detector computes its own losses).

    Attributes:
        keep_detections: When True (default False), the predictions and targets of
            the last scored validation or test epoch stay in :attr:`kept` (evaluation
            draws its curves and example images from them).
        kept: Stage (``"val"``, ``"test"``) -> ``(predictions, targets)``, one dict of
            numpy arrays per image in loader order (the keys of the model contract).
    """

    kind = "detection"
    default_loss = "detector"
    oriented = False

    def __init__(
        self,
        model: nn.Module,
        *,
        style: Style = "voc12",
        iou_threshold: float = 0.5,
        augment: bool = True,
        rotate: float = 0.0,
        rotate_min_visible: float = 0.5,
        **options: Any,
    ) -> None:
        super().__init__(model, augment=False, **options)
        if rotate and not self.oriented:
            raise ConfigError(
                "task.rotate turns boxes by any angle, which only oriented boxes survive.",
                fix="use task.kind oriented_detection, or remove task.rotate.",
            )
        self.box_augment = BoxD4() if augment else None
        self.box_rotate = BoxRotate(rotate, rotate_min_visible) if augment and rotate else None
        self.style: Style = style
        self.iou_threshold = iou_threshold
        self.hparams["augment"] = augment
        self.hparams["rotate"] = rotate
        self.hparams["style"] = style
        self.hparams["iou_threshold"] = iou_threshold
        self._collected: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        self.keep_detections = False
        self.kept: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}

    # --- what EOTask asks of a task ---------------------------------------------

    def make_metrics(self) -> MetricCollection:
        """None through torchmetrics: average precision is computed at epoch end."""
        return MetricCollection({})

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Not used: detection steps are their own (see :meth:`_step`)."""
        raise NotImplementedError("detection tasks score whole epochs, not selected pixels")

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """Not used: the detector returns its own losses."""
        raise NotImplementedError("detectors compute their own losses")

    def check_loss(self) -> None:
        """Only the detector's own losses.

        Raises:
            ConfigError: Another loss name.
        """
        if self.loss_name not in ("detector", None):
            raise ConfigError(
                f"detection tasks train with the detector's own losses, not {self.loss_name!r}.",
                fix="remove task.loss (or set it to 'detector').",
            )

    # --- steps ---------------------------------------------------------------------

    def _input(self, batch: Mapping[str, Any]) -> Tensor:
        image: Tensor = batch["image"]
        x = image if self.normalize is None else self.normalize(image)
        return blank_invalid(x, batch.get("valid"))

    def forward(self, image: Tensor, valid: Tensor | None = None) -> Any:
        """Detections of a batch in physical units: one dict per image (evaluation mode)."""
        return self.model(self._input({"image": image, "valid": valid}))

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """Augment training batches, boxes with pixels (on the device, after transfer)."""
        if self.box_augment is None or self._trainer is None or not self.trainer.training:
            return batch
        batch = self.box_augment(batch)
        return batch if self.box_rotate is None else self.box_rotate(batch)

    def _targets(self, batch: Mapping[str, Any]) -> list[dict[str, Tensor]]:
        k = self.require_classes()
        return [
            {"boxes": boxes.float(), "labels": check_class_ids(labels.long(), k, "labels")}
            for boxes, labels in zip(batch["boxes"], batch["labels"], strict=True)
        ]

    def _step(self, batch: Batch, stage: Stage) -> Tensor:
        size = int(batch["image"].shape[0])
        x = self._input(batch)
        if stage == "train":
            losses = self.model(x, self._targets(batch))
            loss: Tensor = torch.stack([v for v in losses.values()]).sum()
            self.log("train/loss_step", loss, batch_size=size, prog_bar=True)
            self._loss_mean(stage).update(loss.detach(), weight=size)
            return loss
        outputs = self.model(x)
        predictions, targets = self._collected.setdefault(stage, ([], []))
        difficult = batch.get("difficult")
        for i, out in enumerate(outputs):
            predictions.append({key: out[key].detach().cpu().numpy() for key in out})
            target = {
                "boxes": batch["boxes"][i].detach().cpu().numpy(),
                "labels": batch["labels"][i].detach().cpu().numpy(),
            }
            if difficult is not None:
                target["difficult"] = difficult[i].detach().cpu().numpy()
            targets.append(target)
        return torch.zeros((), device=x.device)

    def _finish(self, stage: Stage) -> None:
        if stage == "train":
            loss = self._loss_mean(stage)
            if loss.update_count == 0:
                return
            results = {"train/loss": float(loss.compute())}
            loss.reset()
        else:
            predictions, targets = self._collected.pop(stage, ([], []))
            if not targets:
                return
            if self.keep_detections:
                self.kept[stage] = (predictions, targets)
            results = self._scores(stage, predictions, targets)
        self.log_dict(results, sync_dist=False)
        if not (self._trainer is not None and self.trainer.sanity_checking):
            self.history[stage].append(results)

    def _scores(
        self, stage: Stage, predictions: list[dict[str, Any]], targets: list[dict[str, Any]]
    ) -> dict[str, float]:
        scores = detection_scores(
            predictions,
            targets,
            self.require_classes(),
            style=self.style,
            iou_threshold=self.iou_threshold,
            oriented=self.oriented,
        )
        names = self.class_names or [str(i) for i in range(self.require_classes())]
        results = {f"{stage}/map": _finite(scores.map)}
        for class_id, ap in sorted(scores.ap_per_class.items()):
            if not math.isnan(ap):
                results[f"{stage}/ap_{names[class_id]}"] = float(ap)
        for name, value in (("ap50", scores.ap50), ("ap75", scores.ap75)):
            if value is not None:
                results[f"{stage}/{name}"] = _finite(value)
        results[f"{stage}/detections_per_image"] = float(
            np.mean([len(p["scores"]) for p in predictions])
        )
        return results


def _finite(value: float) -> float:
    """NaN (no object of any class) as 0: nothing was found because nothing was there."""
    return 0.0 if math.isnan(value) else float(value)


class OrientedDetectionTask(DetectionTask):
    """Oriented boxes ``[N, 5]`` ``(cx, cy, w, h, angle)``; AP with rotated IoU (DOTA style).

    The angle convention is :mod:`eoforge.transforms.box_d4`'s.
    """

    kind = "oriented_detection"
    oriented = True
