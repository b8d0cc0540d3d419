from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from eoforge.data import collate
from eoforge.data.chips import ChangeTripletDataset, ClassFolderDataset, ImageMaskDataset
from eoforge.errors import ConfigError

DUBAI_COLOURS = {
    "#3C1098": 0,  # building
    "#8429F6": 1,  # land (unpaved)
    "#6EC1E4": 2,  # road
    "#FEDD3A": 3,  # vegetation
    "#E2A929": 4,  # water
    "#9B9B9B": 5,  # unlabeled
    "#000000": 5,  # a few black pixels: unlabeled too
}


def _write(path: Path, array: np.ndarray, driver: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    count, height, width = array.shape
    with rasterio.open(
        path, "w", driver=driver, width=width, height=height, count=count, dtype=array.dtype
    ) as ds:
        ds.write(array)


def test_class_folder_dataset(tmp_path: Path) -> None:
    for name, value in [("Forest", 10), ("AnnualCrop", 200)]:
        for i in range(2):
            _write(tmp_path / name / f"{name}_{i}.png", np.full((3, 8, 8), value, np.uint8), "PNG")
    _write(tmp_path / "Forest" / "ms.tif", np.full((3, 8, 8), 7, np.uint16), "GTiff")
    (tmp_path / "Forest" / "notes.txt").write_text("not an image")
    dataset = ClassFolderDataset(tmp_path)
    assert dataset.classes == ["AnnualCrop", "Forest"]
    assert len(dataset) == 5
    assert dataset.bands == ["RGB.red", "RGB.green", "RGB.blue"]
    sample = dataset[0]
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (3, 8, 8)
    assert sample["label"].item() == 0 and sample["image"].max() == 200
    assert dataset[4]["label"].item() == 1
    batch = collate([dataset[i] for i in range(len(dataset))])
    assert batch["image"].shape == (5, 3, 8, 8) and batch["label"].tolist() == [0, 0, 1, 1, 1]
    assert "crs" not in batch


def test_class_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no class folders"):
        ClassFolderDataset(tmp_path)
    _write(tmp_path / "a" / "x.tif", np.zeros((4, 4, 4), np.uint16), "GTiff")
    with pytest.raises(ConfigError, match="3 band names given but the files have 4"):
        ClassFolderDataset(tmp_path, bands=["S2.B02", "S2.B03", "S2.B04"])


def test_image_mask_dataset_maps_dubai_colours(real_data: Path) -> None:
    tile = real_data / "dubai_aerial" / "tile_1"
    dataset = ImageMaskDataset(tile / "images", tile / "masks", DUBAI_COLOURS)
    assert len(dataset) == 9
    sample = dataset[0]
    image, mask = sample["image"], sample["mask"]
    assert image.shape == (3, 644, 797) and image.dtype == torch.float32
    assert mask.shape == (644, 797) and mask.dtype == torch.int64
    assert set(mask.unique().tolist()) <= set(range(6))
    assert len(mask.unique()) >= 3
    assert sample["valid"].all()
    with pytest.raises(ConfigError, match="not in the colour map"):
        ImageMaskDataset(tile / "images", tile / "masks", {"#3C1098": 0})[0]


def test_image_mask_dataset_with_class_id_masks(tmp_path: Path) -> None:
    _write(tmp_path / "img" / "a.tif", np.ones((4, 6, 6), np.uint16), "GTiff")
    _write(tmp_path / "lbl" / "a.png", np.arange(36, dtype=np.uint8).reshape(1, 6, 6) % 3, "PNG")
    sample = ImageMaskDataset(tmp_path / "img", tmp_path / "lbl")[0]
    assert sample["image"].shape == (4, 6, 6)
    assert sample["mask"].tolist()[0] == [0, 1, 2, 0, 1, 2]
    _write(tmp_path / "img" / "b.tif", np.ones((4, 6, 6), np.uint16), "GTiff")
    with pytest.raises(ConfigError, match="no mask of the same name"):
        ImageMaskDataset(tmp_path / "img", tmp_path / "lbl")


def test_change_triplets_on_levir_cd(real_data: Path) -> None:
    dataset = ChangeTripletDataset(real_data / "levir_cd")
    assert len(dataset) == 6
    changed = []
    for i in range(len(dataset)):
        sample = dataset[i]
        assert sample["image"].shape == (2, 3, 256, 256)
        assert sample["mask"].shape == (256, 256) and sample["mask"].dtype == torch.int64
        assert set(sample["mask"].unique().tolist()) <= {0, 1}
        changed.append(int(sample["mask"].sum()))
    assert sum(c == 0 for c in changed) == 1  # one pair has no change
    batch = collate([dataset[0], dataset[1]])
    assert batch["image"].shape == (2, 2, 3, 256, 256) and batch["mask"].shape == (2, 256, 256)
