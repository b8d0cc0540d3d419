"""IoU of horizontal and oriented boxes: hand cases; shapely and torchvision as references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
import torch
import torchvision

from eoforge.boxes import oriented_to_corners
from eoforge.boxes.iou import box_iou, rotated_iou, rotated_iou_pairs

F64 = torch.float64


def random_boxes(n: int, seed: int, spread: float = 20.0) -> torch.Tensor:
    """Oriented boxes in any encoding (h may exceed w, any angle)."""
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, generator=g, dtype=F64) * spread
    size = torch.rand(n, 2, generator=g, dtype=F64) * 15 + 0.5
    angle = (torch.rand(n, 1, generator=g, dtype=F64) - 0.5) * 4 * math.pi
    return torch.cat([centre, size, angle], dim=1)


def shapely_iou(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Polygon IoU of corresponding rows (broadcasting like numpy)."""
    pa = shapely.polygons(oriented_to_corners(a).numpy())
    pb = shapely.polygons(oriented_to_corners(b).numpy())
    inter = shapely.area(shapely.intersection(pa, pb))
    return np.asarray(inter / (shapely.area(pa) + shapely.area(pb) - inter))


def test_box_iou_hand_case_and_torchvision() -> None:
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 4.0, 2.0], [0.5, 0.5, 1.5, 1.5]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 7, 0.0, 0.25]]))
    g = torch.Generator().manual_seed(0)
    low = torch.rand(30, 2, generator=g) * 20
    boxes = torch.cat([low, low + torch.rand(30, 2, generator=g) * 10 + 0.1], dim=1)
    torch.testing.assert_close(
        box_iou(boxes, boxes[:20]), torchvision.ops.box_iou(boxes, boxes[:20])
    )


def box(cx: float, cy: float, w: float, h: float, angle: float) -> torch.Tensor:
    return torch.tensor([[cx, cy, w, h, angle]], dtype=F64)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (box(0.5, 0.5, 1, 1, 0), box(1.0, 0.5, 1, 1, 0), 1 / 3),  # half-overlapping squares
        # a square and itself turned 45 degrees: the octagon 2 sqrt2 - 2 over 4 - 2 sqrt2
        (box(0.5, 0.5, 1, 1, 0), box(0.5, 0.5, 1, 1, math.pi / 4), 1 / math.sqrt(2)),
        (box(3, 4, 6, 2, 0.7), box(3, 4, 6, 2, 0.7), 1.0),  # identical
        (box(3, 4, 6, 2, 0.7), box(3, 4, 2, 6, 0.7 + math.pi / 2), 1.0),  # same box, re-encoded
        (box(3, 4, 6, 2, 0.7), box(3, 4, 6, 2, 0.7 - math.pi), 1.0),
        (box(0, 0, 2, 2, 0.3), box(10, 0, 2, 2, 0.3), 0.0),  # disjoint
        # a diamond off the corner of a square: envelopes overlap, boxes do not
        (box(0, 0, 2, 2, 0), box(2.2, 2.2, 2, 2, math.pi / 4), 0.0),
        (box(0, 0, 4, 2, 0), box(0.5, 0.2, 2, 1, 0.1), 0.25),  # inside: area ratio 2 / 8
        (box(0, 0, 2, 2, 0), box(2, 0, 2, 2, 0), 0.0),  # sharing an edge
    ],
)
def test_rotated_iou_hand_cases(a: torch.Tensor, b: torch.Tensor, expected: float) -> None:
    assert float(rotated_iou(a, b)[0, 0]) == pytest.approx(expected, abs=1e-12)
    assert float(rotated_iou(b, a)[0, 0]) == pytest.approx(expected, abs=1e-12)
    assert float(rotated_iou_pairs(a, b)[0]) == pytest.approx(expected, abs=1e-12)


def test_rotated_iou_pairs_agree_with_shapely_on_500_random_pairs() -> None:
    a, b = random_boxes(500, 1), random_boxes(500, 2)
    reference = shapely_iou(a, b)
    assert (reference > 0).sum() > 100  # many overlapping pairs, not only zeros
    np.testing.assert_allclose(rotated_iou_pairs(a, b).numpy(), reference, atol=1e-5)
    assert np.abs(rotated_iou_pairs(a, b).numpy() - reference).max() < 1e-9


def test_rotated_iou_matrix_agrees_with_shapely() -> None:
    a, b = random_boxes(40, 3), random_boxes(50, 4)
    reference = shapely_iou(a[:, None, :].expand(-1, 50, -1), b[None].expand(40, -1, -1))
    got = rotated_iou(a, b)
    assert got.shape == (40, 50) and got.dtype == F64
    np.testing.assert_allclose(got.numpy(), reference, atol=1e-9)


def test_rotated_iou_float32_is_close_to_float64() -> None:
    a, b = random_boxes(200, 5), random_boxes(200, 6)
    got = rotated_iou(a.float(), b.float())
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.double().numpy(), rotated_iou(a, b).numpy(), atol=1e-4)


def test_axis_aligned_oriented_boxes_match_box_iou() -> None:
    g = torch.Generator().manual_seed(7)
    low = torch.rand(30, 2, generator=g, dtype=F64) * 20
    xyxy = torch.cat([low, low + torch.rand(30, 2, generator=g, dtype=F64) * 10 + 0.1], dim=1)
    oriented = torch.cat(
        [(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2], torch.zeros(30, 1, dtype=F64)],
        dim=1,
    )
    torch.testing.assert_close(rotated_iou(oriented, oriented), box_iou(xyxy, xyxy))


def test_candidates_restrict_the_pairs() -> None:
    a = random_boxes(10, 8, spread=3.0)
    full = rotated_iou(a, a)
    mask = torch.rand(10, 10, generator=torch.Generator().manual_seed(0)) > 0.5
    torch.testing.assert_close(rotated_iou(a, a, candidates=mask), torch.where(mask, full, 0))


def test_empty_inputs() -> None:
    assert rotated_iou(torch.zeros(0, 5), random_boxes(3, 9).float()).shape == (0, 3)
    assert rotated_iou_pairs(torch.zeros(0, 5), torch.zeros(0, 5)).shape == (0,)
    assert box_iou(torch.zeros(0, 4), torch.zeros(2, 4)).shape == (0, 2)


def test_rotated_iou_pairs_gradients_match_finite_differences() -> None:
    a = torch.tensor([[5.0, 5.0, 6.0, 3.0, 0.4], [0.0, 0.0, 4.0, 4.0, 0.2]], dtype=F64)
    b = torch.tensor([[6.0, 5.5, 5.0, 2.0, -0.3], [1.0, 0.5, 3.0, 2.0, 1.0]], dtype=F64)
    a.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: rotated_iou_pairs(x, b), (a,))
