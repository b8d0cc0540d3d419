"""Oriented detection end to end: a prepared split of rotated rectangles trains
``oriented_fcos`` from a config (``task.kind: oriented_detection``), scores rotated AP on
validation, exports a bundle, and the bundle predicts a georeferenced scene into
map-coordinate box polygons (GeoParquet)."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.transform import from_origin
from tests.experiment.helpers import detection_config

from eoforge.experiment import load_config, train
from eoforge.experiment.data import build_data
from eoforge.experiment.train import min_visible
from eoforge.models import read_bundle_json
from eoforge.predict import run

SIZE = 64
CLASSES = ["ship", "tank"]


def _corners(cx: float, cy: float, w: float, h: float, angle: float) -> list[float]:
    """The 8 corner coordinates of an oriented box in the shared convention."""
    ux, uy = math.cos(angle) * w / 2, -math.sin(angle) * w / 2
    vx, vy = math.sin(angle) * h / 2, math.cos(angle) * h / 2
    signs = ((-1, -1), (1, -1), (1, 1), (-1, 1))
    return [v for su, sv in signs for v in (cx + su * ux + sv * vx, cy + su * uy + sv * vy)]


def _objects(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[str, list[float]]]]:
    """A dark 3-band image with a bright 24 x 8 'ship' and a grey 14 x 10 'tank', rotated."""
    image = rng.integers(0, 30, (3, SIZE, SIZE), dtype=np.uint8)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    objects = []
    for name, (w, h), value, cy in (("ship", (24, 8), 250, 18.0), ("tank", (14, 10), 140, 46.0)):
        cx, angle = float(rng.uniform(16, 48)), float(rng.uniform(-math.pi / 2, math.pi / 2))
        along_w = (xs - cx) * math.cos(angle) - (ys - cy) * math.sin(angle)
        along_h = (xs - cx) * math.sin(angle) + (ys - cy) * math.cos(angle)
        image[:, (np.abs(along_w) < w / 2) & (np.abs(along_h) < h / 2)] = value
        objects.append((name, _corners(cx, cy, w, h, angle)))
    return image, objects


def _config(tmp_path: Path, **data: object) -> Path:
    return detection_config(
        tmp_path, _objects, CLASSES, "oriented_fcos", "oriented_detection", **data
    )


def test_an_oriented_detector_trains_from_a_config_and_predicts_a_scene(tmp_path: Path) -> None:
    # every training chip also turned by a random angle, with the angle loss
    config = load_config(_config(tmp_path), ["task.rotate=1.0", "model.options.angle_weight=1.0"])
    assert config.task.rotate == 1.0 and min_visible(config) == config.data.min_visible
    sample = build_data(config, tmp_path / "data").train[0]
    assert tuple(sample["boxes"].shape) == (2, 5)  # oriented boxes reach the model
    result = train(config, progress=False)
    bundle = read_bundle_json(result.bundle)
    assert bundle.task == "oriented_detection" and bundle.model.arch == "oriented_fcos"
    assert [c.name for c in bundle.classes] == CLASSES
    assert 0.0 <= result.metrics["val/map"] <= 1.0 and result.monitor == "val/map"
    assert np.isfinite(result.metrics["train/loss"])
    # the bundle predicts a georeferenced scene: box polygons in map coordinates
    rng = np.random.default_rng(5)
    scene = np.concatenate(
        [np.concatenate([_objects(rng)[0] for _ in range(2)], axis=2) for _ in range(2)], axis=1
    )
    path = tmp_path / "scene.tif"
    with rasterio.open(
        path, "w", driver="GTiff", count=3, height=2 * SIZE, width=2 * SIZE, dtype="uint8",
        crs="EPSG:32631", transform=from_origin(500_000, 4_000_000, 0.5, 0.5),
    ) as ds:  # fmt: skip
        ds.write(scene)
    results = run(result.bundle, path, tmp_path / "out")
    frame = gpd.read_parquet(results[0].paths["detections"])
    assert frame.crs is not None and frame.crs.to_epsg() == 32631
    assert len(frame) > 0 and set(frame["class_name"]) <= set(CLASSES)
    assert (frame["w"] >= frame["h"]).all()
    assert frame["angle"].between(-math.pi / 2, math.pi / 2, inclusive="left").all()
    # rotated rectangles, not their envelopes
    assert (frame.geometry.area < 0.95 * frame.geometry.envelope.area).any()
    left, bottom, right, top = frame.total_bounds
    # the scene spans 64 m; a box centred inside it reaches out by at most its half diagonal
    assert left >= 500_000 - 40 and right <= 500_064 + 40
    assert bottom >= 3_999_936 - 40 and top <= 4_000_000 + 40
