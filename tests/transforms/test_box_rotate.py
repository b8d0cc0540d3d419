"""Turns by any angle of oriented-detection samples: boxes follow the pixels they cover."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tests.transforms.box_masks import oriented_mask

from eoforge.errors import ConfigError
from eoforge.experiment.config import TaskConfig
from eoforge.transforms.box_d4 import d4_sample
from eoforge.transforms.box_rotate import BoxRotate, turn_boxes, turn_image, visible_fraction


@pytest.mark.parametrize("angle", [0.3, 1.1, -2.0, 2.9])
def test_a_turned_box_covers_the_turned_pixels(angle: float) -> None:
    height, width = 64, 80
    box = [38.0, 30.0, 30.0, 8.0, 0.2]  # a 30 x 8 px ship near the centre
    image = torch.from_numpy(oriented_mask(height, width, box).astype(np.float32))[None]
    turned, valid = turn_image(image, None, angle)
    moved = turn_boxes(torch.tensor([box], dtype=torch.float64), angle, height, width)[0]
    assert -math.pi / 2 <= float(moved[4]) < math.pi / 2 and moved[2] >= moved[3]
    expected = oriented_mask(height, width, moved.tolist())
    bright = turned[0].numpy() > 0.5
    iou = (bright & expected).sum() / (bright | expected).sum()
    assert iou > 0.85  # bilinear resampling blurs one pixel's width along the edges
    assert valid[height // 2, width // 2] and not valid[0, 0]  # the corners come from outside


def test_a_quarter_turn_equals_the_d4_turn() -> None:
    torch.manual_seed(0)
    image = torch.rand(2, 32, 32)
    box = torch.tensor([[12.0, 9.0, 10.0, 4.0, 0.4]])
    turned, valid = turn_image(image, None, math.pi / 2)
    d4_image, _, d4_boxes = d4_sample(image, None, box, 1, False)
    assert torch.allclose(turned, d4_image, atol=1e-5)
    assert bool(valid.all())
    assert torch.allclose(turn_boxes(box, math.pi / 2, 32, 32), d4_boxes, atol=1e-5)


def test_boxes_turned_out_of_the_chip_are_dropped_with_their_labels() -> None:
    height = width = 64
    centre = [32.0, 32.0, 12.0, 4.0, 0.0]
    corner = [58.0, 58.0, 6.0, 4.0, 0.0]  # in the lower right corner
    boxes = turn_boxes(torch.tensor([centre, corner]), math.pi / 4, height, width)
    fraction = visible_fraction(boxes, math.pi / 4, height, width)
    assert float(fraction[0]) == 1.0 and float(fraction[1]) == 0.0  # turned out of the chip
    batch = {
        "image": torch.ones(1, 1, height, width),
        "valid": torch.ones(1, height, width, dtype=torch.bool),
        "boxes": [torch.tensor([centre, corner])],
        "labels": [torch.tensor([0, 1])],
        "difficult": [torch.tensor([False, True])],
    }
    rotate = BoxRotate(p=1.0)
    rotate.generator = torch.Generator().manual_seed(3)
    angle = float((torch.rand(2, generator=torch.Generator().manual_seed(3))[1] * 2 - 1) * math.pi)
    out = rotate(batch)
    fraction = visible_fraction(turn_boxes(batch["boxes"][0], angle, 64, 64), angle, 64, 64)
    kept = (fraction >= 0.5).tolist()
    assert kept == [True, False]  # seed 3 turns by -142 degrees: the corner box leaves
    assert out["labels"][0].tolist() == [i for i, k in enumerate(kept) if k]
    assert out["difficult"][0].tolist() == [bool(i) for i, k in enumerate(kept) if k]
    assert len(out["boxes"][0]) == sum(kept)
    assert not bool(out["valid"][0, 0, 0]) and bool(out["valid"][0, 32, 32])
    assert batch["labels"][0].tolist() == [0, 1]  # the input batch is left as it was


def test_probability_zero_leaves_the_batch_and_horizontal_boxes_are_refused() -> None:
    batch = {
        "image": torch.rand(2, 1, 16, 16),
        "boxes": [torch.tensor([[1.0, 1.0, 5.0, 5.0]])] * 2,
        "labels": [torch.tensor([0])] * 2,
    }
    out = BoxRotate(p=0.0)(batch)
    assert out["image"] is batch["image"] and "valid" not in out
    with pytest.raises(ValueError, match="oriented boxes"):
        BoxRotate(p=1.0)(batch)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BoxRotate(p=1.5)


def test_the_config_refuses_rotate_for_horizontal_boxes() -> None:
    assert TaskConfig(kind="oriented_detection", rotate=0.5).rotate == 0.5
    with pytest.raises(ValueError, match="oriented_detection"):
        TaskConfig(kind="detection", rotate=0.5)


def test_the_task_refuses_rotate_for_horizontal_boxes() -> None:
    from eoforge.tasks.detection import DetectionTask  # the task module pulls in Lightning

    with pytest.raises(ConfigError, match="oriented"):
        DetectionTask(torch.nn.Identity(), rotate=0.5)
