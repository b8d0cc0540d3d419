"""Whole-scene detections as users get them: GeoParquet and GeoJSON with centre, ground lengths
and bearing; objects on tile and block borders once; shifted scenes give the same boxes; empty
scenes give valid empty files."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import torch
from affine import Affine
from tests.helpers import write_tif
from tests.predict.heads import BlobBoxes

from eoforge.classes import ClassInfo
from eoforge.cli.predict import detection_summary
from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.models import ModelSpec, build_model
from eoforge.models.bundle import Bundle, Normalization, save_bundle
from eoforge.predict import DetectionSpec, TilingOptions, predict_scene, run
from eoforge.predict.detections import box_ground

T = Affine(0.5, 0, 500_000, 0, -0.5, 5_000_000)  # 0.5 m pixels, UTM 31N
CRS = "EPSG:32631"
BANDS = ["b1", "b2"]
SHAPE = (200, 300)
CLASSES = (
    ClassInfo(id=0, name="vehicle", color="#ff0000"),
    ClassInfo(id=1, name="ship", color="#0000ff"),
)
# tiles start at columns 0, 51, 102, 153, 204 and rows 0, 52, 104 (96 px, 32+ px overlap);
# blocks own columns 0-102, 102-204, 204-300 and rows 0-104, 104-200
TILING = TilingOptions(tile=96, overlap=32, batch=4, block=160, multiple=16)
GROUND = ["centre_x", "centre_y", "length_m", "width_m", "angle_deg"]
COLUMNS = ["class_id", "class_name", "score", *GROUND]


def _scene(path: Path, data: np.ndarray, transform: Affine = T) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_tif(path, data, transform, CRS, descriptions=BANDS)


def _predict(
    scene: Path, out: Path, transform: Affine = T, oriented: bool = False
) -> dict[str, Path]:
    return predict_scene(
        BlobBoxes(oriented),
        source_from_file(scene),
        make_grid(SHAPE, transform, CRS),
        BANDS,
        out,
        spec=DetectionSpec(CLASSES, oriented=oriented),
        options=TILING,
    )


def _blobs(data: np.ndarray, blobs: list[tuple[int, int, int, int, float]]) -> np.ndarray:
    for x0, y0, x1, y1, value in blobs:
        data[0, y0:y1, x0:x1] = value
    return data


@pytest.mark.parametrize("oriented", [False, True])
def test_objects_on_tile_and_block_borders_are_published_once(
    tmp_path: Path, oriented: bool
) -> None:
    blobs = [
        (90, 40, 114, 52, 0.9),  # across tile edges 96 and 102, centre on block column 102
        (22, 98, 30, 110, 0.8),  # across tile edge row 96, centre on block row 104
        (96, 98, 108, 110, 0.7),  # centre on the corner of four blocks
    ]
    data = _blobs(np.zeros((2, *SHAPE), np.float32), blobs)
    paths = _predict(_scene(tmp_path / "border.tif", data), tmp_path / "out" / "s", T, oriented)
    layer = gpd.read_parquet(paths["detections"]).sort_values("score", ascending=False)
    assert len(layer) == 3
    # x0 y0 x1 y1 -> class, centre (map), length m, width m, bearing of the long side
    expected = [
        (1, (102, 46), 12.0, 6.0, 90.0),  # 24 x 12 px: long side east-west
        (0, (26, 104), 6.0, 4.0, 0.0),  # 8 x 12 px: long side north-south
        (1, (102, 104), 6.0, 6.0, 90.0),  # square: the w (x) side counts as the long one
    ]
    for row, (x0, y0, x1, y1, value), (cls, centre, length, width, angle) in zip(
        layer.itertuples(), blobs, expected, strict=True
    ):
        left, top = T @ (x0, y0)
        right, bottom = T @ (x1, y1)
        assert row.geometry.bounds == pytest.approx((left, bottom, right, top))
        assert row.score == pytest.approx(value, abs=1e-6)
        assert (row.class_id, row.class_name) == (cls, CLASSES[cls].name)
        assert (row.centre_x, row.centre_y) == pytest.approx(T @ centre)
        assert (row.length_m, row.width_m, row.angle_deg) == pytest.approx((length, width, angle))
        if oriented:
            assert (row.cx, row.cy, row.w, row.h) == pytest.approx(
                ((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)
            )
        else:
            assert (row.x0, row.y0, row.x1, row.y1) == pytest.approx((x0, y0, x1, y1))
    features = json.loads(paths["detections_geojson"].read_text())["features"]
    assert len(features) == 3
    assert detection_summary(paths["detections"]) == "3 boxes (ship 2, vehicle 1)"


def test_a_scene_shifted_by_three_pixels_gives_the_same_boxes_on_the_map(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    blobs: list[tuple[int, int, int, int, float]] = []
    taken = np.zeros(SHAPE, bool)
    while len(blobs) < 25:
        w, h = (int(v) for v in rng.integers(4, 16, size=2))
        y0, x0 = int(rng.integers(2, SHAPE[0] - h - 6)), int(rng.integers(2, SHAPE[1] - w - 6))
        if taken[y0 - 2 : y0 + h + 2, x0 - 2 : x0 + w + 2].any():
            continue
        taken[y0 : y0 + h, x0 : x0 + w] = True
        blobs.append((x0, y0, x0 + w, y0 + h, round(float(rng.uniform(0.6, 0.98)), 3)))
    data = _blobs(np.zeros((2, *SHAPE), np.float32), blobs)
    shifted = np.zeros_like(data)
    shifted[:, 3:, 3:] = data[:, :-3, :-3]  # every pixel 3 columns right and 3 rows down
    moved = T @ Affine.translation(-3, -3)  # and the grid 3 pixels up-left: same ground
    scenes = tmp_path / "scenes"
    _scene(scenes / "plain.tif", data)
    _scene(scenes / "moved.tif", shifted, moved)
    results = run(
        BlobBoxes(),
        scenes,
        tmp_path / "out",
        spec=DetectionSpec(CLASSES),
        bands=BANDS,
        tiling=TILING,
    )
    assert sorted(r.name for r in results) == ["moved", "plain"]
    for result in results:
        assert result.paths == {
            "detections": tmp_path / "out" / f"{result.name}_detections.parquet",
            "detections_geojson": tmp_path / "out" / f"{result.name}_detections.geojson",
        }
        assert all(p.is_file() for p in result.paths.values())
    layers = {
        r.name: gpd.read_parquet(r.paths["detections"]).sort_values(["centre_x", "centre_y"])
        for r in results
    }
    plain, moved_layer = layers["plain"], layers["moved"]
    assert len(plain) == len(moved_layer) == len(blobs)
    for column in ["class_id", "score", *GROUND]:
        np.testing.assert_allclose(plain[column], moved_layer[column], atol=1e-6)
    for a, b in zip(plain.geometry, moved_layer.geometry, strict=True):
        assert shapely.equals_exact(a, b, tolerance=1e-6)
    for column in ["x0", "y0", "x1", "y1"]:  # in pixels: 3 further right and down
        np.testing.assert_allclose(moved_layer[column] - plain[column], 3.0)
    expected_lengths = sorted(max(x1 - x0, y1 - y0) * 0.5 for x0, y0, x1, y1, _ in blobs)
    assert sorted(plain["length_m"]) == pytest.approx(expected_lengths)


def test_an_empty_scene_gives_valid_empty_files(tmp_path: Path) -> None:
    data = np.zeros((2, *SHAPE), np.float32)
    paths = _predict(_scene(tmp_path / "empty.tif", data), tmp_path / "out" / "empty")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "empty_detections.geojson",
        "empty_detections.parquet",
    ]  # no temporary or work files left
    layer = gpd.read_parquet(paths["detections"])
    assert len(layer) == 0 and layer.crs == CRS
    assert list(layer.columns) == [*COLUMNS, "x0", "y0", "x1", "y1", "geometry"]
    collection = json.loads(paths["detections_geojson"].read_text())
    assert collection == {"type": "FeatureCollection", "features": []}
    assert len(gpd.read_file(paths["detections_geojson"])) == 0
    assert detection_summary(paths["detections"]) == "no boxes"


def test_ground_size_and_bearing_of_known_boxes() -> None:
    # a 40 x 10 px box turned 30 degrees counter-clockwise as displayed, and a tall 4 x 12 box
    boxes = np.array([[100.0, 50.0, 40.0, 10.0, math.radians(30)], [10.0, 20.0, 4.0, 12.0, 0.0]])
    north_up = make_grid(SHAPE, T, CRS)
    ground = box_ground(boxes, north_up)
    np.testing.assert_allclose(ground["centre_x"], [500_050.0, 500_005.0])
    np.testing.assert_allclose(ground["centre_y"], [4_999_975.0, 4_999_990.0])
    np.testing.assert_allclose(ground["length_m"], [20.0, 6.0])
    np.testing.assert_allclose(ground["width_m"], [5.0, 2.0])
    np.testing.assert_allclose(ground["angle_deg"], [60.0, 0.0], atol=1e-9)  # 90 - 30; north

    # the same pixels on a grid whose rows point 30 degrees north of east
    turned = T @ Affine.rotation(-30)  # rotation is clockwise on the image = ccw on the map
    ground = box_ground(boxes, make_grid(SHAPE, turned, CRS))
    np.testing.assert_allclose(ground["length_m"], [20.0, 6.0])
    np.testing.assert_allclose(ground["width_m"], [5.0, 2.0])
    np.testing.assert_allclose(ground["angle_deg"], [30.0, 150.0], atol=1e-9)
    np.testing.assert_allclose(
        (ground["centre_x"][0], ground["centre_y"][0]), turned @ (100.0, 50.0)
    )

    # 1e-5 degree pixels on the equator: 1.11319 m east-west, 1.10574 m north-south
    geographic = make_grid(SHAPE, Affine(1e-5, 0, 10.0, 0, -1e-5, 0.001), "EPSG:4326")
    flat = np.array([[0.0, 0.0, 40.0, 10.0], [0.0, 0.0, 10.0, 40.0]])
    ground = box_ground(flat, geographic)
    east = 6_378_137 * math.pi / 180 * 1e-5  # metres per pixel along the equator
    north = 6_378_137 * (1 - 0.00669438) * math.pi / 180 * 1e-5  # meridian arc at 0 degrees
    np.testing.assert_allclose(ground["length_m"], [40 * east, 40 * north], rtol=1e-4)
    np.testing.assert_allclose(ground["width_m"], [10 * north, 10 * east], rtol=1e-4)
    np.testing.assert_allclose(ground["angle_deg"], [90.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(ground["centre_x"], [10.0002, 10.00005])


def test_the_geojson_is_the_geoparquet_in_wgs84(tmp_path: Path) -> None:
    blobs = [(20, 20, 40, 26, 0.9), (150, 120, 158, 140, 0.8), (250, 10, 262, 22, 0.75)]
    data = _blobs(np.zeros((2, *SHAPE), np.float32), blobs)
    paths = _predict(_scene(tmp_path / "s.tif", data), tmp_path / "out" / "s", oriented=True)
    layer = gpd.read_parquet(paths["detections"])
    wgs84 = layer.to_crs("EPSG:4326")
    collection = json.loads(paths["detections_geojson"].read_text())
    features = collection["features"]
    assert len(features) == len(layer) == 3
    for feature, row, polygon in zip(features, layer.itertuples(), wgs84.geometry, strict=True):
        ring = np.array(feature["geometry"]["coordinates"][0])
        assert ring.shape == (5, 2) and (ring[0] == ring[-1]).all()
        area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
        assert area > 0  # RFC 7946: exterior rings counter-clockwise
        from_json = shapely.normalize(shapely.Polygon(ring))
        assert shapely.equals_exact(from_json, shapely.normalize(polygon), tolerance=1e-10)
        props = feature["properties"]
        assert props["class_name"] == row.class_name and props["score"] == pytest.approx(row.score)
        for column in [*GROUND, "cx", "cy", "w", "h", "angle"]:
            assert props[column] == getattr(row, column)
    read = gpd.read_file(paths["detections_geojson"])
    assert read.crs == "EPSG:4326" and list(read.columns[: len(COLUMNS)]) == COLUMNS


def test_the_command_says_how_many_boxes_it_wrote_and_where(tmp_path: Path) -> None:
    bands = ["S2.B04", "S2.B03", "S2.B02"]
    spec = ModelSpec(
        task="detection",
        arch="fcos",
        backbone="resnet18",
        in_bands=bands,
        num_classes=2,
        options={"fpn_channels": 32, "head_convs": 1, "score_thresh": 0.0, "detections_per_img": 5},
    )
    torch.manual_seed(0)  # an untrained detector: every tile reports its 5 best boxes
    bundle = save_bundle(
        tmp_path / "bundle",
        build_model(spec),
        Bundle(
            task="detection",
            model=spec,
            bands=bands,
            normalization=Normalization(mean=[0.0] * 3, std=[1.0] * 3),
            patch_size=64,
            classes=list(CLASSES),
        ),
    )
    rng = np.random.default_rng(0)
    scene = write_tif(
        tmp_path / "scene.tif", rng.random((3, 128, 160), np.float32), T, CRS, descriptions=bands
    )
    out = tmp_path / "out"
    command = [str(Path(sys.executable).with_name("eoforge")), "predict", str(bundle), str(scene)]
    done = subprocess.run(
        [*command, "--out", str(out), "--tile", "64", "--overlap", "16"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    layer = gpd.read_parquet(out / "scene_detections.parquet")
    assert len(layer) > 0
    counts = layer["class_name"].value_counts()
    match = re.search(r"^scene: (\d+) boxes \((.+)\)$", done.stdout, re.MULTILINE)
    assert match is not None, done.stdout
    assert int(match.group(1)) == len(layer)
    assert {
        name: int(n) for name, n in (part.rsplit(" ", 1) for part in match.group(2).split(", "))
    } == counts.to_dict()
    for name in ("scene_detections.parquet", "scene_detections.geojson"):
        assert f"wrote {out / name}" in done.stdout
    assert len(json.loads((out / "scene_detections.geojson").read_text())["features"]) == len(layer)
