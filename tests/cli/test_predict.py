"""``eoforge predict`` through the real command: class-map COGs and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
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
    assert "provides all the bundle's bands" in done.stderr and "Fix:" in done.stderr
