"""Average precision of detected boxes: VOC 2007/2012, COCO, and DOTA (oriented boxes).

:func:`detection_scores` takes, per image, the predicted boxes with their scores
and class ids and the target boxes with their class ids (optionally a
``difficult`` flag), as numpy arrays or torch tensors, and returns a
:class:`DetectionScores`. Boxes are ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` or,
with ``oriented=True``, ``[N, 5]`` ``(cx, cy, w, h, angle)`` in the shared pixel
convention (IoU by :mod:`eoforge.boxes`: exact polygon clipping for oriented boxes;
no ``+1`` on pixel edges).

* ``voc07`` / ``voc12`` (``dota07`` / ``dota12`` when oriented), as the VOC and DOTA
  devkits: per class, predictions of all images in descending score order; each is
  matched to the target it overlaps most; IoU above ``iou_threshold`` and that
  target unmatched makes a true positive, anything else a false positive, except
  that a prediction whose best target is ``difficult`` is ignored (neither).
  ``voc07`` averages the largest precision at recall >= 0, 0.1, ..., 1 (11 points,
  the thresholds of ``np.arange(0, 1.1, 0.1)`` as the devkits use);
  ``voc12`` is the area under the monotone precision envelope (all points).
* ``coco``, as pycocotools' ``COCOeval``: the 100 best predictions per image and
  class; each, in descending score order, takes the best-overlapping target not yet
  matched with IoU >= the threshold (targets that count before ``difficult`` ones,
  which play the part of COCO's ignored targets); precision interpolated at 101
  recall points, averaged over IoU 0.50:0.05:0.95 (``ap50`` and ``ap75`` at one IoU).

The mean (``map``) is over classes with at least one target that counts; the
others are NaN in ``ap_per_class`` and left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from eoforge.boxes import box_iou, rotated_iou
from eoforge.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def pairwise_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU of every pair: axis-aligned for ``[*, 4]`` boxes, rotated rectangles for ``[*, 5]``.

    Args:
        a: ``[N, 4]`` or ``[N, 5]`` boxes in pixels (radians for the angle).
        b: ``[M, 4]`` or ``[M, 5]``, the same width as ``a``.

    Returns:
        ``[N, M]`` intersection over union in 0..1 (float64; 0 where the union is empty).

    Raises:
        ValueError: The boxes are not both 4 or both 5 wide.
    """
    first = torch.as_tensor(np.asarray(a, dtype=np.float64))
    second = torch.as_tensor(np.asarray(b, dtype=np.float64))
    if first.ndim != 2 or second.ndim != 2 or first.shape[1] != second.shape[1]:
        raise ValueError(
            f"boxes of shapes {tuple(first.shape)} and {tuple(second.shape)}: "
            "expected [N, 4] or [N, 5] for both"
        )
    iou = box_iou if first.shape[1] == 4 else rotated_iou
    out: FloatArray = iou(first, second).numpy()
    return out


ArrayLike = npt.NDArray[Any] | torch.Tensor

STYLES = ("voc07", "voc12", "coco")
COCO_IOUS: FloatArray = np.linspace(0.5, 0.95, round((0.95 - 0.5) / 0.05) + 1)
"""IoU thresholds of COCO AP, 0.50:0.05:0.95 (computed as pycocotools does)."""
COCO_RECALLS: FloatArray = np.linspace(0.0, 1.0, round(1.0 / 0.01) + 1)
"""Recall points at which COCO interpolates precision (101)."""
COCO_MAX_DETECTIONS = 100
"""Predictions kept per image and class in COCO style, the best-scoring first."""
VOC07_RECALLS: FloatArray = np.arange(0.0, 1.1, 0.1)
"""The 11 recall thresholds of VOC 2007 AP."""


@dataclass(frozen=True)
class DetectionScores:
    """Average precision of a detector over a set of images.

    Attributes:
        map: Mean AP over the classes with targets (NaN when no class has one).
        ap_per_class: Class id -> AP in 0..1 (NaN for classes without targets).
        ap50: COCO style: mean AP at IoU 0.5; None otherwise.
        ap75: COCO style: mean AP at IoU 0.75; None otherwise.
        precision: Class id -> ``[P]`` precision after each counted prediction, in
            descending score order (COCO: at IoU 0.5); empty for classes without targets.
        recall: Class id -> ``[P]`` recall at the same points.
        style: ``voc07``, ``voc12``, ``coco``, ``dota07`` or ``dota12`` (oriented VOC).
        thresholds: Class id -> ``[P]`` score of the prediction at each point of the
            curve (the score threshold at which that precision and recall are reached).
        positives: Class id -> number of targets that count (not ``difficult``).
    """

    map: float
    ap_per_class: dict[int, float]
    ap50: float | None
    ap75: float | None
    precision: dict[int, FloatArray]
    recall: dict[int, FloatArray]
    style: str
    thresholds: dict[int, FloatArray] = field(default_factory=dict)
    positives: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Image:
    """One image's boxes of one kind (predictions or targets), as float64 / int64 / bool."""

    boxes: FloatArray
    scores: FloatArray
    labels: IntArray
    difficult: BoolArray


