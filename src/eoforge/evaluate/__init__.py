"""Evaluation beyond torchmetrics: scene-level scoring of predicted maps against references.

:func:`evaluate_maps` scores a predicted class or value map against a label
raster or vector layer on another grid and returns a :class:`SceneScore`
(confusion matrix, IoU, F1, kappa; or MAE, RMSE, bias, R²).
"""

from eoforge.evaluate.metrics import (
    ClassMetrics,
    ConfusionAccumulator,
    RegressionAccumulator,
    RegressionMetrics,
    class_metrics,
)
from eoforge.evaluate.scene import SceneScore, evaluate_maps

__all__ = [
    "ClassMetrics",
    "ConfusionAccumulator",
    "RegressionAccumulator",
    "RegressionMetrics",
    "SceneScore",
    "class_metrics",
    "evaluate_maps",
]
