"""Lightning tasks on one base: classification, segmentation, change, regression, detection.

Self-supervised pretraining of encoders is :mod:`.pretrain`.

Each task wraps a network built by :mod:`eoforge.models` (or any module with
the same forward contract), normalises its input with buffers that travel in
the checkpoint, augments training batches, and logs torchmetrics per stage::

    task = build_task("segmentation", model, num_classes=6, ignore_index=5,
                      normalization=(stats.mean, stats.std), loss="ce+dice")
    lightning.Trainer(max_epochs=20).fit(task, train_loader, val_loader)
    task.final_metrics()  # {"val/miou": ..., "train/loss": ...}
"""

from eoforge.tasks.base import EOTask, blank_invalid
from eoforge.tasks.classification import ClassificationTask, MultiLabelTask
from eoforge.tasks.detection import DetectionTask, OrientedDetectionTask
from eoforge.tasks.factory import TASKS, build_task
from eoforge.tasks.fusion import (
    FusionFieldBoundaryTask,
    FusionMultiLabelTask,
    FusionSegmentationTask,
)
from eoforge.tasks.pretrain import PretrainTask
from eoforge.tasks.regression import RegressionTask
from eoforge.tasks.segmentation import ChangeDetectionTask, SegmentationTask
from eoforge.tasks.super_resolution import SuperResolutionTask

__all__ = [
    "TASKS",
    "ChangeDetectionTask",
    "ClassificationTask",
    "DetectionTask",
    "EOTask",
    "FusionFieldBoundaryTask",
    "FusionMultiLabelTask",
    "FusionSegmentationTask",
    "MultiLabelTask",
    "OrientedDetectionTask",
    "PretrainTask",
    "RegressionTask",
    "SegmentationTask",
    "SuperResolutionTask",
    "blank_invalid",
    "build_task",
]
