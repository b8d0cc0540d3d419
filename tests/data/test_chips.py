from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from eoforge.data import collate
from eoforge.data.bad_files import BadFiles
from eoforge.data.chips import (
    ChangeTripletDataset,
    ClassFolderDataset,
    ImageMaskDataset,
    read_mask_rgb,
)
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError

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
    with pytest.raises(ConfigError, match=r"b\.tif: image without a mask"):
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


def test_dubai_mask_colours_land_on_the_right_ids(real_data: Path) -> None:
    tile = real_data / "dubai_aerial" / "tile_1"
    dataset = ImageMaskDataset(tile / "images", tile / "masks", DUBAI_COLOURS)
    mask_file = dataset.files[0][1]
    with rasterio.open(mask_file) as ds:
        rgb = ds.read().astype(np.int64)
    codes = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]
    ids = dataset[0]["mask"].numpy()
    for colour, class_id in DUBAI_COLOURS.items():
        where = codes == int(colour.lstrip("#"), 16)
        assert bool((ids[where] == class_id).all())
    assert int((codes == 0x3C1098).sum()) > 0  # the tile has buildings, mapped to 0


def test_patches_cover_a_large_image_and_pad_a_small_one(tmp_path: Path) -> None:
    rows, cols = np.indices((70, 50))
    _write(tmp_path / "img" / "big.tif", np.stack([rows, cols]).astype(np.uint16), "GTiff")
    _write(tmp_path / "lbl" / "big.png", (cols % 4)[None].astype(np.uint8), "PNG")
    _write(tmp_path / "img" / "small.tif", np.ones((2, 20, 30), np.uint16), "GTiff")
    _write(tmp_path / "lbl" / "small.png", np.ones((1, 20, 30), np.uint8), "PNG")
    dataset = ImageMaskDataset(tmp_path / "img", tmp_path / "lbl", patch_size=32, stride=24)
    assert len(dataset) == 3 * 2 + 1  # rows 0, 24, 38 by columns 0, 18; one small patch
    seen = np.zeros((70, 50), bool)
    for index in range(6):
        _, window = dataset.items[index]
        assert window is not None
        sample = dataset[index]
        assert sample["image"].shape == (2, 32, 32) and sample["mask"].shape == (32, 32)
        top, left = int(sample["image"][0, 0, 0]), int(sample["image"][1, 0, 0])
        assert (top, left) == (window.row_off, window.col_off)
        assert bool((sample["mask"] == torch.from_numpy(cols[:32, left : left + 32] % 4)).all())
        seen[top : top + 32, left : left + 32] = True
    assert seen.all()
    small = dataset[6]
    assert small["image"].shape == (2, 32, 32) and int(small["valid"].sum()) == 20 * 30
    assert bool((small["mask"][~small["valid"]] == 255).all())