def _array(value: object) -> npt.NDArray[np.generic]:
    if isinstance(value, torch.Tensor):
        return np.asarray(value.detach().cpu().numpy())
    return np.asarray(value)


def _image(
    entry: Mapping[str, ArrayLike], index: int, what: str, width: int, num_classes: int
) -> _Image:
    """Checked arrays of one image's ``predictions`` or ``targets`` entry."""
    keys = ("boxes", "scores", "labels") if what == "predictions" else ("boxes", "labels")
    for key in keys:
        if key not in entry:
            raise ConfigError(
                f"image {index}: the {what} have no {key!r}.",
                fix=f"give every image's {what} the keys {', '.join(keys)} (empty arrays if none).",
            )
    boxes = _array(entry["boxes"]).astype(np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, width)
    if boxes.ndim != 2 or boxes.shape[1] != width:
        raise ConfigError(
            f"image {index}: {what} boxes of shape {tuple(boxes.shape)}, expected [N, {width}].",
            fix="pass [N, 4] (xmin, ymin, xmax, ymax) boxes, or [N, 5] (cx, cy, w, h, angle) "
            "boxes with oriented=True.",
        )
    n = len(boxes)
    labels = _array(entry["labels"]).astype(np.int64).reshape(-1)
    scores = _array(entry["scores"]).astype(np.float64).reshape(-1) if "scores" in keys else None
    difficult = (
        _array(entry["difficult"]).astype(bool).reshape(-1)
        if entry.get("difficult") is not None
        else np.zeros(n, dtype=bool)
    )
    for name, values in (("labels", labels), ("scores", scores), ("difficult", difficult)):
        if values is not None and len(values) != n:
            raise ConfigError(
                f"image {index}: {n} {what} boxes but {len(values)} {name}.",
                fix="give one label (and score, difficult flag) per box.",
            )
    outside = labels[(labels < 0) | (labels >= num_classes)]
    if outside.size:
        raise ConfigError(
            f"image {index}: {what} label {int(outside[0])} outside the classes "
            f"0..{num_classes - 1}.",
            fix="labels index the dataset's classes 0..K-1 (no background class); "
            "pass num_classes=K.",
        )
    return _Image(boxes, np.zeros(n) if scores is None else scores, labels, difficult)


def _of_class(image: _Image, class_id: int) -> _Image:
    keep = image.labels == class_id
    return _Image(image.boxes[keep], image.scores[keep], image.labels[keep], image.difficult[keep])


# --------------------------------------------------------------------------- VOC / DOTA


def voc_ap(recall: FloatArray, precision: FloatArray, *, eleven_points: bool) -> float:
    """AP of one class from its PR curve, as the VOC devkit.

    Args:
        recall: ``[P]`` recall after each prediction, descending score order.
        precision: ``[P]`` precision at the same points.
        eleven_points: VOC 2007: mean of the largest precision at recall >= each of
            0, 0.1, ..., 1 (0 where never reached). Else VOC 2012: area under the
            monotone precision envelope.

    Returns:
        AP in 0..1.
    """
    if eleven_points:
        total = 0.0
        for threshold in VOC07_RECALLS:
            reached = precision[recall >= threshold]
            total += float(reached.max()) if reached.size else 0.0
        return total / len(VOC07_RECALLS)
    rec = np.concatenate([[0.0], recall, [1.0]])
    envelope = np.maximum.accumulate(np.concatenate([[0.0], precision, [0.0]])[::-1])[::-1]
    steps = np.nonzero(rec[1:] != rec[:-1])[0]
    return float(np.sum((rec[steps + 1] - rec[steps]) * envelope[steps + 1]))


