"""Class-aware NMS: hand cases; agreement with the shapely-based NMS of whole-scene prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from eoforge.boxes.iou import rotated_iou
from eoforge.boxes.nms import batched_nms
from eoforge.predict.detections import BoxTable, nms

F64 = torch.float64


def reference(
    boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou: float
) -> np.ndarray:
    """Kept indices by the predict merge's NMS (rows must be given best first)."""
    order = np.argsort(-scores.numpy(), kind="stable")
    table = BoxTable(
        boxes.double().numpy()[order], scores.double().numpy()[order], labels.numpy()[order]
    )
    return order[nms(table, iou, oriented=boxes.shape[1] == 5)]


def random_detections(
    n: int, seed: int, width: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, generator=g, dtype=F64) * 40
    size = torch.rand(n, 2, generator=g, dtype=F64) * 12 + 2
    if width == 5:
        angle = (torch.rand(n, 1, generator=g, dtype=F64) - 0.5) * math.pi
        boxes = torch.cat([centre, size, angle], dim=1)
    else:
        boxes = torch.cat([centre, centre + size], dim=1)
    # a detector's duplicates: every box again, jittered, and mostly of the same class
    boxes = torch.cat([boxes, boxes + torch.randn(n, width, generator=g, dtype=F64) * 0.3])
    scores = torch.rand(2 * n, generator=g, dtype=F64)
    labels = torch.randint(0, 3, (n,), generator=g).repeat(2)
    labels[n:][torch.rand(n, generator=g) < 0.2] = 3
    return boxes, scores, labels


@pytest.mark.parametrize("iou", [0.1, 0.3, 0.5, 0.7])
def test_rotated_nms_agrees_with_the_predict_merge(iou: float) -> None:
    boxes, scores, labels = random_detections(80, int(iou * 10), 5)
    keep = batched_nms(boxes, scores, labels, iou)
    expected = reference(boxes, scores, labels, iou)
    assert 0 < len(keep) < len(boxes)  # something was suppressed, something kept
    np.testing.assert_array_equal(keep.numpy(), expected)


@pytest.mark.parametrize("iou", [0.3, 0.5])
def test_horizontal_nms_agrees_with_the_predict_merge(iou: float) -> None:
    boxes, scores, labels = random_detections(80, 20 + int(iou * 10), 4)
    keep = batched_nms(boxes.float(), scores.float(), labels, iou)
    assert 0 < len(keep) < len(boxes)
    np.testing.assert_array_equal(keep.numpy(), reference(boxes, scores, labels, iou))


def test_rotated_hand_cases() -> None:
    square = [0.5, 0.5, 1.0, 1.0]
    boxes = torch.tensor(
        [
            [*square, 0.0],
            [*square, math.pi / 4],  # IoU 1/sqrt(2) = 0.707 with the first
            [1.0, 0.5, 1.0, 1.0, 0.0],  # IoU 1/3 with the first
            [*square, math.pi / 4],  # like the second, other class
            [10.0, 10.0, 2.0, 1.0, 0.3],  # far away
        ]
    )
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.1])
    labels = torch.tensor([0, 0, 0, 1, 0])
    assert batched_nms(boxes, scores, labels, 0.5).tolist() == [0, 2, 3, 4]
    assert batched_nms(boxes, scores, labels, 0.75).tolist() == [0, 1, 2, 3, 4]
    assert batched_nms(boxes, scores, labels, 0.2).tolist() == [0, 3, 4]
    # best score first: the second box outranks the first and suppresses it
    scores = torch.tensor([0.5, 0.8, 0.7, 0.6, 0.9])
    assert batched_nms(boxes, scores, labels, 0.5).tolist() == [4, 1, 2, 3]


def test_horizontal_hand_case() -> None:
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 1.8], [0.0, 0.0, 2.0, 1.8]])
    keep = batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 1]), 0.5)
    assert keep.tolist() == [0, 2]  # IoU 0.9 within class 0; class 1 untouched


def test_empty_and_wrong_shapes() -> None:
    keep = batched_nms(torch.zeros(0, 5), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5)
    assert keep.shape == (0,) and keep.dtype == torch.long
    with pytest.raises(ValueError, match=r"\[N, 4\] or \[N, 5\]"):
        batched_nms(torch.zeros(3, 6), torch.zeros(3), torch.zeros(3, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match="scores and labels"):
        batched_nms(torch.zeros(3, 5), torch.zeros(2), torch.zeros(3, dtype=torch.long), 0.5)


@pytest.mark.parametrize("iou", [0.1, 0.3, 0.5])
def test_sparse_rotated_nms_equals_greedy_over_the_dense_iou_matrix(iou: float) -> None:
    """Only pairs that could suppress are compared; the kept boxes are those of the plain
    greedy pass over every same-class IoU (clustered, thin and square, all angles)."""
    gen = torch.Generator().manual_seed(3)
    n = 600
    centres = torch.rand(40, 2, generator=gen) * 400
    xy = centres[torch.randint(0, 40, (n,), generator=gen)] + 4 * torch.randn(n, 2, generator=gen)
    wh = torch.rand(n, 2, generator=gen) * torch.tensor([40.0, 12.0]) + 2
    angle = (torch.rand(n, 1, generator=gen) - 0.5) * math.pi
    boxes = torch.cat([xy, wh, angle], 1).double()
    scores = torch.rand(n, generator=gen).double()
    labels = torch.randint(0, 3, (n,), generator=gen)
    order = torch.argsort(scores, descending=True, stable=True)
    overlap = rotated_iou(boxes[order], boxes[order]).numpy()
    same = (labels[order, None] == labels[None, order]).numpy()
    alive = np.ones(n, dtype=bool)
    for i in range(n):
        if alive[i]:
            alive[i + 1 :] &= ~((overlap[i, i + 1 :] > iou) & same[i, i + 1 :])
    expected = order[torch.from_numpy(np.flatnonzero(alive))]
    kept = batched_nms(boxes, scores, labels, iou)
    assert 0 < len(kept) < n
    assert kept.tolist() == expected.tolist()
