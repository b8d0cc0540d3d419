"""``eoforge predict`` through the real command: class-map COGs and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from tests.helpers import write_tif
from tests.predict.test_classify import BANDS, T, _bundle

EOFORGE = Path(sys.executable).with_name("eoforge")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EOFORGE), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_predict_writes_one_class_map_per_scene(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    data = np.random.default_rng(2).random((2, 120, 150), dtype=np.float32)
    scene = write_tif(tmp_path / "scene.tif", data, T, "EPSG:32631", descriptions=BANDS)
    done = _run(
        "predict",
        str(bundle),
        str(scene),
        "--out",
        str(tmp_path / "maps"),
        "--tile",
        "64",
        "--overlap",
        "16",
        "--batch",
        "2",
    )
    assert done.returncode == 0, done.stderr
    target = tmp_path / "maps" / "scene_classes.tif"
    assert f"wrote {target}" in done.stdout
    with rasterio.open(target) as ds:
        labels = ds.read(1)
        assert ds.transform == T and set(np.unique(labels)) <= {0, 1}


def test_predict_on_a_scene_without_the_bands_says_so(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    data = np.zeros((1, 32, 32), np.float32)
    scene = write_tif(tmp_path / "dem.tif", data, T, "EPSG:32631", descriptions=["DEM.dsm"])
    done = _run("predict", str(bundle), str(scene), "--out", str(tmp_path / "maps"))
    assert done.returncode == 2
    assert "provides all the model's bands" in done.stderr and "Fix:" in done.stderr


def test_a_folder_of_three_scenes_and_a_stac_item_predict_in_one_call(tmp_path: Path) -> None:
    from tests.catalog.test_stac import _item

    bundle = _bundle(tmp_path)
    folder = tmp_path / "scenes"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(3):
        data = rng.random((2, 64 + 16 * i, 80), dtype=np.float32)
        write_tif(folder / f"scene{i}.tif", data, T, "EPSG:32631", descriptions=BANDS)
    item = _item(tmp_path / "stac" / "item-a", "item-a", 10, with_proj=True)
    item.set_self_href(str(tmp_path / "stac" / "item-a" / "item-a.json"))
    item.save_object(include_self_link=False)
    done = _run(
        "predict",
        str(bundle),
        str(folder),
        str(tmp_path / "stac" / "item-a" / "item-a.json"),
        "--out",
        str(tmp_path / "maps"),
        "--vectors",
        "--tile",
        "64",
        "--overlap",
        "16",
    )
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "maps").iterdir())
    stems = ["item-a", "scene0", "scene1", "scene2"]
    suffixes = ["_classes.geojson", "_classes.parquet", "_classes.tif", "_confidence.tif"]
    assert names == sorted(s + x for s in stems for x in suffixes)
    for i in range(3):
        with rasterio.open(tmp_path / "maps" / f"scene{i}_classes.tif") as ds:
            assert ds.shape == (64 + 16 * i, 80) and ds.transform == T
    with rasterio.open(tmp_path / "maps" / "item-a_classes.tif") as ds:
        assert ds.crs == rasterio.crs.CRS.from_epsg(32633) and ds.shape == (16, 16)
    import geopandas as gpd

    polygons = gpd.read_parquet(tmp_path / "maps" / "scene0_classes.parquet")
    assert set(polygons["class_name"]) <= {"bare", "vegetation"}
    assert abs(polygons["area_m2"].sum() - 64 * 80 * 100) < 1e-6
    assert "wrote" in done.stdout and "MP/s" in done.stdout


def test_grid_option_predicts_onto_another_rasters_grid(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    red, nir = np.full((120, 160), 0.6, np.float32), np.full((120, 160), 0.2, np.float32)
    nir[:, 80:], red[:, 80:] = 0.8, 0.1  # vegetation in the right half
    scene = write_tif(
        tmp_path / "scene.tif", np.stack([red, nir]), T, "EPSG:32631", descriptions=BANDS
    )
    coarse = T @ Affine.translation(40, 20) @ Affine.scale(2)  # 20 m, offset into the scene
    ref = write_tif(tmp_path / "ref.tif", np.zeros((1, 30, 50), np.uint8), coarse, "EPSG:32631")
    done = _run(
        "predict", str(bundle), str(scene), "--out", str(tmp_path / "maps"), "--grid", str(ref)
    )
    assert done.returncode == 0, done.stderr
    with rasterio.open(tmp_path / "maps" / "scene_classes.tif") as ds:
        assert ds.transform == coarse and ds.shape == (30, 50)
        labels = ds.read(1)
    # reference column j covers scene columns 40 + 2j .. 41 + 2j: vegetation from j = 20
    assert (labels[:, :19] == 0).all() and (labels[:, 21:] == 1).all()
