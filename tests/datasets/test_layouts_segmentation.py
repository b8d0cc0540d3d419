"""Segmentation layouts: SpaceNet 2 footprints rasterised into building masks."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pydantic import TypeAdapter
from tests.datasets.fixtures import spacenet
from tests.datasets.fixtures.common import Fixture, write_tar
from tests.datasets.prepared import download_and_prepare

from eoforge.data import ImageMaskDataset
from eoforge.datasets import get
from eoforge.datasets.layouts.segmentation import building_mask, spacenet_split
from eoforge.errors import ConfigError
from eoforge.experiment.config import DataConfig


def test_spacenet2_prepares_linked_tiles_and_building_masks(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("spacenet2"), spacenet.write, tmp_path)
    assert [s.name for s in done.splits] == ["train", "val"]
    assert {s.name: s.count for s in done.splits} == fixture.counts == {"train": 5, "val": 4}
    assert {s.name: s.class_counts for s in done.splits} == fixture.class_counts
    assert done.unit == "pixels" and done.unassigned == 0
    train = done.splits[0].path
    assert sorted(p.name for p in (train / "images").iterdir()) == [
        "AOI_2_Vegas_img1.tif",
        "AOI_2_Vegas_img2.tif",
        "AOI_3_Paris_img4.tif",
        "AOI_4_Shanghai_img1.tif",
        "AOI_5_Khartoum_img5.tif",
    ]
    assert sorted(p.name for p in (train / "masks").iterdir()) == sorted(
        p.name for p in (train / "images").iterdir()
    )
    source = next(
        done.folder.glob("extracted/*/AOI_2_Vegas_Train/RGB-PanSharpen/*_AOI_2_Vegas_img1.tif")
    )
    assert os.path.samefile(train / "images" / "AOI_2_Vegas_img1.tif", source)
    expected = np.zeros((8, 8), np.uint8)
    expected[1:4, 2:5] = 1
    expected[5:7, 5:8] = 1
    with (
        rasterio.open(train / "masks" / "AOI_2_Vegas_img1.tif") as mask,
        rasterio.open(source) as image,
    ):
        assert mask.count == 1 and mask.dtypes[0] == "uint8"
        assert mask.crs == image.crs and mask.transform == image.transform
        assert mask.profile["compress"] == "deflate"
        assert np.array_equal(mask.read(1), expected)
    with rasterio.open(train / "masks" / "AOI_2_Vegas_img2.tif") as empty:
        assert not empty.read(1).any()  # a FeatureCollection without features
    manifest = json.loads(done.manifest.read_text())
    assert manifest["splits"]["val"]["count"] == 4


def test_spacenet2_splits_read_back_as_image_mask_data(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("spacenet2"), spacenet.write, tmp_path)
    for split in done.splits:
        ds = ImageMaskDataset(
            split.path / "images", split.path / "masks", bands=list(done.entry.bands)
        )
        assert len(ds) == fixture.counts[split.name]
        sample = ds[0]
        assert tuple(sample["image"].shape) == (3, 8, 8)
        assert set(np.unique(sample["mask"].numpy())) <= {0, 1}
    manifest = json.loads(done.manifest.read_text())
    data = TypeAdapter(DataConfig).validate_python(manifest["data"])
    assert data.kind == "image_mask"
    assert manifest["data"]["bands"] == ["WV3.red", "WV3.green", "WV3.blue"]
    assert manifest["data"]["val_masks"] == str(done.splits[1].path.resolve() / "masks")


def test_the_spacenet2_split_holds_out_about_a_fifth_of_each_area() -> None:
    for area in spacenet.AREAS:
        tiles = [f"{area}_img{n}" for n in range(1, 2001)]
        share = sum(spacenet_split(t) == "val" for t in tiles) / len(tiles)
        assert 0.17 < share < 0.23
        assert all(spacenet_split(t) == spacenet.split_of(t) for t in tiles[:200])


def _broken(drop: str) -> Callable[[Path], Fixture]:
    """The fixture with the member whose name ends with ``drop`` left out of its tarball."""

    def write(folder: Path) -> Fixture:
        fixture = spacenet.write(folder)
        archive = fixture.files["SN2_buildings_train_AOI_3_Paris.tar.gz"]
        members = spacenet.area_members("AOI_3_Paris", 1)
        write_tar(archive, {k: v for k, v in members.items() if not k.endswith(drop)})
        with tarfile.open(archive) as tf:
            assert not any(m.name.endswith(drop) for m in tf)
        return fixture

    return write


def test_a_spacenet2_tile_without_footprints_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"RGB-PanSharpen_AOI_3_Paris_img4\.tif has no") as info:
        download_and_prepare(
            get("spacenet2"), _broken("buildings_AOI_3_Paris_img4.geojson"), tmp_path
        )
    assert "geojson/buildings/buildings_AOI_3_Paris_img4.geojson" in str(info.value)
    assert "SN2_buildings_train_AOI_3_Paris.tar.gz" in str(info.value)


def test_spacenet2_footprints_without_their_tile_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="have no RGB-PanSharpen tile") as info:
        download_and_prepare(
            get("spacenet2"), _broken("RGB-PanSharpen_AOI_3_Paris_img3.tif"), tmp_path
        )
    assert "buildings_AOI_3_Paris_img3.geojson" in str(info.value)


def test_the_rasteriser_matches_the_published_spacenet_mask(real_data: Path) -> None:
    folder = real_data / "spacenet"
    if not (folder / "sample_fp_mask_from_geojson.tif").is_file():
        pytest.skip("the SpaceNet sample tile and mask are not present")
    with rasterio.open(folder / "sample_geotiff.tif") as image:
        mask = building_mask(image, folder / "geotiff_labels.geojson")
    with rasterio.open(folder / "sample_fp_mask_from_geojson.tif") as published:
        reference = published.read(1)
    assert mask.shape == (900, 900) and mask.dtype == np.uint8
    assert int(mask.sum()) == 33_818
    assert np.array_equal(mask, (reference == 255).astype(np.uint8))
