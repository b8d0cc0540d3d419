"""xView3-SAR trains on its scenes: prepare writes per-scene catalogs (VV_dB.tif and
VH_dB.tif as S1.VV and S1.VH) and objects in map coordinates, and the data config it
generates trains a detector on windows read from the scenes (tiny fabricated scenes:
real GeoTIFFs and label CSVs in the published layout, served on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from tests.datasets.fixtures import xview3
from tests.datasets.prepared import download_and_prepare
from tests.experiment.helpers import write_config

from eoforge.catalog import Catalog
from eoforge.datasets import DatasetEntry, get
from eoforge.datasets.layouts.objects import read_objects
from eoforge.datasets.prepare import Prepared
from eoforge.experiment import load_config, train
from eoforge.experiment.data import build_data


def _prepare(tmp_path: Path) -> Prepared:
    entry: DatasetEntry = get("xview3-sar")
    files = tuple(f.model_copy(update={"manual": ""}) for f in entry.files)
    _, done = download_and_prepare(
        entry.model_copy(update={"files": files}), xview3.write, tmp_path
    )
    return done


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return _prepare(tmp_path_factory.mktemp("xview3"))


def test_entry_is_trainable_as_geo_detection() -> None:
    entry = get("xview3-sar")
    assert entry.trainable and entry.family == "detection" and entry.data_kind == "geo"


def test_each_scene_gets_a_catalog_and_its_objects_in_map_coordinates(prepared: Prepared) -> None:
    train_split = prepared.splits[0].path
    rows = read_objects(train_split / "objects.csv")
    for scene in xview3.SCENES["train"]:
        catalog = Catalog.load(train_split / "catalogs" / f"{scene}.parquet")
        (source,) = catalog.sources()
        assert sorted(source.bands) == ["S1.VH", "S1.VV"]
        frame = gpd.read_parquet(train_split / "objects" / f"{scene}.parquet")
        mine = [r for r in rows if r.image == scene]
        assert len(frame) == len(mine) and set(frame["scene_id"]) <= {scene}
        with rasterio.open(train_split / "scenes" / scene / "VV_dB.tif") as ds:
            transform, crs = ds.transform, ds.crs
        assert frame.crs == crs
        for row, polygon in zip(mine, frame.geometry, strict=True):
            x0, y0, x1, y1 = row.bounds
            left, top = transform @ (x0, y0)
            right, bottom = transform @ (x1, y1)
            np.testing.assert_allclose(polygon.bounds, (left, bottom, right, top))
    # the first published box: columns 17-25, rows 8-13 of a 10 m grid at (500000, 5500000)
    first = gpd.read_parquet(train_split / "objects" / f"{xview3.SCENES['train'][0]}.parquet")
    np.testing.assert_allclose(first.geometry.iloc[0].bounds, (500170, 5499870, 500250, 5499920))
    assert first["label"].iloc[0] == "vessel" and first["is_fishing"].iloc[0] == "True"


def _config(prepared: Prepared, out: Path) -> Any:
    raw = {
        "data": {
            **prepared.config,
            "patch_size": 64,
            "samples_per_epoch": 8,
            "batch_size": 4,
            "stats_samples": 4,
            "detection": {"val_overlap": 16},
        },
        "model": {
            "arch": "fcos",
            "backbone": "resnet18",
            "options": {"fpn_channels": 32, "head_convs": 1, "score_thresh": 0.05},
        },
        "task": {"kind": "detection"},
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "checkpoint_every_n_steps": 0,
            "output_dir": str(out / "run"),
        },
    }
    return load_config(write_config(out / "xview3.yaml", raw))


def test_the_generated_config_trains_on_windows_of_the_scenes(
    prepared: Prepared, tmp_path: Path
) -> None:
    config = _config(prepared, tmp_path)
    assert config.data.bands == ["S1.VV", "S1.VH"]
    data = build_data(config, tmp_path / "run")
    # both training scenes lie on the same place: each window shows its own scene's objects
    sampler = data.train_sampler()
    draws = sampler.draws(0)  # type: ignore[attr-defined]
    frame = data.train.frame  # type: ignore[attr-defined]
    for i in range(len(draws.windows)):
        window = draws.windows[i]
        sample = data.train[window]
        assert sample["image"].shape == (2, 64, 64)
        group = data.train.group_of(window)  # type: ignore[attr-defined]
        near = data.train.near(window.grid, group)  # type: ignore[attr-defined]
        assert set(near["scene_id"]) <= {xview3.SCENES["train"][group]}
        if draws.target[i] >= 0:
            row = int(sampler.candidates.row[draws.target[i]])  # type: ignore[attr-defined]
            assert frame["scene_id"].iloc[row] == xview3.SCENES["train"][group]
            assert len(sample["labels"]) >= 1
    # VV and VH come from the scene's own files (the fixture's VH is VV - 5 dB)
    sample = data.train[draws.windows[0]]
    assert float((sample["image"][0] - sample["image"][1]).mean()) == pytest.approx(5.0)
    result = train(config, progress=False)
    assert 0.0 <= result.metrics["val/map"] <= 1.0 and np.isfinite(result.metrics["train/loss"])
