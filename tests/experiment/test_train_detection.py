"""Object detection end to end: a prepared split (images/ + objects.csv) trains from a
config through ``eoforge train``, scores AP on validation, exports a bundle, and the
bundle predicts a georeferenced scene into map-coordinate boxes (GeoParquet)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from tests.experiment.helpers import detection_config

from eoforge.errors import ConfigError
from eoforge.experiment import load_config, train
from eoforge.experiment.data import build_data
from eoforge.models import read_bundle_json
from eoforge.predict import run

SIZE = 64
CLASSES = ["ship", "tank"]


def _objects(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[str, list[float]]]]:
    """A dark 3-band image with a bright 20 x 8 'ship' and a grey 10 x 10 'tank'."""
    image = rng.integers(0, 30, (3, SIZE, SIZE), dtype=np.uint8)
    x, y = int(rng.integers(2, 40)), int(rng.integers(2, 20))
    image[:, y : y + 8, x : x + 20] = 250
    tx, ty = int(rng.integers(4, 50)), int(rng.integers(36, 50))
    image[:, ty : ty + 10, tx : tx + 10] = 140
    ship = [x, y, x + 20, y, x + 20, y + 8, x, y + 8]
    tank = [tx, ty, tx + 10, ty, tx + 10, ty + 10, tx, ty + 10]
    return image, [("ship", [float(v) for v in ship]), ("tank", [float(v) for v in tank])]


def _config(tmp_path: Path, **data: object) -> Path:
    return detection_config(tmp_path, _objects, CLASSES, "fcos", "detection", **data)


def test_a_detector_trains_from_a_config_and_predicts_a_scene(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    result = train(config, progress=False)
    bundle = read_bundle_json(result.bundle)
    assert bundle.task == "detection" and [c.name for c in bundle.classes] == CLASSES
    assert bundle.bands == ["RGB.red", "RGB.green", "RGB.blue"]
    assert 0.0 <= result.metrics["val/map"] <= 1.0
    assert "train/loss" in result.metrics and np.isfinite(result.metrics["train/loss"])
    assert result.monitor == "val/map"
    # the bundle predicts a georeferenced scene: boxes in map coordinates
    rng = np.random.default_rng(5)
    scene = np.concatenate(
        [np.concatenate([_objects(rng)[0] for _ in range(2)], axis=2) for _ in range(2)], axis=1
    )
    path = tmp_path / "scene.tif"
    transform = from_origin(500_000, 4_000_000, 0.5, 0.5)
    with rasterio.open(
        path, "w", driver="GTiff", count=3, height=2 * SIZE, width=2 * SIZE, dtype="uint8",
        crs="EPSG:32631", transform=transform,
    ) as ds:  # fmt: skip
        ds.write(scene)
    results = run(result.bundle, path, tmp_path / "out")
    frame = gpd.read_parquet(results[0].paths["detections"])
    assert frame.crs is not None and frame.crs.to_epsg() == 32631
    assert set(frame["class_name"]) <= set(CLASSES) if len(frame) else True
    left, bottom, right, top = (
        frame.total_bounds if len(frame) else (500_000, 3_999_936, 500_064, 4_000_000)
    )
    assert (
        left >= 500_000 - 1
        and right <= 500_064 + 1
        and bottom >= 3_999_936 - 1
        and top <= 4_000_000 + 1
    )


def test_detection_config_is_checked(tmp_path: Path) -> None:
    path = _config(tmp_path)
    config = load_config(path, ["data.patch_size=32", "data.stride=24", "data.balanced=true"])
    data = build_data(config, tmp_path / "run")
    assert data.train_sampler is not None
    sample = data.train[0]
    assert tuple(sample["image"].shape) == (3, 32, 32) and sample["boxes"].shape[1] == 4
    with pytest.raises(ConfigError, match="detector's own losses"):
        train(load_config(path, ["task.loss=ce"]), progress=False)
    with pytest.raises(ConfigError, match="list the classes"):
        load_config(path, ["data.classes=null"])
