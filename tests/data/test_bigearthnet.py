from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import rasterio
import torch

from eoforge.data import collate, grid_of
from eoforge.data.bigearthnet import CLASSES_19, CLASSES_43, S2_BANDS, BigEarthNetDataset
from eoforge.errors import ConfigError


@pytest.fixture(scope="module")
def ben(real_data: Path) -> Path:
    return real_data / "bigearthnet"


def test_s2_patches_read_onto_the_10m_grid_with_19_class_labels(ben: Path) -> None:
    dataset = BigEarthNetDataset(ben / "BigEarthNet-S2-Example")
    assert len(dataset) == 6 and dataset.bands == list(S2_BANDS)
    names = [p.name for p in dataset.patches]
    sample = dataset[names.index("S2B_MSIL2A_20170924T93020_69_24")]
    assert sample["image"].shape == (12, 120, 120) and sample["image"].dtype == torch.float32
    assert sample["valid"].shape == (120, 120)
    assert 0.0 < float(sample["image"][1].mean()) < 0.5  # reflectance, not DN
    labels = {CLASSES_19[i] for i in sample["label"].nonzero().flatten().tolist()}
    assert labels == {
        "Coniferous forest",
        "Mixed forest",
        "Transitional woodland, shrub",
        "Inland wetlands",
        "Inland waters",
    }
    assert sample["transform"][0] == 10.0
    batch = collate([dataset[0], dataset[1]])
    assert grid_of(batch, 1).shape == (120, 120)


def test_43_class_labels(ben: Path) -> None:
    dataset = BigEarthNetDataset(ben / "BigEarthNet-S2-Example", num_classes=43)
    names = [p.name for p in dataset.patches]
    sample = dataset[names.index("S2A_MSIL2A_20170617T113321_36_85")]
    assert sample["label"].shape == (43,)
    labels = {CLASSES_43[i] for i in sample["label"].nonzero().flatten().tolist()}
    assert labels == {"Non-irrigated arable land", "Pastures"}


def test_s1_stacked_as_extra_channels(ben: Path) -> None:
    dataset = BigEarthNetDataset(
        ben / "BigEarthNet-S2-Example", ben / "BigEarthNet-S1-Example", bands=["red", "nir"]
    )
    assert dataset.bands == ["red", "nir", "S1.VV", "S1.VH"]
    for s2, s1 in zip(dataset.patches, dataset.s1_patches or [], strict=True):
        meta = json.loads((s1 / f"{s1.name}_labels_metadata.json").read_text())
        assert meta["corresponding_s2_patch"] == s2.name
    sample = dataset[0]
    assert sample["image"].shape == (4, 120, 120)
    assert float(sample["image"][2].mean()) < 0  # VV backscatter in dB


def test_s1_matched_by_tile_and_position_without_link(ben: Path, tmp_path: Path) -> None:
    source = ben / "BigEarthNet-S1-Example" / "S1A_IW_GRDH_1SDV_20180204T043253_35VPK_57_38"
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    meta_path = copy / f"{source.name}_labels_metadata.json"
    meta = json.loads(meta_path.read_text())
    del meta["corresponding_s2_patch"]
    meta_path.write_text(json.dumps(meta))
    s2_root = tmp_path / "s2"
    s2_root.mkdir()
    patch = ben / "BigEarthNet-S2-Example" / "S2B_MSIL2A_20180204T94161_57_38"
    (s2_root / patch.name).symlink_to(patch)
    dataset = BigEarthNetDataset(s2_root, tmp_path, bands=["S2.B04"])
    assert dataset.s1_patches == [copy]
    assert dataset[0]["image"].shape == (3, 120, 120)


def test_missing_s1_partner_is_a_clear_error(ben: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no BigEarthNet patch folders"):
        BigEarthNetDataset(ben / "BigEarthNet-S2-Example", tmp_path)
    other = ben / "BigEarthNet-S1-Example" / "S1A_IW_GRDH_1SDV_20170617T064724_29UPU_4_55"
    (tmp_path / other.name).symlink_to(other)
    with pytest.raises(ConfigError, match="no Sentinel-1 patch matches"):
        BigEarthNetDataset(ben / "BigEarthNet-S2-Example", tmp_path)


def test_s2_and_s1_load_as_groups_on_their_native_grids(ben: Path) -> None:
    ten, twenty = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"], ["S2.B05", "S2.B11", "S2.B12"]
    dataset = BigEarthNetDataset(
        ben / "BigEarthNet-S2-Example",
        ben / "BigEarthNet-S1-Example",
        inputs={"s2": (ten, 10.0), "s2_20m": (twenty, 20.0), "s1": (["S1.VV", "S1.VH"], 10.0)},
    )
    assert dataset.bands == [*ten, *twenty, "S1.VV", "S1.VH"]
    for index in range(len(dataset)):
        sample = dataset[index]
        groups = sample["inputs"]
        assert groups["s2"]["image"].shape == (4, 120, 120)
        assert groups["s2_20m"]["image"].shape == (3, 60, 60)  # native 20 m
        assert groups["s1"]["image"].shape == (2, 120, 120)
        assert all(bool(p) for p in sample["present"].values()) and "image" not in sample
        assert sample["valid"].shape == (120, 120) and sample["label"].shape == (19,)
        assert 0.0 < float(groups["s2"]["image"][1].mean()) < 0.5  # reflectance
        assert float(groups["s1"]["image"][0].mean()) < 0  # VV in dB
        # the 20 m group holds the files' own pixels (L2A DN / 10000), not resampled ones
        folder = dataset.patches[index]
        with rasterio.open(folder / f"{folder.name}_B11.tif") as src:
            native = torch.from_numpy(src.read(1).astype("float32") / 10000)
        assert torch.allclose(groups["s2_20m"]["image"][1], native, atol=1e-6)
    batch = collate([dataset[0], dataset[1]])
    assert batch["inputs"]["s2_20m"]["image"].shape == (2, 3, 60, 60)
    assert batch["present"]["s1"].tolist() == [True, True]


def test_s1_groups_need_the_s1_folder(ben: Path) -> None:
    with pytest.raises(ConfigError, match=r"Sentinel-1 bands \['S1.VV'\]"):
        BigEarthNetDataset(ben / "BigEarthNet-S2-Example", inputs={"s1": (["S1.VV"], 10.0)})
