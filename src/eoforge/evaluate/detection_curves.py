"""Per-class precision-recall curves of a detector as data: built, saved, read back.

:func:`class_curves` takes what
:func:`~eoforge.evaluate.detection_metrics.detection_scores` returned and the
class names, and gives one :class:`ClassCurve` per class: the precision and
recall after each counted prediction in descending score order, the score of
that prediction, the class's AP and its number of targets. :func:`write_curves`
saves them as JSON (one object per class, the form :func:`read_curves` reads)
and as CSV (one row per curve point, for spreadsheets and pandas);
:func:`curve_ap` recomputes a class's AP from a saved curve with the style's
own interpolation, so a file can be checked against the metrics beside it.
Nothing here draws.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eoforge.errors import UnreadableFileError
from eoforge.evaluate.detection_metrics import DetectionScores, FloatArray, coco_ap, voc_ap

CURVES_VERSION = 1
"""Version of the JSON layout :func:`write_curves` writes."""

CSV_COLUMNS = ("class_id", "class", "rank", "score", "precision", "recall")
"""Columns of the CSV form: one row per counted prediction of a class."""

INTERPOLATION = {
    "voc07": "11-point (VOC 2007)",
    "dota07": "11-point (VOC 2007)",
    "voc12": "all-point (VOC 2012)",
    "dota12": "all-point (VOC 2012)",
    "coco": "101-point (COCO) at IoU 0.5",
}
"""How each AP style reads a curve, in words."""


@dataclass(frozen=True)
class ClassCurve:
    """One class's precision-recall curve.

    Attributes:
        class_id: The class id (0..K-1).
        name: The class name.
        ap: The class's AP as the metrics report it, 0..1 (COCO: mean over IoU
            0.50:0.95, so not what the curve alone gives); NaN without targets.
        positives: Targets of the class that count (not ``difficult``).
        precision: ``[P]`` precision after each counted prediction, descending score.
        recall: ``[P]`` recall at the same points (non-decreasing).
        scores: ``[P]`` score of the prediction at each point.
    """

    class_id: int
    name: str
    ap: float
    positives: int
    precision: FloatArray
    recall: FloatArray
    scores: FloatArray


@dataclass(frozen=True)
class Curves:
    """The curves of every class and how their AP was computed.

    Attributes:
        style: AP style (``voc07``, ``voc12``, ``coco``, ``dota07``, ``dota12``).
        iou_threshold: IoU a match had to exceed (COCO curves: 0.5).
        classes: One curve per class, in class-id order.
    """

    style: str
    iou_threshold: float
    classes: list[ClassCurve]


def class_curves(scores: DetectionScores, names: Sequence[str], iou_threshold: float) -> Curves:
    """The per-class curves held in ``scores``.

    Args:
        scores: What :func:`~eoforge.evaluate.detection_metrics.detection_scores` returned.
        names: Class names by id (``len(names)`` = the number of classes scored).
        iou_threshold: The IoU threshold the scores were computed with (0.5 for COCO).

    Returns:
        The curves, one per class id.
    """
    classes = [
        ClassCurve(
            class_id=c,
            name=str(names[c]),
            ap=float(scores.ap_per_class[c]),
            positives=int(scores.positives.get(c, 0)),
            precision=np.asarray(scores.precision[c], dtype=np.float64),
            recall=np.asarray(scores.recall[c], dtype=np.float64),
            scores=np.asarray(scores.thresholds.get(c, np.zeros(0)), dtype=np.float64),
        )
        for c in sorted(scores.ap_per_class)
    ]
    threshold = 0.5 if scores.style == "coco" else float(iou_threshold)
    return Curves(style=scores.style, iou_threshold=threshold, classes=classes)


def curve_ap(curve: ClassCurve, style: str) -> float:
    """A class's AP recomputed from its curve with the style's interpolation.

    Args:
        curve: The class's curve.
        style: ``voc07``/``dota07`` (11 points), ``voc12``/``dota12`` (all points)
            or ``coco`` (101 points; gives the class's AP at IoU 0.5, not the
            0.50:0.95 mean).

    Returns:
        AP in 0..1; NaN for a class without targets.
    """
    if curve.positives == 0:
        return math.nan
    if style == "coco":
        return coco_ap(curve.recall, curve.precision)
    return voc_ap(curve.recall, curve.precision, eleven_points=style in ("voc07", "dota07"))


def envelope_points(curve: ClassCurve) -> tuple[FloatArray, FloatArray]:
    """The curve as plotted: recall and the monotone precision envelope, from recall 0.

    Returns:
        ``recall`` and ``precision``, ``[P + 1]`` each (empty without targets): a
        first point at recall 0, then one per counted prediction; precision is the
        largest precision at this recall or beyond, the envelope AP integrates.
    """
    if curve.positives == 0 or curve.recall.size == 0:
        return np.zeros(0), np.zeros(0)
    envelope = np.maximum.accumulate(curve.precision[::-1])[::-1]
    return np.concatenate([[0.0], curve.recall]), np.concatenate([envelope[:1], envelope])


def _finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        staging.write_text(text, encoding="utf-8", newline="")
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def write_curves(curves: Curves, json_path: Path, csv_path: Path) -> None:
    """Save the curves as JSON and CSV (each through a temporary name and a rename).

    The JSON holds ``version``, ``style``, ``iou_threshold``, ``interpolation``
    and ``classes``: per class ``id``, ``name``, ``ap`` (null without targets),
    ``curve_ap`` (:func:`curve_ap`), ``positives`` and the lists ``precision``,
    ``recall`` and ``scores``. The CSV has the columns :data:`CSV_COLUMNS`, one
    row per curve point, ``rank`` counting from 1 in descending score order.

    Args:
        curves: The curves.
        json_path: JSON file to write.
        csv_path: CSV file to write.
    """
    content = {
        "version": CURVES_VERSION,
        "style": curves.style,
        "iou_threshold": curves.iou_threshold,
        "interpolation": INTERPOLATION.get(curves.style, curves.style),
        "classes": [
            {
                "id": c.class_id,
                "name": c.name,
                "ap": _finite_or_none(c.ap),
                "curve_ap": _finite_or_none(curve_ap(c, curves.style)),
                "positives": c.positives,
                "precision": c.precision.tolist(),
                "recall": c.recall.tolist(),
                "scores": c.scores.tolist(),
            }
            for c in curves.classes
        ],
    }
    _write_text(json_path, json.dumps(content, indent=1) + "\n")
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for c in curves.classes:
        for rank, (score, p, r) in enumerate(
            zip(c.scores, c.precision, c.recall, strict=True), start=1
        ):
            out.writerow(
                [c.class_id, c.name, rank, repr(float(score)), repr(float(p)), repr(float(r))]
            )
    _write_text(csv_path, buffer.getvalue())


def read_curves(json_path: str | os.PathLike[str]) -> Curves:
    """Curves saved by :func:`write_curves`.

    Args:
        json_path: The JSON file.

    Returns:
        The curves.

    Raises:
        UnreadableFileError: Not JSON, or not the layout :func:`write_curves` writes.
    """
    path = Path(json_path)
    fix = "evaluate the bundle again (`eoforge evaluate BUNDLE DATA`) to rewrite it."
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        classes = [
            ClassCurve(
                class_id=int(entry["id"]),
                name=str(entry["name"]),
                ap=math.nan if entry["ap"] is None else float(entry["ap"]),
                positives=int(entry["positives"]),
                precision=np.asarray(entry["precision"], dtype=np.float64).reshape(-1),
                recall=np.asarray(entry["recall"], dtype=np.float64).reshape(-1),
                scores=np.asarray(entry["scores"], dtype=np.float64).reshape(-1),
            )
            for entry in raw["classes"]
        ]
        curves = Curves(str(raw["style"]), float(raw["iou_threshold"]), classes)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFileError(
            f"is not a precision-recall curves file ({type(exc).__name__}: {exc}).",
            path=path,
            fix=fix,
        ) from exc
    for c in classes:
        if not len(c.precision) == len(c.recall) == len(c.scores):
            raise UnreadableFileError(
                f"class {c.name!r}: {len(c.precision)} precision, {len(c.recall)} recall "
                f"and {len(c.scores)} score values; they go in threes.",
                path=path,
                fix=fix,
            )
    return curves


def read_curves_csv(csv_path: str | os.PathLike[str]) -> dict[str, FloatArray]:
    """The CSV form as columns: ``class_id``, ``rank``, ``score``, ``precision``, ``recall``.

    Args:
        csv_path: A CSV written by :func:`write_curves`.

    Returns:
        Column name -> float64 ``[rows]`` (class names are left out).

    Raises:
        UnreadableFileError: A missing column or a value that is not a number.
    """
    path = Path(csv_path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return {
            key: np.asarray([float(row[key]) for row in rows], dtype=np.float64)
            for key in CSV_COLUMNS
            if key != "class"
        }
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFileError(
            f"is not a precision-recall curves CSV ({type(exc).__name__}: {exc}).",
            path=path,
            fix="evaluate the bundle again to rewrite it.",
        ) from exc


__all__ = [
    "CSV_COLUMNS",
    "ClassCurve",
    "Curves",
    "class_curves",
    "curve_ap",
    "envelope_points",
    "read_curves",
    "read_curves_csv",
    "write_curves",
]