def _voc_curve(
    predictions: list[_Image], targets: list[_Image], iou_threshold: float
) -> tuple[FloatArray, FloatArray, int, FloatArray]:
    """Precision, recall, number of counted targets and scores (counted predictions) of a class."""
    ious = [pairwise_iou(p.boxes, t.boxes) for p, t in zip(predictions, targets, strict=True)]
    image_of = np.concatenate(
        [np.zeros(0, np.int64)] + [np.full(len(p.scores), i) for i, p in enumerate(predictions)]
    )
    row_of = np.concatenate(
        [np.zeros(0, np.int64)] + [np.arange(len(p.scores)) for p in predictions]
    )
    scores = np.concatenate([np.zeros(0)] + [p.scores for p in predictions])
    matched = [np.zeros(len(t.labels), dtype=bool) for t in targets]
    outcome: list[bool] = []  # True: true positive, False: false positive (ignored: absent)
    counted: list[float] = []
    for k in np.argsort(-scores, kind="stable"):
        image, row = int(image_of[k]), int(row_of[k])
        overlaps = ious[image][row]
        best = int(np.argmax(overlaps)) if overlaps.size else -1
        if best < 0 or overlaps[best] <= iou_threshold:
            outcome.append(False)
        elif targets[image].difficult[best]:
            continue
        elif matched[image][best]:
            outcome.append(False)
        else:
            matched[image][best] = True
            outcome.append(True)
        counted.append(float(scores[k]))
    positives = int(sum(int((~t.difficult).sum()) for t in targets))
    tp = np.cumsum(np.asarray(outcome, dtype=np.float64))
    count = np.arange(1, len(outcome) + 1, dtype=np.float64)
    recall = tp / positives if positives else np.zeros(0)
    precision = tp / np.maximum(count, np.finfo(np.float64).eps)
    return precision, recall, positives, np.asarray(counted, dtype=np.float64)


# --------------------------------------------------------------------------- COCO


def _coco_image(
    predictions: _Image, targets: _Image
) -> tuple[FloatArray, BoolArray, BoolArray, int]:
    """COCOeval.evaluateImg for one image and class: scores, matched and ignored ``[T, D]``."""
    order = np.argsort(-predictions.scores, kind="mergesort")[:COCO_MAX_DETECTIONS]
    target_order = np.argsort(targets.difficult, kind="mergesort")
    ignored = targets.difficult[target_order]
    ious = pairwise_iou(predictions.boxes[order], targets.boxes[target_order])
    detections, thresholds = len(order), len(COCO_IOUS)
    matched = np.zeros((thresholds, detections), dtype=bool)
    ignore = np.zeros((thresholds, detections), dtype=bool)
    if len(target_order):
        # All thresholds at once. Per threshold, COCO walks the targets (those that count
        # first) and keeps the last one with the largest IoU >= the threshold among those
        # not taken; a difficult target only when no target that counts qualifies.
        limits = np.minimum(COCO_IOUS, 1 - 1e-10)[:, None]
        taken = np.zeros((thresholds, len(target_order)), dtype=bool)
        rows = np.arange(thresholds)
        for d in range(detections):
            candidates = ~taken & (ious[d][None, :] >= limits)
            counting = candidates & ~ignored[None, :]
            pool = np.where(counting.any(axis=1, keepdims=True), counting, candidates)
            values = np.where(pool, ious[d][None, :], -np.inf)
            best = len(target_order) - 1 - np.argmax(values[:, ::-1], axis=1)
            hit = pool.any(axis=1)
            taken[rows[hit], best[hit]] = True
            matched[:, d] = hit
            ignore[:, d] = hit & ignored[best]
    return predictions.scores[order], matched, ignore, int((~ignored).sum())


def _coco_class(
    predictions: list[_Image], targets: list[_Image]
) -> tuple[FloatArray, FloatArray, FloatArray, int, FloatArray]:
    """COCOeval.accumulate for one class.

    Returns ``[T, R]`` precision, the IoU-0.5 PR curve (precision, recall), the
    number of positives and the scores at the curve's points.
    """
    parts = [_coco_image(p, t) for p, t in zip(predictions, targets, strict=True)]
    positives = sum(part[3] for part in parts)
    none = np.zeros((len(COCO_IOUS), 0), dtype=bool)
    scores = np.concatenate([np.zeros(0)] + [part[0] for part in parts])
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([none] + [part[1] for part in parts], axis=1)[:, order]
    ignore = np.concatenate([none] + [part[2] for part in parts], axis=1)[:, order]
    precision = np.zeros((len(COCO_IOUS), len(COCO_RECALLS)))
    tp = np.cumsum(matched & ~ignore, axis=1, dtype=np.float64)
    fp = np.cumsum(~matched & ~ignore, axis=1, dtype=np.float64)
    if positives == 0:
        return precision, np.zeros(0), np.zeros(0), 0, np.zeros(0)
    recall = tp / positives
    ratio = tp / (tp + fp + np.spacing(1))
    for t in range(len(COCO_IOUS)):
        envelope = np.maximum.accumulate(ratio[t][::-1])[::-1]
        at = np.searchsorted(recall[t], COCO_RECALLS, side="left")
        valid = at < len(envelope)
        precision[t, valid] = envelope[at[valid]]
    counted = ~ignore[0]
    return precision, ratio[0][counted], recall[0][counted], positives, scores[order][counted]


