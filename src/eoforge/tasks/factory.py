"""Build a task by name (configs and the CLI name tasks as strings)."""

from __future__ import annotations

from typing import Any

from torch import nn

from eoforge.errors import ConfigError, available_list
from eoforge.tasks.base import EOTask
from eoforge.tasks.classification import ClassificationTask, MultiLabelTask
from eoforge.tasks.detection import DetectionTask, OrientedDetectionTask
from eoforge.tasks.field_boundaries import FieldBoundaryTask
from eoforge.tasks.image_to_image import ImageToImageTask
from eoforge.tasks.pretrain import PretrainTask
from eoforge.tasks.regression import RegressionTask
from eoforge.tasks.segmentation import ChangeDetectionTask, SegmentationTask
from eoforge.tasks.super_resolution import SuperResolutionTask

TASKS: dict[str, type[EOTask]] = {
    "classification": ClassificationTask,
    "multilabel": MultiLabelTask,
    "segmentation": SegmentationTask,
    "change": ChangeDetectionTask,
    "regression": RegressionTask,
    "pixel_regression": RegressionTask,
    "detection": DetectionTask,
    "oriented_detection": OrientedDetectionTask,
    "pretrain": PretrainTask,
    "super_resolution": SuperResolutionTask,
    "image_to_image": ImageToImageTask,
    "field_boundaries": FieldBoundaryTask,
}
"""Task kind (the ``task`` of a model spec) to its LightningModule."""


def build_task(kind: str, model: nn.Module, **options: Any) -> EOTask:
    """The task of ``kind`` wrapping ``model``.

    Args:
        kind: One of :data:`TASKS` (``"change_detection"`` and
            ``"multi_label"`` are accepted too).
        model: Network obeying the task's forward contract.
        **options: Task arguments (see :class:`~eoforge.tasks.base.EOTask`).

    Returns:
        The task.

    Raises:
        ConfigError: Unknown kind.
    """
    key = {"change_detection": "change", "multi_label": "multilabel"}.get(kind, kind)
    if key not in TASKS:
        raise ConfigError(f"unknown task {kind!r}.", fix=f"use one of {available_list(TASKS)}.")
    return TASKS[key](model, **options)
