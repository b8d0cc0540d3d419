"""What evaluating a detector writes beside its metrics: PR curves (data and figure) and examples.

:func:`write_detection_outputs` takes the predictions and targets of every
scored image (the task's evaluation pass) and, next to the metrics file
``<stem>.json``, writes:

* ``<stem>_pr_curves.json`` and ``<stem>_pr_curves.csv``: each class's
  precision, recall and score after every counted prediction
  (:mod:`eoforge.evaluate.detection_curves`);
* ``<stem>_pr_curves.png``: the curves on one axes, AP in the legend;
* ``<stem>_examples.png``: the images with the most objects (ties: the
  earlier image), drawn with their ground truth and the predictions scoring at
  least the threshold, true and false positives told apart
  (:func:`~eoforge.evaluate.detection_figures.detection_examples`).

It returns the ``detection`` section of the metrics file: the style, the
per-class table (AP, colour, objects, predictions, recall reached, precision and
recall at the score threshold) and the names of the files, relative to the metrics
file's folder.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError
from eoforge.evaluate.detection_curves import ClassCurve, class_curves, curve_ap, write_curves
from eoforge.evaluate.detection_figures import Example, detection_examples, pr_curves_figure
from eoforge.evaluate.detection_metrics import ArrayLike, detection_scores
from eoforge.evaluate.figures import save_png
from eoforge.evaluate.readers import fallback_color

ImageLoader = Callable[[int], tuple[str, npt.NDArray[np.floating], npt.NDArray[np.bool_] | None]]
"""Image ``index`` (loader order) -> ``(name, image [C, H, W], valid [H, W] or None)``."""

SUFFIXES = {
    "pr_curves_json": "_pr_curves.json",
    "pr_curves_csv": "_pr_curves.csv",
    "pr_curves_png": "_pr_curves.png",
    "examples_png": "_examples.png",
}
"""File of each output: the metrics file's stem plus this."""


def output_paths(metrics_path: Path) -> dict[str, Path]:
    """The files written beside ``metrics_path`` (see :data:`SUFFIXES`)."""
    return {key: metrics_path.with_name(metrics_path.stem + s) for key, s in SUFFIXES.items()}


def choose_examples(targets: Sequence[Mapping[str, ArrayLike]], count: int) -> list[int]:
    """The ``count`` images with the most targets, ties broken by the earlier image.

    Args:
        targets: Per image, a dict with ``labels`` ``[M]``.
        count: How many to choose.

    Returns:
        Image indices, most objects first.
    """
    sizes = [len(np.asarray(t["labels"]).reshape(-1)) for t in targets]
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    return order[: max(count, 0)]


