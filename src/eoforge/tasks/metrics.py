"""Torchmetrics collections per task and their conversion to plain floats.

Tasks update these with already-selected samples or pixels (see
:mod:`eoforge.tasks.losses`), so no metric needs an ``ignore_index``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torchmetrics.classification as C
import torchmetrics.regression as R
from torch import Tensor
from torchmetrics import Metric, MetricCollection


def classification_metrics(num_classes: int) -> MetricCollection:
    """Overall accuracy, macro F1 and Cohen's kappa for single-label classes."""
    return MetricCollection(
        {
            "accuracy": C.MulticlassAccuracy(num_classes, average="micro"),
            "f1_macro": C.MulticlassF1Score(num_classes, average="macro"),
            "kappa": C.MulticlassCohenKappa(num_classes),
        }
    )


def segmentation_metrics(num_classes: int, per_class_f1: bool = False) -> MetricCollection:
    """Classification metrics plus per-class IoU and mean IoU (and per-class F1)."""
    metrics: dict[str, Metric | MetricCollection] = {
        "accuracy": C.MulticlassAccuracy(num_classes, average="micro"),
        "f1_macro": C.MulticlassF1Score(num_classes, average="macro"),
        "kappa": C.MulticlassCohenKappa(num_classes),
        "iou": C.MulticlassJaccardIndex(num_classes, average="none"),
        "miou": C.MulticlassJaccardIndex(num_classes, average="macro"),
    }
    if per_class_f1:
        metrics["f1"] = C.MulticlassF1Score(num_classes, average="none")
    return MetricCollection(metrics)


def multilabel_metrics(num_labels: int) -> MetricCollection:
    """Mean average precision, macro F1 and label accuracy for multi-hot targets."""
    return MetricCollection(
        {
            "map": C.MultilabelAveragePrecision(num_labels, average="macro"),
            "f1_macro": C.MultilabelF1Score(num_labels, average="macro"),
            "accuracy": C.MultilabelAccuracy(num_labels, average="micro"),
        }
    )


def regression_metrics() -> MetricCollection:
    """MAE, RMSE and R² over all selected values, pooled across outputs."""
    return MetricCollection(
        {
            "mae": R.MeanAbsoluteError(),
            "rmse": R.MeanSquaredError(squared=False),
            "r2": R.R2Score(),
        }
    )


def to_floats(
    results: Mapping[str, Tensor], class_names: Sequence[str] | None = None
) -> dict[str, float]:
    """Metric results as plain floats; per-class vectors become ``<name>_<class>``.

    Args:
        results: Output of ``MetricCollection.compute()`` (scalars or ``[K]`` vectors).
        class_names: Names used as suffixes of per-class values (default: the index).

    Returns:
        ``{name: value}`` with one entry per scalar and per class.
    """
    out: dict[str, float] = {}
    for name, value in results.items():
        if value.ndim == 0:
            out[name] = float(value)
            continue
        for index, item in enumerate(value.flatten().tolist()):
            suffix = class_names[index] if class_names is not None else str(index)
            out[f"{name}_{suffix}"] = float(item)
    return out
