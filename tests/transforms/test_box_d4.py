"""D4 on detection samples: boxes follow the pixels they cover, for every element."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tests.transforms.box_masks import oriented_mask

from eoforge.transforms.box_d4 import BoxD4, d4_sample


def _image_with_box(height: int, width: int, box: tuple[int, int, int, int]) -> torch.Tensor:
    image = torch.zeros(1, height, width)
    x0, y0, x1, y1 = box
    image[0, y0:y1, x0:x1] = 1.0
    return image


def _box_of(image: torch.Tensor) -> list[float]:
    ys, xs = torch.nonzero(image[0] > 0, as_tuple=True)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
@pytest.mark.parametrize("flip", [False, True])
def test_horizontal_boxes_follow_the_pixels(turns: int, flip: bool) -> None:
    box = (3, 2, 9, 5)
    image = _image_with_box(12, 16, box)
    valid = torch.ones(12, 16, dtype=torch.bool)
    valid[0, 0] = False
    out, out_valid, boxes = d4_sample(
        image, valid, torch.tensor([box], dtype=torch.float32), turns, flip
    )
    assert boxes[0].tolist() == _box_of(out)
    assert out_valid is not None and int((~out_valid).sum()) == 1
    expected_valid = torch.rot90(valid, turns, dims=(-2, -1))
    if flip:
        expected_valid = torch.flip(expected_valid, dims=(-1,))
    assert torch.equal(out_valid, expected_valid)


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
@pytest.mark.parametrize("flip", [False, True])
def test_oriented_boxes_cover_the_same_pixels_after_the_transform(turns: int, flip: bool) -> None:
    box = [10.0, 7.0, 12.0, 4.0, 0.5]  # 12 x 4 px, turned ~29 degrees
    height, width = 18, 24
    inside = oriented_mask(height, width, box)
    assert inside.sum() > 30
    image = torch.from_numpy(inside.astype(np.float32))[None]
    out, _, boxes = d4_sample(image, None, torch.tensor([box]), turns, flip)
    new_h, new_w = out.shape[-2:]
    moved = boxes[0].tolist()
    assert -math.pi / 2 <= moved[4] < math.pi / 2 and moved[2] >= moved[3]
    assert np.array_equal(oriented_mask(new_h, new_w, moved), out[0].numpy() > 0)


def test_batches_draw_per_sample_and_keep_non_square_shapes() -> None:
    torch.manual_seed(0)
    image = torch.zeros(16, 1, 10, 14)
    image[:, 0, 1:3, 2:9] = 1
    batch = {
        "image": image,
        "valid": torch.ones(16, 10, 14, dtype=torch.bool),
        "boxes": [torch.tensor([[2.0, 1.0, 9.0, 3.0]]) for _ in range(16)],
        "labels": [torch.tensor([0]) for _ in range(16)],
    }
    out = BoxD4()(batch)
    assert out["image"].shape == (16, 1, 10, 14) and out["labels"] is batch["labels"]
    seen = set()
    for i in range(16):
        assert out["boxes"][i][0].tolist() == _box_of(out["image"][i])
        seen.add(tuple(out["boxes"][i][0].tolist()))
    assert len(seen) == 4  # the four shape-keeping elements all drawn
