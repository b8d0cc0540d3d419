"""The fusion task scene: each input alone confuses the pairs its rules name, together none."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import typer
from typer.testing import CliRunner

from eoforge.cli import ui
from eoforge.cli.synth import register
from eoforge.errors import ConfigError
from eoforge.experiment.scenes import catalog_of
from eoforge.synth.fusion_task import (
    BARE_SOIL,
    BUILDING,
    FINE,
    FOREST,
    GRASSLAND,
    PAVED,
    WATER,
    WETLAND,
    generate_fusion_task,
    majority,
)

SIZE = 128


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fusion") / "scene"
    generate_fusion_task(folder, SIZE, seed=3)
    return folder


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1).astype(np.float64) * (ds.scales[0] or 1.0)


def test_every_input_is_read_by_band_name_through_the_catalog(scene: Path) -> None:
    sources = [e.source for e in catalog_of([scene]).query(kind="image") if e.source]
    bands = {b for s in sources for b in s.bands}
    assert {"S2.B02", "S2.B08", "S2.B12", "S1.VV", "S1.VH", "RGB.red", "DEM.ndsm"} <= bands
    labels = [e.source for e in catalog_of([scene]).query(kind="label_raster") if e.source]
    assert {b for s in labels for b in s.bands} == {"landcover", "landcover_fine"}
    with (
        rasterio.open(scene / "s2/20240701/S2.B04.tif") as s2,
        rasterio.open(scene / "dem/DEM.ndsm.tif") as dsm,
    ):
        assert s2.res == (10.0, 10.0) and dsm.res == (2.5, 2.5)
        assert s2.bounds == dsm.bounds and dsm.width == FINE * s2.width == FINE * SIZE
    legend = json.loads((scene / "legend.json").read_text())
    assert [e["name"] for e in legend["landcover"]][1:] == [
        "water", "forest", "grassland", "wetland", "bare_soil", "paved", "building"
    ]  # fmt: skip
    assert ["grassland", "wetland"] in legend["confused"]["s2"]


def test_each_input_alone_confuses_its_pairs(scene: Path) -> None:
    label = read(scene / "labels/landcover.tif").astype(int)
    fine = read(scene / "labels/landcover_fine.tif").astype(int)
    s2 = {b: read(scene / f"s2/20240701/S2.{b}.tif") for b in ("B02", "B04", "B08", "B11")}
    vv, vh = read(scene / "s1/20240701/S1.VV.tif"), read(scene / "s1/20240701/S1.VH.tif")
    height = read(scene / "dem/DEM.ndsm.tif")
    shares = np.bincount(label.ravel(), minlength=8) / label.size
    assert shares[[WATER, FOREST, GRASSLAND, WETLAND, BARE_SOIL, PAVED, BUILDING]].min() > 0.02

    def mean(values: np.ndarray, code: int, where: np.ndarray = label) -> float:
        return float(values[where == code].mean())

    # Sentinel-2: grassland and wetland share one spectrum law (within 0.01 in every band)...
    for band in s2.values():
        assert abs(mean(band, GRASSLAND) - mean(band, WETLAND)) < 0.01
    # ...which Sentinel-1 separates: flooded vegetation is > 4 dB brighter in VV
    assert mean(vv, WETLAND) - mean(vv, GRASSLAND) > 4.0
    # Sentinel-1: grassland and bare soil alike (< 1 dB) where Sentinel-2 tells them apart
    for pol in (vv, vh):
        assert abs(mean(pol, GRASSLAND) - mean(pol, BARE_SOIL)) < 1.0
    assert mean(s2["B04"], BARE_SOIL) - mean(s2["B04"], GRASSLAND) > 0.08
    # buildings and paved ground: same S1 (< 1 dB); only the height tells them apart
    for pol in (vv, vh):
        assert abs(mean(pol, BUILDING) - mean(pol, PAVED)) < 1.0
    assert mean(height, BUILDING, fine) > 8.0 and abs(mean(height, PAVED, fine)) < 0.1
    # height: every flat class is 0 m (plus noise, low vegetation under 0.4 m)
    for code in (WATER, GRASSLAND, WETLAND, BARE_SOIL, PAVED):
        assert abs(mean(height, code, fine)) < 0.4
    assert abs(mean(height, GRASSLAND, fine) - mean(height, WETLAND, fine)) < 0.05
    assert mean(height, FOREST, fine) > 10.0


def test_roofs_and_paved_lots_draw_the_same_materials(scene: Path) -> None:
    # the optical inputs see the same set of surfaces on buildings as on paved ground: each
    # building pixel's RGB is within a few DN of some paved pixel's (no colour is a roof's alone)
    fine = read(scene / "labels/landcover_fine.tif").astype(int)
    rgb = np.stack([read(scene / f"rgb/RGB.{c}.tif") for c in ("red", "green", "blue")], -1)
    building, paved = rgb[fine == BUILDING], rgb[fine == PAVED]
    rng = np.random.default_rng(0)
    probes = building[rng.choice(len(building), 200, replace=False)]
    pool = paved[rng.choice(len(paved), 5000, replace=False)]
    nearest = np.sqrt(((probes[:, None, :] - pool[None]) ** 2).sum(-1)).min(axis=1)
    assert np.quantile(nearest, 0.95) < 6.0


def test_majority_and_labels_agree(scene: Path) -> None:
    fine = read(scene / "labels/landcover_fine.tif").astype(np.uint8)
    label = read(scene / "labels/landcover.tif").astype(np.uint8)
    assert np.array_equal(majority(fine, FINE), label)
    blocks = np.array([[1, 1, 2, 2], [1, 3, 2, 2], [3, 3, 4, 2], [3, 3, 4, 4]], np.uint8)
    assert majority(blocks, 2).tolist() == [[1, 2], [3, 4]]  # ties go to the lower code


def test_same_seed_same_bytes_other_seed_another_place(tmp_path: Path) -> None:
    digests = []
    for folder, seed in (("a", 1), ("b", 1), ("c", 2)):
        generate_fusion_task(tmp_path / folder, 64, seed)
        data = (tmp_path / folder / "s1/20240701/S1.VV.tif").read_bytes()
        digests.append(hashlib.sha256(data).hexdigest())
    assert digests[0] == digests[1] != digests[2]
    with (
        rasterio.open(tmp_path / "a/labels/landcover.tif") as a,
        rasterio.open(tmp_path / "c/labels/landcover.tif") as c,
    ):
        assert a.bounds.right < c.bounds.left  # side by side, never overlapping


@pytest.mark.parametrize("size", [32, 100, 2048])
def test_bad_sizes_are_config_errors(tmp_path: Path, size: int) -> None:
    with pytest.raises(ConfigError, match=f"fusion task size {size}"):
        generate_fusion_task(tmp_path / "x", size)
    assert not (tmp_path / "x").exists()


def test_the_synth_command_writes_it_with_its_flag(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.callback()(ui.configure)
    out = tmp_path / "ambiguous"
    result = CliRunner().invoke(
        app, ["synth", "--out", str(out), "--fusion-task", "--size", "64", "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote the fusion task scene" in result.output
    assert (out / "dem/DEM.ndsm.tif").is_file() and (out / "stac/collection.json").is_file()
    assert not (out / "s2/20240701/S2.B05.tif").exists()  # not an ordinary synth scene
