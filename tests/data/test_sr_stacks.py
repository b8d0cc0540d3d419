"""Multi-frame SR items: revisits read onto one grid with their clear masks (NaN where not clear),
T frames per crop (clearest kept, missing padded), cloudy items skipped, grids checked, the
config's list and glob forms, and D4 moving masks with the values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from affine import Affine
from tests.helpers import write_tif

from eoforge.data.sr_pairs import band_stats
from eoforge.data.sr_stacks import (
    SRStack,
    StackCrops,
    check_frames,
    clear_items,
    pick_frames,
    read_sr_stack,
)
from eoforge.errors import ConfigError
from eoforge.experiment.config import SRPairPaths
from eoforge.tasks.super_resolution import d4_pairs

CRS = "EPSG:32631"
LR = Affine(10, 0, 500000, 0, -10, 4000000)
HR = Affine(2.5, 0, 500000, 0, -2.5, 4000000)
BANDS = ["S2.B04", "S2.B08"]


def _files(tmp: Path, n: int = 3) -> tuple[list[Path], list[Path], Path]:
    rng = np.random.default_rng(0)
    lrs, masks = [], []
    for i in range(n):
        data = rng.uniform(0, 0.5, (2, 8, 8)).astype(np.float32)
        lrs.append(write_tif(tmp / f"lr_{i}.tif", data, LR, CRS, descriptions=BANDS, tiled=False))
        clear = np.ones((8, 8), np.uint8)
        clear[: 2 * i] = 0  # revisit i: its top 2 i rows cloudy
        masks.append(write_tif(tmp / f"lr_{i}_clear.tif", clear, LR, CRS, tiled=False))
    hr = rng.uniform(0, 0.5, (2, 32, 32)).astype(np.float32)
    return lrs, masks, write_tif(tmp / "hr.tif", hr, HR, CRS, descriptions=BANDS, tiled=False)


def test_revisits_carry_their_masks_as_nan(tmp_path: Path) -> None:
    lrs, masks, hr = _files(tmp_path)
    stack = read_sr_stack(lrs, hr, BANDS, masks)
    assert stack.lr.shape == (3, 2, 8, 8) and stack.hr.shape == (2, 32, 32) and stack.scale == 4
    for i in range(3):
        assert (
            np.isnan(stack.lr[i, :, : 2 * i]).all() and np.isfinite(stack.lr[i, :, 2 * i :]).all()
        )
    mean, _ = band_stats([stack])  # NaN left out of the statistics
    assert np.isfinite(mean).all()
    assert mean[0] == pytest.approx(float(np.nanmean(stack.lr[:, 0])), rel=1e-6)


def test_crops_hold_t_frames_clearest_first_and_padding(tmp_path: Path) -> None:
    lrs, masks, hr = _files(tmp_path)
    stack = read_sr_stack(lrs, hr, BANDS, masks)
    two = StackCrops([stack], patch=4, frames=2)[(0, 0, 0)]  # rows 0-3: revisit 2 fully cloudy
    assert two["image"].shape == (2, 2, 4, 4) and two["target"].shape == (2, 16, 16)
    np.testing.assert_array_equal(two["image"][0].numpy(), stack.lr[0, :, :4, :4])
    np.testing.assert_array_equal(two["image"][1].numpy(), stack.lr[1, :, :4, :4])
    five = StackCrops([stack], patch=4, frames=5)[(0, 0, 0)]
    assert five["image"].shape == (5, 2, 4, 4)
    assert np.isnan(five["image"][2:].numpy()).all()  # revisit 2 dropped, 3 frames of padding
    lr = np.full((3, 1, 2, 2), np.nan, np.float32)
    lr[2] = 1.0
    lr[0, :, 0, 0] = 2.0
    np.testing.assert_array_equal(pick_frames(lr, 2)[:, 0, 0, 0], [2.0, 1.0])  # original order


def test_cloudy_items_are_skipped_with_a_count(tmp_path: Path) -> None:
    lrs, masks, hr = _files(tmp_path)
    good = read_sr_stack(lrs, hr, BANDS, masks)
    cloudy = SRStack(np.full_like(good.lr, np.nan), good.hr, 4, 10.0, "cloudy")
    with pytest.warns(UserWarning, match="skipped 1 of 2 super-resolution items"):
        assert clear_items([good, cloudy]) == [good]
    with pytest.warns(UserWarning), pytest.raises(ConfigError, match="every item's revisits"):
        clear_items([cloudy])


def test_revisits_on_another_grid_and_mask_counts_are_refused(tmp_path: Path) -> None:
    lrs, masks, hr = _files(tmp_path)
    data = np.zeros((2, 8, 8), np.float32)
    moved = write_tif(tmp_path / "moved.tif", data, LR @ Affine.translation(1, 0), CRS,
                      descriptions=BANDS, tiled=False)  # fmt: skip
    with pytest.raises(ConfigError, match=r"moved\.tif is not on the grid of lr_0\.tif") as caught:
        read_sr_stack([lrs[0], moved], hr, BANDS)
    assert "gdalwarp" in caught.value.fix and Path(str(caught.value.path)) == moved
    with pytest.raises(ConfigError, match="2 masks for 3 revisits"):
        read_sr_stack(lrs, hr, BANDS, masks[:2])
    small = write_tif(tmp_path / "small.tif", np.ones((6, 6), np.uint8), LR, CRS, tiled=False)
    with pytest.raises(ConfigError, match=r"small\.tif is not on the grid"):
        read_sr_stack(lrs[:1], hr, BANDS, [small])


def test_config_takes_a_list_or_a_glob_of_revisits(tmp_path: Path) -> None:
    lrs, masks, hr = _files(tmp_path)
    item = SRPairPaths.model_validate({"lr": str(tmp_path / "lr_?.tif"), "hr": str(hr)})
    assert item.revisits == lrs and item.lr == lrs[0]  # sorted, masks not matched
    item = SRPairPaths.model_validate(
        {"lr": [str(p) for p in lrs[::-1]], "hr": str(hr), "masks": [str(p) for p in masks]}
    )
    assert item.revisits == lrs[::-1] and item.masks == masks
    one = SRPairPaths.model_validate({"lr": str(lrs[0]), "hr": str(hr)})
    assert one.revisits is None and one.lr == lrs[0]
    with pytest.raises(ValueError, match="matches no file"):
        SRPairPaths.model_validate({"lr": str(tmp_path / "none_*.tif"), "hr": str(hr)})
    check_frames("sr_multiframe", 8, True, ("sr_multiframe",))
    with pytest.raises(ConfigError, match=r"data\.frames is set but model\.arch sr_edsr"):
        check_frames("sr_edsr", 8, True, ("sr_multiframe",))


def test_d4_moves_every_frame_its_mask_and_the_target_alike() -> None:
    image = torch.arange(2 * 3 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 3, 1, 4, 4)
    image[:, 1, :, 0, 3] = float("nan")  # a cloud in frame 1's top-right pixel
    target = image[:, 0].repeat_interleave(2, -1).repeat_interleave(2, -2)
    out = d4_pairs({"image": image, "target": target}, torch.tensor([1, 4]))
    # element 1: a quarter turn counter-clockwise (top-right to top-left)
    assert torch.isnan(out["image"][0, 1, 0, 0, 0]) and torch.isfinite(out["image"][0, 0]).all()
    # element 4: a left-right flip (top-right to top-left as well)
    assert torch.isnan(out["image"][1, 1, 0, 0, 0])
    for b in range(2):  # the target stays above the pixels it was above
        up = out["image"][b, 0].repeat_interleave(2, -1).repeat_interleave(2, -2)
        torch.testing.assert_close(out["target"][b], up)


def test_nodata_in_any_revisit_is_not_clear(tmp_path: Path) -> None:
    lrs, _, hr = _files(tmp_path)
    data = np.full((2, 8, 8), 0.2, np.float32)
    data[:, 5:] = np.nan  # the first revisit's bottom rows are nodata
    first = write_tif(tmp_path / "nan_0.tif", data, LR, CRS, nodata=float("nan"),
                      descriptions=BANDS, tiled=False)  # fmt: skip
    stack = read_sr_stack([first, *lrs[1:]], hr, BANDS)
    assert np.isnan(stack.lr[0, :, 5:]).all() and (stack.lr[0, :, :5] == np.float32(0.2)).all()
    assert np.isfinite(stack.lr[1:]).all()
