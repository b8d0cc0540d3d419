"""Multi-sensor layouts: METER-ML, GAMUS and GeoPlant fixtures in their published layouts
are downloaded over HTTP, prepared, and read back; broken layouts give one clear error."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pydantic import TypeAdapter
from tests.datasets.fixtures import gamus, geoplant, meter_ml
from tests.datasets.fixtures.common import Fixture
from tests.datasets.prepared import download_and_prepare

from eoforge.data import ImageMaskDataset
from eoforge.datasets import DatasetEntry, download, get
from eoforge.datasets.layouts.multisensor import METER_ML_FILES
from eoforge.datasets.prepare import Prepared
from eoforge.errors import ConfigError, DownloadError
from eoforge.experiment.config import DataConfig


def _served(entry: DatasetEntry) -> DatasetEntry:
    """``entry`` with its files fetched over HTTP even where the real ones need an account."""
    files = tuple(f.model_copy(update={"manual": ""}) for f in entry.files)
    return entry.model_copy(update={"files": files})


def _prepare(
    name: str, generator: Callable[[Path], Fixture], tmp_path: Path
) -> tuple[Fixture, Prepared]:
    return download_and_prepare(_served(get(name)), generator, tmp_path)


def _check_summary(fixture: Fixture, done: Prepared) -> None:
    """Split names, counts, non-zero class counts and unassigned items match the fixture."""
    assert [s.name for s in done.splits] == list(done.entry.splits)
    assert {s.name: s.count for s in done.splits} == fixture.counts
    for split in done.splits:
        found = {k: v for k, v in split.class_counts.items() if v}
        assert found == fixture.class_counts[split.name], split.name
    assert done.unassigned == fixture.unassigned
    manifest = json.loads(done.manifest.read_text())
    assert manifest["class_count_unit"] == done.unit
    assert {k: v["count"] for k, v in manifest["splits"].items()} == fixture.counts


def test_meter_ml_links_every_sensor_file_and_writes_the_labels(tmp_path: Path) -> None:
    fixture, done = _prepare("meter-ml", meter_ml.write, tmp_path)
    _check_summary(fixture, done)
    assert done.unit == "samples" and done.config == {}
    val = done.splits[1].path
    with open(val / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"sample": "37.41580_-81.52110", "label": "Mines"},
        {"sample": "33.75123_-84.38811", "label": "Negative"},
    ]
    train = done.splits[0].path
    with open(train / "labels.csv", newline="") as f:
        labels = {r["sample"]: r["label"] for r in csv.DictReader(f)}
    assert labels["29.74310_-95.21080"] == "RefineriesAndTerminals;ProcessingPlants"
    sample = train / "29.74310_-95.21080"
    assert sorted(p.name for p in sample.iterdir()) == sorted(METER_ML_FILES)
    assert np.load(sample / "sentinel-2-20m.npy").shape == (4, 4, 6)
    assert (sample / "naip.png").stat().st_nlink >= 2  # a hard link, not a copy
    assert not (val / "30.26720_-97.74310").exists()  # in no geojson: left out


@pytest.mark.parametrize(
    ("defect", "named"),
    [
        ("missing_folder", "test_dataset.geojson"),
        ("missing_file", "sentinel-1.npy"),
        ("unknown_type", "val_dataset.geojson"),
        ("listed_twice", "train_dataset.geojson"),
    ],
)
def test_meter_ml_refuses_a_broken_layout(defect: str, named: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        _prepare("meter-ml", lambda p: meter_ml.write(p, defect), tmp_path)


def test_gamus_converts_the_hdf5_tiles_and_trains_as_image_mask(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    fixture, done = _prepare("gamus", gamus.write, tmp_path)
    _check_summary(fixture, done)
    assert done.unit == "pixels"
    data = TypeAdapter(DataConfig).validate_python(done.config)
    assert data.kind == "image_mask"
    sizes = {}
    for split in done.splits:
        ds = ImageMaskDataset(
            split.path / "images", split.path / "masks", bands=list(done.entry.bands)
        )
        sample = ds[0]
        assert tuple(sample["image"].shape) == (4, gamus.HEIGHT, gamus.WIDTH)
        assert tuple(sample["mask"].shape) == (gamus.HEIGHT, gamus.WIDTH)
        sizes[split.name] = len(ds)
        heights = sorted(p.name for p in (split.path / "heights").iterdir())
        assert heights == sorted(p.name for p in (split.path / "images").iterdir())
    assert sizes == fixture.counts
    # the first test tile (the fifth written): mask, height and the stacked image agree
    test = done.splits[2].path
    with rasterio.open(test / "masks" / "test_0000.tif") as ds:
        ids = ds.read(1)
    with rasterio.open(test / "heights" / "test_0000.tif") as ds:
        height = ds.read(1)
    with rasterio.open(test / "images" / "test_0000.tif") as ds:
        image = ds.read()
    assert np.array_equal(ids, gamus.classes_of(4))
    assert height.dtype == np.float32 and np.array_equal(height, ids * np.float32(2.5))
    assert np.array_equal(image[3], height) and image[:3].max() <= 255


@pytest.mark.parametrize(
    ("defect", "message"),
    [
        ("missing_height", r"val_0000_IMG\.h5 has no partner val_0000_AGL\.h5"),
        ("missing_split", r"GAMUS: the test split has no folder images/test/"),
    ],
)
def test_gamus_refuses_a_broken_layout(defect: str, message: str, tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    with pytest.raises(ConfigError, match=message):
        _prepare("gamus", lambda p: gamus.write(p, defect), tmp_path)


def test_geoplant_writes_surveys_with_species_and_links_their_patches(tmp_path: Path) -> None:
    fixture, done = _prepare("geoplant", geoplant.write, tmp_path)
    _check_summary(fixture, done)
    assert done.unit == "surveys" and done.config == {}
    train = done.splits[0].path
    with open(train / "surveys.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["surveyId"] for r in rows] == ["212", "1000311", "3018575"]
    assert rows[0]["species"] == "1395 4432 8901"
    assert rows[1]["species"] == "77 4432"
    assert (rows[0]["lat"], rows[0]["lon"]) == ("45.0", "5.5")  # as written in the table
    patches = sorted(p.name for p in (train / "patches").iterdir())
    assert patches == ["1000311.tiff", "212.tiff", "3018575.tiff"]
    with rasterio.open(train / "patches" / "212.tiff") as ds:
        assert ds.count == len(done.entry.bands)
    ood = sorted(p.name for p in (done.splits[2].path / "patches").iterdir())
    assert ood == ["33.tiff", "9061234.tiff"]


def test_geoplant_refuses_a_survey_without_its_patch(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"survey 2045 of PA_metadata_test_iid\.csv"):
        _prepare("geoplant", lambda p: geoplant.write(p, "missing_patch"), tmp_path)


def test_meter_ml_download_asks_for_the_file_by_hand(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="cannot be downloaded without an account") as info:
        download(get("meter-ml"), tmp_path)
    assert "METER-ML.zip" in str(info.value)
    assert "stanfordmlgroup.github.io/projects/meter-ml" in str(info.value)


def test_entries_say_what_trains_them() -> None:
    assert get("gamus").trainable and get("gamus").data_kind == "image_mask"
    for name in ("meter-ml", "geoplant"):
        entry = get(name)
        assert not entry.trainable and entry.later.startswith(
            "several sensors and dates in one model"
        )
    assert get("meter-ml").files[0].manual  # offered after accepting the terms
