"""Chips of one place per input group (BRIGHT-like pre/ optical, post/ SAR, target/ masks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.errors import NotGeoreferencedWarning

from eoforge.data.group_chips import ChipGroup, GroupChipDataset
from eoforge.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore", category=NotGeoreferencedWarning)
GROUPS = {
    "pre": ChipGroup("pre", ("RGB.red", "RGB.green", "RGB.blue")),
    "post": ChipGroup("post", ("XSAR.amplitude",)),
}


def _write(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "count": values.shape[0], "height": values.shape[1]}
    profile.update(width=values.shape[2], dtype=values.dtype.name)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(values)


def _split(root: Path, stems: list[str], size: int = 24) -> Path:
    """Places whose pixels hold their own position, so crops can be told apart."""
    position = np.arange(size * size, dtype=np.float32).reshape(size, size)
    for k, stem in enumerate(stems):
        _write(root / "pre" / f"{stem}.tif", np.stack([position + k, position, position]))
        _write(root / "post" / f"{stem}.tif", (position + k)[None])
        _write(
            root / "target" / f"{stem}.tif",
            (np.arange(size * size) % 6).reshape(1, size, size).astype(np.uint8),
        )
    return root


def test_a_crop_is_one_window_of_every_group_and_the_mask(tmp_path: Path) -> None:
    root = _split(tmp_path, ["a", "b"])
    torch.manual_seed(3)
    data = GroupChipDataset(root, GROUPS, "target", num_classes=4, crop=8, ignore_index=-1)
    assert len(data) == 2 and data.bands == ["RGB.red", "RGB.green", "RGB.blue", "XSAR.amplitude"]
    sample = data[1]
    pre, post = sample["inputs"]["pre"]["image"], sample["inputs"]["post"]["image"]
    assert pre.shape == (3, 8, 8) and post.shape == (1, 8, 8)
    assert torch.equal(pre[0], post[0])  # the same window, place b (offset 1) in both
    position = (pre[1] - 0).long()  # row * 24 + col of each pixel
    expected = position % 6
    expected[expected >= 4] = -1  # mask values past the classes never count
    assert torch.equal(sample["mask"], expected)
    assert bool(sample["present"]["pre"]) and bool(sample["present"]["post"])
    assert sample["valid"].all()


def test_without_a_crop_places_are_whole_and_a_lookup_maps_values(tmp_path: Path) -> None:
    root = _split(tmp_path, ["a"])
    lookup = np.array([0, 0, 1, 1, 2, 2], dtype=np.int64)
    sample = GroupChipDataset(root, GROUPS, "target", num_classes=3, lookup=lookup)[0]
    assert sample["inputs"]["pre"]["image"].shape == (3, 24, 24)
    assert sample["mask"].flatten()[:6].tolist() == [0, 0, 1, 1, 2, 2]


def test_a_place_missing_a_group_file_is_named(tmp_path: Path) -> None:
    root = _split(tmp_path, ["a", "b"])
    (root / "post" / "b.tif").unlink()
    with pytest.raises(ConfigError, match="place 'b' has no image in post/"):
        GroupChipDataset(root, GROUPS, "target", num_classes=4)


def test_band_counts_and_sizes_are_checked(tmp_path: Path) -> None:
    root = _split(tmp_path, ["a"])
    wrong = {**GROUPS, "post": ChipGroup("post", ("S1.VV", "S1.VH"))}
    with pytest.raises(ConfigError, match="group 'post' names 2 band"):
        GroupChipDataset(root, wrong, "target", num_classes=4)
    _write(root / "post" / "a.tif", np.zeros((1, 12, 12), np.float32))
    with pytest.raises(ConfigError, match="differ in size: pre 24x24, post 12x12"):
        GroupChipDataset(root, GROUPS, "target", num_classes=4)[0]
    with pytest.raises(ConfigError, match="smaller than the 32 px training crop"):
        GroupChipDataset(_split(tmp_path / "b", ["a"]), GROUPS, "target", 4, crop=32)[0]