def coco_ap(recall: FloatArray, precision: FloatArray) -> float:
    """AP of one class's PR curve at one IoU, as COCO interpolates it (101 recall points).

    Args:
        recall: ``[P]`` recall after each counted prediction, descending score order.
        precision: ``[P]`` precision at the same points.

    Returns:
        Mean over recall 0, 0.01, ..., 1 of the largest precision at that recall or
        beyond (0 where never reached), in 0..1.
    """
    if recall.size == 0:
        return 0.0
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.searchsorted(recall, COCO_RECALLS, side="left")
    valid = at < len(envelope)
    sampled = np.zeros(len(COCO_RECALLS))
    sampled[valid] = envelope[at[valid]]
    return float(sampled.mean())


# --------------------------------------------------------------------------- one image


def match_image(
    predictions: Mapping[str, ArrayLike],
    targets: Mapping[str, ArrayLike],
    *,
    iou_threshold: float = 0.5,
    oriented: bool = False,
) -> tuple[BoolArray, BoolArray]:
    """Which predictions of one image are true positives, and which targets were found.

    The VOC rule on one image: per class, predictions in descending score order
    each take the target of that class they overlap most when the IoU exceeds
    ``iou_threshold`` and the target is not taken yet. A prediction matched to a
    ``difficult`` target counts as found. Filter the predictions by score first
    to show a detector at an operating point.

    Args:
        predictions: ``boxes`` ``[N, 4|5]``, ``scores`` ``[N]``, ``labels`` ``[N]``.
        targets: ``boxes`` ``[M, 4|5]``, ``labels`` ``[M]`` (``difficult`` is not needed).
        iou_threshold: Overlap a match must exceed, in [0, 1).
        oriented: Boxes are ``(cx, cy, w, h, angle)``.

    Returns:
        ``(true_positive [N], found [M])``, bool.

    Raises:
        ConfigError: Boxes, scores or labels of the wrong shape.
    """
    width = 5 if oriented else 4
    labels_seen = [_array(entry["labels"]).reshape(-1) for entry in (predictions, targets)]
    top = max([int(v.max()) for v in labels_seen if v.size] + [0]) + 1
    found = _image(predictions, 0, "predictions", width, top)
    truth = _image(targets, 0, "targets", width, top)
    positive = np.zeros(len(found.labels), dtype=bool)
    taken = np.zeros(len(truth.labels), dtype=bool)
    ious = pairwise_iou(found.boxes, truth.boxes)
    for k in np.argsort(-found.scores, kind="stable"):
        overlaps = np.where(truth.labels == found.labels[k], ious[k], -1.0)
        best = int(np.argmax(overlaps)) if overlaps.size else -1
        if best >= 0 and overlaps[best] > iou_threshold and not taken[best]:
            taken[best] = True
            positive[k] = True
    return positive, taken


# --------------------------------------------------------------------------- entry points