def test_split_files_choose_images_and_name_missing_entries(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _write(tmp_path / "img" / f"{name}.tif", np.ones((1, 4, 4), np.uint8), "GTiff")
        _write(tmp_path / "lbl" / f"{name}.png", np.zeros((1, 4, 4), np.uint8), "PNG")
    split = tmp_path / "val.txt"
    split.write_text("# validation\nc.tif\nimg/a\n")
    dataset = ImageMaskDataset(tmp_path / "img", tmp_path / "lbl", split=["c.tif", "img/a"])
    assert [p.name for p, _ in dataset.files] == ["c.tif", "a.tif"]
    with pytest.raises(MissingFileError, match=r"val\.txt: the split file names 'd\.tif'"):
        ImageMaskDataset(tmp_path / "img", tmp_path / "lbl", split=["d.tif"], split_file=split)


def test_bad_files_raise_naming_the_file_or_are_skipped_and_logged(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _write(tmp_path / "img" / f"{name}.tif", np.full((1, 4, 4), 9, np.uint8), "GTiff")
        _write(tmp_path / "lbl" / f"{name}.png", np.zeros((1, 4, 4), np.uint8), "PNG")
    (tmp_path / "img" / "b.tif").write_bytes(b"not a tiff at all")
    _write(tmp_path / "lbl" / "orphan.png", np.zeros((1, 4, 4), np.uint8), "PNG")
    with pytest.raises(ConfigError, match=r"orphan\.png: mask without an image"):
        ImageMaskDataset(tmp_path / "img", tmp_path / "lbl")
    (tmp_path / "lbl" / "orphan.png").unlink()
    dataset = ImageMaskDataset(tmp_path / "img", tmp_path / "lbl")
    with pytest.raises(UnreadableFileError, match=r"b\.tif: cannot read the image"):
        dataset[1]
    _write(tmp_path / "lbl" / "orphan.png", np.zeros((1, 4, 4), np.uint8), "PNG")
    log = tmp_path / "run" / "skipped.tsv"
    skipping = ImageMaskDataset(tmp_path / "img", tmp_path / "lbl", bad_files=BadFiles("skip", log))
    assert len(skipping) == 3
    assert skipping[1]["image"].max() == 9  # b.tif is skipped: item 1 is c.tif's
    skipped = skipping.bad_files.skipped()
    assert set(skipped) == {str(tmp_path / "lbl" / "orphan.png"), str(tmp_path / "img" / "b.tif")}
    assert "cannot read the image" in skipped[str(tmp_path / "img" / "b.tif")]


def test_an_unknown_mask_colour_names_file_colour_and_fix(tmp_path: Path) -> None:
    _write(tmp_path / "img" / "a.tif", np.ones((3, 4, 4), np.uint8), "GTiff")
    rgb = np.zeros((3, 4, 4), np.uint8)
    rgb[:, :2] = np.array([0x3C, 0x10, 0x98], np.uint8)[:, None, None]
    rgb[:, 2:] = np.array([0x12, 0x34, 0x56], np.uint8)[:, None, None]
    _write(tmp_path / "lbl" / "a.png", rgb, "PNG")
    dataset = ImageMaskDataset(tmp_path / "img", tmp_path / "lbl", {"#3C1098": 0})
    with pytest.raises(ConfigError) as caught:
        dataset[0]
    text = str(caught.value)
    assert "a.png: mask colours #123456 (8 px) are not in the colour map" in text
    assert "data.ignore_colors" in text and "data.unknown_colors: ignore" in text
    ids = ImageMaskDataset(tmp_path / "img", tmp_path / "lbl", {"#3C1098": 0}, unknown=255)[0]
    assert ids["mask"][:2].unique().tolist() == [0] and ids["mask"][2:].unique().tolist() == [255]


def test_palette_masks_are_read_through_their_colour_table(real_data: Path, tmp_path: Path) -> None:
    tile = real_data / "dubai_aerial" / "tile_2"  # its masks are palette PNGs
    mask_file = tile / "masks" / "image_part_002.png"
    with rasterio.open(mask_file) as ds:
        assert ds.count == 1
        indices, palette = ds.read(1), ds.colormap(1)
    rgb = read_mask_rgb(mask_file)
    for index in np.unique(indices).tolist():
        assert rgb[:, indices == index].T.tolist()[0] == list(palette[index][:3])
    ids = ImageMaskDataset(tile / "images", tile / "masks", DUBAI_COLOURS)[1]["mask"]
    assert set(ids.unique().tolist()) <= set(range(6)) and len(ids.unique()) >= 2
    path = tmp_path / "palette.png"
    with rasterio.open(path, "w", driver="PNG", width=4, height=2, count=1, dtype="uint8") as dst:
        dst.write(np.array([[[0, 1, 1, 0], [1, 1, 0, 0]]], np.uint8))
        dst.write_colormap(1, {0: (60, 16, 152, 255), 1: (254, 221, 58, 255)})
    codes = read_mask_rgb(path)
    assert codes[:, 0, 1].tolist() == [254, 221, 58] and codes[:, 0, 0].tolist() == [60, 16, 152]
