"""A small generated detection fixture, and its translation to COCO JSON for pycocotools.

:func:`crowded_scene` makes a few images of several classes with crowded,
overlapping targets, predictions that jitter them (some twice), false positives,
missed objects, tied scores and an image without objects, deterministic for a
seed. :func:`to_coco` writes the same boxes as COCO ground truth and results
(``[x, y, w, h]``, image ids and category ids from 1) so that ``COCOeval`` can
score exactly what :func:`eoforge.evaluate.detection_metrics.detection_scores`
scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Image = dict[str, npt.NDArray[Any]]


def _jitter(boxes: npt.NDArray[np.float32], scale: float, rng: np.random.Generator) -> Any:
    """Boxes moved and resized by up to ``scale`` of their size, kept non-empty."""
    size = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1)
    moved = boxes + rng.uniform(-scale, scale, boxes.shape) * size
    moved[:, 2:] = np.maximum(moved[:, 2:], moved[:, :2] + 1.0)
    return moved.astype(np.float32)


def crowded_scene(
    seed: int, num_images: int = 4, num_classes: int = 4, flood: int = 0
) -> tuple[list[Image], list[Image]]:
    """Predictions and targets of a few images, in the layout ``detection_scores`` takes.

    Args:
        seed: Seed of the generator.
        num_images: Images; the last one has no targets (and a few false positives).
        num_classes: Classes; the last class has no targets anywhere (only false positives).
        flood: Extra low-scoring false positives of class 0 in the first image (more than
            100 exercise COCO's limit of 100 predictions per image and class).

    Returns:
        ``(predictions, targets)``: per image ``boxes`` float32 ``[N, 4]`` in pixels of a
        200 x 200 image, ``scores`` float32 ``[N]`` rounded to 0.05 (so some tie), and
        ``labels`` int64 ``[N]``; targets ``boxes`` and ``labels``.
    """
    rng = np.random.default_rng(seed)
    predictions: list[Image] = []
    targets: list[Image] = []
    for index in range(num_images):
        count = 0 if index == num_images - 1 else int(rng.integers(4, 12))
        # A few clusters make crowded, overlapping targets.
        centres = rng.uniform(30, 170, (3, 2))[rng.integers(0, 3, count)]
        centres = centres + rng.normal(0, 8, (count, 2))
        sizes = rng.uniform(8, 30, (count, 2))
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(
            np.float32
        )
        labels = rng.integers(0, max(num_classes - 1, 1), count).astype(np.int64)
        targets.append({"boxes": boxes, "labels": labels})

        found = rng.random(count) > 0.2  # some objects are missed
        hits = _jitter(boxes[found], 0.15, rng)
        twice = rng.random(int(found.sum())) < 0.3  # duplicates of the same object
        again = _jitter(boxes[found][twice], 0.25, rng)
        wrong = int(rng.integers(1, 4)) + (flood if index == 0 else 0)
        false_boxes = np.concatenate(
            [rng.uniform(0, 170, (wrong, 2)), np.zeros((wrong, 2))], axis=1
        ).astype(np.float32)
        false_boxes[:, 2:] = false_boxes[:, :2] + rng.uniform(8, 30, (wrong, 2))
        pred_boxes = np.concatenate([hits, again, false_boxes]).astype(np.float32)
        false_labels = rng.integers(0, num_classes, wrong)
        if index == 0 and flood:
            false_labels[-flood:] = 0
        pred_labels = np.concatenate([labels[found], labels[found][twice], false_labels]).astype(
            np.int64
        )
        # Some hits get the wrong class.
        swap = rng.random(len(pred_labels)) < 0.1
        pred_labels[swap] = rng.integers(0, num_classes, int(swap.sum()))
        scores = np.round(rng.uniform(0.05, 1.0, len(pred_boxes)) * 20) / 20
        if index == 0 and flood:
            scores[-flood:] = rng.uniform(0.0, 0.3, flood)
        predictions.append(
            {"boxes": pred_boxes, "scores": scores.astype(np.float32), "labels": pred_labels}
        )
    return predictions, targets


def to_coco(
    predictions: list[Image], targets: list[Image], num_classes: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fixture as a COCO ground-truth dataset and a list of COCO results.

    Args:
        predictions: Per image ``boxes`` ``[N, 4]`` ``(xmin, ymin, xmax, ymax)``, ``scores``,
            ``labels``.
        targets: Per image ``boxes`` and ``labels``.
        num_classes: Classes (category ids 1..K).

    Returns:
        ``(dataset, results)``: the ``dataset`` dict for ``COCO()`` (images, annotations
        with ``bbox`` ``[x, y, w, h]``, ``area``, ``iscrowd`` 0, categories) and the
        results for ``COCO.loadRes``.
    """
    images = [{"id": i + 1, "width": 200, "height": 200} for i in range(len(targets))]
    annotations: list[dict[str, Any]] = []
    for i, target in enumerate(targets):
        for box, label in zip(target["boxes"].astype(np.float64), target["labels"], strict=True):
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": int(label) + 1,
                    "bbox": [float(box[0]), float(box[1]), w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    results: list[dict[str, Any]] = []
    for i, found in enumerate(predictions):
        rows = zip(
            found["boxes"].astype(np.float64),
            found["scores"].astype(np.float64),
            found["labels"],
            strict=True,
        )
        for box, score, label in rows:
            results.append(
                {
                    "image_id": i + 1,
                    "category_id": int(label) + 1,
                    "bbox": [
                        float(box[0]),
                        float(box[1]),
                        float(box[2] - box[0]),
                        float(box[3] - box[1]),
                    ],
                    "score": float(score),
                }
            )
    categories = [{"id": c + 1, "name": f"class{c}"} for c in range(num_classes)]
    return {"images": images, "annotations": annotations, "categories": categories}, results