def _at_threshold(curve: ClassCurve, threshold: float) -> tuple[float | None, float | None]:
    """Precision and recall of the predictions scoring at least ``threshold``."""
    if curve.positives == 0:
        return None, None
    above = np.nonzero(curve.scores >= threshold)[0]
    if above.size == 0:
        return None, 0.0
    last = int(above[-1])
    return float(curve.precision[last]), float(curve.recall[last])


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def write_detection_outputs(
    predictions: Sequence[Mapping[str, ArrayLike]],
    targets: Sequence[Mapping[str, ArrayLike]],
    metrics_path: Path,
    *,
    classes: Sequence[ClassInfo],
    bands: Sequence[str],
    load_image: ImageLoader,
    style: Literal["voc07", "voc12", "coco"] = "voc12",
    iou_threshold: float = 0.5,
    oriented: bool = False,
    examples: int = 4,
    score_threshold: float = 0.3,
) -> dict[str, Any]:
    """Write the PR curves and the example figure of a detector's evaluation.

    Args:
        predictions: Per image (loader order), ``boxes`` ``[N, 4|5]``, ``scores``
            ``[N]``, ``labels`` ``[N]``.
        targets: Per image, ``boxes`` ``[M, 4|5]``, ``labels`` ``[M]``, optional
            ``difficult`` ``[M]``.
        metrics_path: The metrics JSON; the outputs go beside it (:func:`output_paths`).
        classes: The classes by id (names and colours); one per class id 0..K-1.
        bands: The band names of the images' channels.
        load_image: Gives an image's name and pixels by index (only the examples
            are loaded).
        style: AP style, as the metrics were computed.
        iou_threshold: IoU a match must exceed (VOC styles; COCO curves are at 0.5).
        oriented: Boxes are ``[N, 5]`` ``(cx, cy, w, h, angle)``.
        examples: Images drawn in the examples figure (0: no figure).
        score_threshold: Least score of a drawn prediction, and the operating point
            of the table's precision and recall.

    Returns:
        The ``detection`` section for the metrics JSON.

    Raises:
        ConfigError: No class, no image, or a score threshold outside 0..1.
    """
    if not classes:
        raise ConfigError("no classes to score.", fix="pass the bundle's classes.")
    if not targets:
        raise ConfigError("no image was scored.", fix="evaluate on data with images.")
    if not 0.0 <= score_threshold <= 1.0:
        raise ConfigError(
            f"score threshold {score_threshold} outside 0..1.",
            fix="pass the least score of a prediction that counts, e.g. 0.3.",
        )
    ordered = sorted(classes, key=lambda c: c.id)
    names = [c.name for c in ordered]
    scores = detection_scores(
        predictions, targets, len(names), style=style, iou_threshold=iou_threshold,
        oriented=oriented,
    )  # fmt: skip
    curves = class_curves(scores, names, iou_threshold)
    paths = output_paths(metrics_path)
    write_curves(curves, paths["pr_curves_json"], paths["pr_curves_csv"])
    pr_curves_figure(curves, ordered, path=paths["pr_curves_png"])
    predicted = np.concatenate(
        [np.zeros(0, np.int64)] + [np.asarray(p["labels"]).reshape(-1) for p in predictions]
    )
    table = []
    colours = {c.id: c.color for c in ordered}
    for curve in curves.classes:
        precision, recall = _at_threshold(curve, score_threshold)
        table.append(
            {
                "id": curve.class_id,
                "name": curve.name,
                "color": colours.get(curve.class_id, fallback_color(curve.class_id)),
                "ap": _number(curve.ap),
                "curve_ap": _number(curve_ap(curve, curves.style)),
                "objects": curve.positives,
                "predictions": int((predicted == curve.class_id).sum()),
                "recall_reached": float(curve.recall[-1]) if curve.recall.size else None,
                "precision_at_threshold": precision,
                "recall_at_threshold": recall,
            }
        )
    files = {key: path.name for key, path in paths.items() if key != "examples_png"}
    chosen = choose_examples(targets, examples)
    drawn: list[str] = []
    if chosen:
        shown = []
        for index in chosen:
            name, image, valid = load_image(index)
            p, t = predictions[index], targets[index]
            shown.append(
                Example(
                    name=name,
                    image=image,
                    valid=valid,
                    target_boxes=np.asarray(t["boxes"], np.float64),
                    target_labels=np.asarray(t["labels"], np.int64).reshape(-1),
                    boxes=np.asarray(p["boxes"], np.float64),
                    scores=np.asarray(p["scores"], np.float64).reshape(-1),
                    labels=np.asarray(p["labels"], np.int64).reshape(-1),
                )
            )
            drawn.append(name)
        figure = detection_examples(
            shown, bands, ordered, oriented=oriented, score_threshold=score_threshold,
            iou_threshold=iou_threshold,
        )  # fmt: skip
        save_png(figure, paths["examples_png"])
        files["examples_png"] = paths["examples_png"].name
    return {
        "style": scores.style,
        "iou_threshold": curves.iou_threshold,
        "score_threshold": score_threshold,
        "map": _number(scores.map),
        "ap50": None if scores.ap50 is None else _number(scores.ap50),
        "ap75": None if scores.ap75 is None else _number(scores.ap75),
        "images": len(targets),
        "objects": int(sum(curve.positives for curve in curves.classes)),
        "per_class": table,
        "files": files,
        "examples": drawn,
    }


__all__ = ["SUFFIXES", "ImageLoader", "choose_examples", "output_paths", "write_detection_outputs"]
