"""Evaluation beyond torchmetrics: scores of predicted maps, and the figures that show them.

:func:`evaluate_maps` scores a predicted class or value map against a label
raster or vector layer on another grid and returns a :class:`SceneScore`
(confusion matrix, IoU, F1, kappa; or MAE, RMSE, bias, R²).

The figures (:func:`quicklook`, :func:`class_map`, :func:`error_map`,
:func:`confusion_matrix`, :func:`learning_curves`, :func:`pr_curves_figure`,
:func:`detection_examples`, written with :func:`save_png`) live in
:mod:`~eoforge.evaluate.maps`, :mod:`~eoforge.evaluate.matrices`,
:mod:`~eoforge.evaluate.curves`, :mod:`~eoforge.evaluate.detection_figures` and
:mod:`~eoforge.evaluate.figures`; the files they read (:func:`read_classes`,
:func:`read_metrics_csv`) in :mod:`~eoforge.evaluate.readers`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from eoforge.evaluate.metrics import (
    ClassMetrics,
    ConfusionAccumulator,
    RegressionAccumulator,
    RegressionMetrics,
    class_metrics,
)
from eoforge.evaluate.readers import read_classes, read_metrics_csv
from eoforge.evaluate.scene import SceneScore, evaluate_maps

if TYPE_CHECKING:
    from eoforge.evaluate.curves import learning_curves
    from eoforge.evaluate.detection_figures import detection_examples, pr_curves_figure
    from eoforge.evaluate.figures import new_figure, save_png
    from eoforge.evaluate.maps import class_map, error_map, percentile_stretch, quicklook
    from eoforge.evaluate.matrices import confusion_matrix, normalized_matrix

_FIGURES = {
    "class_map": "eoforge.evaluate.maps",
    "confusion_matrix": "eoforge.evaluate.matrices",
    "detection_examples": "eoforge.evaluate.detection_figures",
    "error_map": "eoforge.evaluate.maps",
    "learning_curves": "eoforge.evaluate.curves",
    "new_figure": "eoforge.evaluate.figures",
    "normalized_matrix": "eoforge.evaluate.matrices",
    "percentile_stretch": "eoforge.evaluate.maps",
    "pr_curves_figure": "eoforge.evaluate.detection_figures",
    "quicklook": "eoforge.evaluate.maps",
    "save_png": "eoforge.evaluate.figures",
}
"""Figure functions by module, imported on first use."""


def __getattr__(name: str) -> Any:
    # Imported on first use: the figure modules load matplotlib (about 0.4 s),
    # which `eoforge evaluate` and everything else that only scores maps never needs.
    module = _FIGURES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FIGURES))


__all__ = [
    "ClassMetrics",
    "ConfusionAccumulator",
    "RegressionAccumulator",
    "RegressionMetrics",
    "SceneScore",
    "class_map",
    "class_metrics",
    "confusion_matrix",
    "detection_examples",
    "error_map",
    "evaluate_maps",
    "learning_curves",
    "new_figure",
    "normalized_matrix",
    "percentile_stretch",
    "pr_curves_figure",
    "quicklook",
    "read_classes",
    "read_metrics_csv",
    "save_png",
]
