"""Chip shaping: resize, crops, padding, mixed-size batches cut back, patch plans."""

from __future__ import annotations

import torch

from eoforge.data.shaping import (
    CenterCrop,
    Pad,
    PadCollate,
    RandomCrop,
    Rescale,
    Resize,
    crop_back,
    patch_starts,
)

IGNORE = 255


def _sample(height: int, width: int, classes: int = 3) -> dict[str, torch.Tensor]:
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    image = torch.stack([rows.float(), cols.float(), torch.full((height, width), 7.0)])
    return {
        "image": image,
        "valid": torch.ones((height, width), dtype=torch.bool),
        "mask": (rows * width + cols) % classes,
    }


def test_resize_is_bilinear_for_images_and_nearest_for_masks() -> None:
    sample = _sample(255, 247)
    out = Resize((256, 256))(sample)
    assert out["image"].shape == (3, 256, 256) and out["image"].dtype == torch.float32
    assert out["mask"].shape == (256, 256) and out["mask"].dtype == torch.int64
    assert set(out["mask"].unique().tolist()) == {0, 1, 2}  # no blended class ids
    assert out["valid"].dtype == torch.bool and bool(out["valid"].all())
    # a constant band stays constant, a ramp stays a monotone ramp (bilinear, not nearest)
    assert torch.allclose(out["image"][2], torch.tensor(7.0))
    column = out["image"][0, :, 0]
    assert bool((column[1:] >= column[:-1]).all()) and len(column.unique()) > 200
    assert Resize((255, 247))(sample) is sample


def test_rescale_halves_each_side_and_keeps_class_ids() -> None:
    out = Rescale(0.5)(_sample(101, 64))
    assert out["image"].shape == (3, 50, 32) and out["mask"].shape == (50, 32)
    assert set(out["mask"].unique().tolist()) <= {0, 1, 2}


def test_crops_pad_small_images_with_invalid_pixels_and_the_ignore_index() -> None:
    torch.manual_seed(0)
    small = _sample(247, 250)
    out = RandomCrop((256, 256), IGNORE)(small)
    assert out["image"].shape == (3, 256, 256) and out["mask"].shape == (256, 256)
    assert int((~out["valid"]).sum()) == 256 * 256 - 247 * 250
    assert bool((out["mask"][~out["valid"]] == IGNORE).all())
    assert bool((out["image"][:, ~out["valid"]] == 0).all())
    big = _sample(300, 280)
    centre = CenterCrop((256, 256), IGNORE)(big)
    assert centre["image"][0, 0, 0] == 22 and centre["image"][1, 0, 0] == 12  # (300-256)/2, ...
    crops = {int(RandomCrop((256, 256), IGNORE)(big)["image"][0, 0, 0]) for _ in range(20)}
    assert len(crops) > 1 and all(0 <= c <= 44 for c in crops)


def test_pad_to_a_multiple_records_the_size_before_padding() -> None:
    out = Pad(None, 32, IGNORE)(_sample(100, 70))
    assert out["image"].shape == (3, 128, 96)
    assert out["size"].tolist() == [100, 70]
    assert bool((out["mask"][100:] == IGNORE).all()) and not bool(out["valid"][:, 70:].any())
    assert Pad((64, 64), 1, IGNORE)(_sample(80, 80))["image"].shape == (3, 80, 80)


def test_mixed_sizes_batch_padded_and_outputs_crop_back_to_each_image() -> None:
    samples = [_sample(100, 70), _sample(64, 130)]
    batch = PadCollate(32, IGNORE)(samples)
    assert batch["image"].shape == (2, 3, 128, 160)
    assert batch["mask"].shape == (2, 128, 160) and batch["valid"].shape == (2, 128, 160)
    assert batch["size"].tolist() == [[100, 70], [64, 130]]
    assert int(batch["valid"][0].sum()) == 100 * 70 and int(batch["valid"][1].sum()) == 64 * 130
    # a per-pixel "model output" of the padded batch, cut back per image
    output = batch["image"][:, :2]
    cut = crop_back(output, batch["size"])
    assert [tuple(c.shape) for c in cut] == [(2, 100, 70), (2, 64, 130)]
    for piece, sample in zip(cut, samples, strict=True):
        assert torch.equal(piece, sample["image"][:2])


def test_patches_cover_every_side_to_its_end() -> None:
    assert patch_starts(1000, 256, 256) == [0, 256, 512, 744]
    assert patch_starts(512, 256, 256) == [0, 256]
    assert patch_starts(600, 256, 200) == [0, 200, 344]
    assert patch_starts(100, 256, 256) == [0]
    for length, patch, stride in [(1000, 256, 256), (777, 128, 100), (129, 128, 64)]:
        covered = torch.zeros(length, dtype=torch.bool)
        for start in patch_starts(length, patch, stride):
            assert start + patch <= length
            covered[start : start + patch] = True
        assert bool(covered.all())