def detection_scores(
    predictions: Sequence[Mapping[str, ArrayLike]],
    targets: Sequence[Mapping[str, ArrayLike]],
    num_classes: int,
    *,
    style: Literal["voc07", "voc12", "coco"] = "voc12",
    iou_threshold: float = 0.5,
    oriented: bool = False,
) -> DetectionScores:
    """Average precision of predicted boxes against target boxes, per class and overall.

    Args:
        predictions: Per image, ``boxes`` ``[N, 4|5]`` float (pixels), ``scores`` ``[N]``
            and ``labels`` ``[N]`` int class ids; numpy arrays or torch tensors.
        targets: Per image (same order), ``boxes`` ``[M, 4|5]``, ``labels`` ``[M]`` and
            optionally ``difficult`` ``[M]`` bool.
        num_classes: K; class ids are 0..K-1.
        style: ``voc07`` (11-point AP), ``voc12`` (all-point AP) or ``coco``.
        iou_threshold: Overlap a VOC match must exceed (COCO uses 0.50:0.05:0.95).
        oriented: Boxes are ``[N, 5]`` ``(cx, cy, w, h, angle)`` and overlap as rotated
            polygons (DOTA); the VOC styles are then reported as ``dota07`` / ``dota12``.

    Returns:
        The scores; see :class:`DetectionScores`.

    Raises:
        ConfigError: Unknown style, IoU threshold outside [0, 1), mismatched image
            counts, or boxes, scores or labels of the wrong shape or out of range.
    """
    if style not in STYLES:
        raise ConfigError(f"unknown detection style {style!r}.", fix="use voc07, voc12 or coco.")
    if num_classes < 1:
        raise ConfigError(f"num_classes={num_classes}.", fix="pass the number of classes, >= 1.")
    if not 0.0 <= iou_threshold < 1.0:
        raise ConfigError(
            f"iou_threshold={iou_threshold}: a match must exceed it, so it lies in [0, 1).",
            fix="pass an IoU threshold such as 0.5.",
        )
    if len(predictions) != len(targets):
        raise ConfigError(
            f"{len(predictions)} images of predictions for {len(targets)} images of targets.",
            fix="pass one predictions dict per target image (empty arrays where none was found).",
        )
    width = 5 if oriented else 4
    found = [_image(p, i, "predictions", width, num_classes) for i, p in enumerate(predictions)]
    truth = [_image(t, i, "targets", width, num_classes) for i, t in enumerate(targets)]
    ap: dict[int, float] = {}
    ap50: dict[int, float] = {}
    ap75: dict[int, float] = {}
    precision: dict[int, FloatArray] = {}
    recall: dict[int, FloatArray] = {}
    thresholds: dict[int, FloatArray] = {}
    counts: dict[int, int] = {}
    for c in range(num_classes):
        found_c = [_of_class(image, c) for image in found]
        truth_c = [_of_class(image, c) for image in truth]
        if style == "coco":
            table, precision[c], recall[c], positives, thresholds[c] = _coco_class(found_c, truth_c)
            ap[c], ap50[c], ap75[c] = (
                (float(table.mean()), float(table[0].mean()), float(table[5].mean()))
                if positives
                else (math.nan, math.nan, math.nan)
            )
        else:
            precision[c], recall[c], positives, thresholds[c] = _voc_curve(
                found_c, truth_c, iou_threshold
            )
            ap[c] = (
                voc_ap(recall[c], precision[c], eleven_points=style == "voc07")
                if positives
                else math.nan
            )
        if not positives:
            precision[c], recall[c], thresholds[c] = np.zeros(0), np.zeros(0), np.zeros(0)
        counts[c] = positives
    name = style if not oriented or style == "coco" else style.replace("voc", "dota")
    return DetectionScores(
        map=_mean(ap),
        ap_per_class=ap,
        ap50=_mean(ap50) if style == "coco" else None,
        ap75=_mean(ap75) if style == "coco" else None,
        precision=precision,
        recall=recall,
        style=name,
        thresholds=thresholds,
        positives=counts,
    )


def _mean(values: Mapping[int, float]) -> float:
    counted = [v for v in values.values() if not math.isnan(v)]
    return float(np.mean(counted)) if counted else math.nan


def pr_curve_points(scores: DetectionScores, class_id: int) -> tuple[FloatArray, FloatArray]:
    """A class's precision-recall curve as plotted: recall and interpolated precision.

    Args:
        scores: What :func:`detection_scores` returned.
        class_id: The class.

    Returns:
        ``recall`` and ``precision``, ``[P + 1]`` each: a first point at recall 0, then
        one per counted prediction in descending score order; precision is the monotone
        envelope (the largest precision at this recall or beyond), as AP integrates it.
        Both empty for a class without targets.

    Raises:
        ConfigError: ``class_id`` is not one of the scored classes.
    """
    if class_id not in scores.recall:
        raise ConfigError(
            f"no PR curve for class {class_id}: the scores hold classes "
            f"0..{len(scores.recall) - 1}.",
            fix="pass a class id below the num_classes the scores were computed with.",
        )
    recall, precision = scores.recall[class_id], scores.precision[class_id]
    if recall.size == 0:
        return np.zeros(0), np.zeros(0)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return np.concatenate([[0.0], recall]), np.concatenate([envelope[:1], envelope])
