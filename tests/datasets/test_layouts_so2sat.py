"""So2Sat LCZ42: HDF5 patches written as Sentinel-2 GeoTIFFs in class folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pydantic import TypeAdapter
from tests.datasets.fixtures import so2sat
from tests.datasets.prepared import download_and_prepare

from eoforge.data import ClassFolderDataset
from eoforge.datasets import get
from eoforge.datasets.entries.classification import SO2SAT_CLASSES
from eoforge.datasets.prepare import prepare
from eoforge.errors import ConfigError
from eoforge.experiment.config import DataConfig
from eoforge.sensors import get_band

pytest.importorskip("h5py")


def test_so2sat_entry_names_the_sentinel2_bands_and_17_zones_in_label_order() -> None:
    entry = get("so2sat-lcz42")
    assert [get_band(b).name for b in entry.bands] == [
        "S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06",
        "S2.B07", "S2.B08", "S2.B8A", "S2.B11", "S2.B12",
    ]  # fmt: skip
    names = [c.name for c in entry.classes]
    assert names == list(SO2SAT_CLASSES) and len(names) == 17
    assert sorted(names) == names  # class-folder indices are the one-hot positions
    assert [f.filename for f in entry.files] == ["training.h5", "validation.h5", "testing.h5"]
    assert all(f.md5 and f.url.startswith("https://dataserv.ub.tum.de/") for f in entry.files)


def test_so2sat_writes_each_patch_into_its_class_folder(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("so2sat-lcz42"), so2sat.write, tmp_path)
    assert [s.name for s in done.splits] == ["train", "val", "test"]
    assert (
        {s.name: s.count for s in done.splits}
        == fixture.counts
        == {
            "train": 4,
            "val": 2,
            "test": 3,
        }
    )
    assert {s.name: s.class_counts for s in done.splits} == fixture.class_counts
    assert done.unit == "patches" and done.unassigned == 0
    train = done.splits[0].path
    assert sorted(p.name for p in train.iterdir()) == list(SO2SAT_CLASSES)
    assert sorted(p.name for p in (train / "lczg_water").iterdir()) == ["000001.tif", "000002.tif"]
    with rasterio.open(train / "lczg_water" / "000002.tif") as ds:
        assert (ds.count, ds.height, ds.width) == (10, 32, 32)
        assert ds.dtypes[0] == "float32" and ds.crs is None
        values = ds.read()
    expected = so2sat.patch_values(2).transpose(2, 0, 1).astype(np.float32)
    assert np.array_equal(values, expected)
    manifest = json.loads(done.manifest.read_text())
    assert manifest["splits"]["test"]["class_counts"]["lcz10_heavy_industry"] == 2


def test_so2sat_splits_read_back_as_class_folders(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("so2sat-lcz42"), so2sat.write, tmp_path)
    ids = dict(so2sat.LABELS.values())
    for split in done.splits:
        ds = ClassFolderDataset(split.path, bands=list(done.entry.bands))
        assert ds.classes == list(SO2SAT_CLASSES)
        assert len(ds) == fixture.counts[split.name]
        labels = sorted(int(ds[i]["label"]) for i in range(len(ds)))
        assert labels == sorted(ids[split.name])
        assert tuple(ds[0]["image"].shape) == (10, 32, 32)
    data = TypeAdapter(DataConfig).validate_python(done.config)
    assert data.kind == "class_folder"
    assert done.config["root"] == str(done.splits[0].path.resolve())
    assert done.config["val_root"] == str(done.splits[1].path.resolve())
    assert done.config["bands"] == list(done.entry.bands)


def test_so2sat_refuses_a_label_row_that_is_not_one_hot(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("so2sat-lcz42"), so2sat.write, tmp_path)
    label = np.eye(17)[[3, 5]]
    label[1, 7] = 1.0  # two zones for one patch
    bad = so2sat.write_file(done.folder / "validation.h5", [3, 5], label=label)
    with pytest.raises(ConfigError, match="label row 1 is not one-hot") as info:
        prepare(done.entry, tmp_path / "data")
    assert str(bad) in str(info.value)


def test_so2sat_refuses_a_file_without_its_sentinel2_array(tmp_path: Path) -> None:
    import h5py

    _, done = download_and_prepare(get("so2sat-lcz42"), so2sat.write, tmp_path)
    path = done.folder / "testing.h5"
    with h5py.File(path, "a") as f:
        del f["sen2"]
    with pytest.raises(ConfigError, match="'sen2' is missing") as info:
        prepare(done.entry, tmp_path / "data")
    assert str(path) in str(info.value)
