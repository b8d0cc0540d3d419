"""bench_detect's bare model runs eoforge's own tile plan: both sides pay the same tile pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from benchmarks.bench_detect import (
    YOLO_SCENE,
    YOLO_SCENE_QUICK,
    epochs_run,
    equal_cpu_met,
    make_scene,
    plan,
    plan_tiles,
    scene_rate,
    trained_threads,
)
from odc.geo.geobox import GeoBox

from eoforge.predict.tiling import plan_tiles as eoforge_plan


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scene(tmp_path_factory.mktemp("scene") / "scene_2500.tif", 2500)


def test_bare_tiles_are_eoforge_tiles(scene: Path) -> None:
    pixels, tiles, tile = plan_tiles(scene, 2500, 2500)
    with rasterio.open(scene) as ds:
        grid = GeoBox((ds.height, ds.width), ds.transform, ds.crs)
        assert np.array_equal(pixels, ds.read())
    windows = [t.window for t in eoforge_plan(grid, 1024, 64, 32)]
    assert [(y, x, tile, tile) for y, x in tiles] == windows
    assert tile == 896 and len(tiles) == 9  # 3 x 3 tiles of 896 px, not 1024 px


def test_bare_tiles_of_a_crop_come_from_the_large_plan(scene: Path) -> None:
    # the plan of a 20,000-px scene: 21 tiles of 1024 px per side; those in the first 2,500 px
    tile, starts = plan(20000)
    assert tile == 1024 and len(starts) == 21
    pixels, tiles, side = plan_tiles(scene, 20000, 2500)
    assert side == 1024 and tiles == [(y, x) for y in starts[:2] for x in starts[:2]]
    assert pixels.shape == (3, starts[1] + 1024, starts[1] + 1024)


def test_yolo_speed_scenes_cut_in_1024_px_tiles() -> None:
    assert plan(YOLO_SCENE) == (1024, [0, 960, 1920])
    assert plan(YOLO_SCENE_QUICK) == (1024, [0, 960])


def test_scene_rate_counts_the_plan_tile_pixels() -> None:
    # 2,500 px: 3 x 3 tiles of 896 px cover 7,225,344 tile pixels for 6,250,000 scene pixels
    assert scene_rate(1.0, 2500) == pytest.approx(6_250_000 / (3 * 896) ** 2)
    assert scene_rate(2.0, 1000) == pytest.approx(2.0)  # one tile, the scene itself


def test_epochs_run_counts_epochs_also_without_validation(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "version_0" / "metrics.csv"
    log.parent.mkdir(parents=True)
    log.write_text("epoch,step,train/loss,val/map\n0,9,,\n0,39,,0.1\n0,39,1.2,\n1,79,,0.2\n")
    assert epochs_run(tmp_path) == 2
    # validated at the last of three epochs only (trainer.val_every_n_epochs: 3)
    log.write_text("epoch,step,train/loss,val/map\n0,39,1.2,\n1,79,1.0,\n2,119,0.9,\n2,119,,0.3\n")
    assert epochs_run(tmp_path) == 3
    assert epochs_run(tmp_path / "nothing") == -1


def test_equal_cpu_goal_needs_the_map_within_the_cpu_seconds() -> None:
    yolo = {"cpu_s": 864.6, "scores": {"map": 0.7673}}
    assert equal_cpu_met({"cpu_s": 800.0, "scores": {"map": 0.77}}, yolo)
    assert equal_cpu_met({"cpu_s": 864.6, "scores": {"map": 0.7673}}, yolo)
    assert not equal_cpu_met({"cpu_s": 900.0, "scores": {"map": 0.9}}, yolo)  # more CPU
    assert not equal_cpu_met({"cpu_s": 500.0, "scores": {"map": 0.7}}, yolo)  # lower map


def test_each_contender_records_its_own_threads() -> None:
    assert trained_threads(1) == 1
    assert str(trained_threads(None)).startswith("torch default (")
