"""Field polygons from extent/boundary/distance maps: seeded watershed, polygons, scores."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from odc.geo.geobox import GeoBox
from shapely.geometry import box
from tests.helpers import run_cli, write_tif

from eoforge.errors import ConfigError
from eoforge.evaluate.field_objects import score_fields
from eoforge.evaluate.field_scene import evaluate_field_scene
from eoforge.io.vector.fields import number_fields, rasterize_fields
from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle
from eoforge.predict.fields import FieldPolygonOptions, field_instances, field_polygons
from eoforge.transforms.field_targets import field_targets

CRS = "EPSG:32631"
TRANSFORM = Affine(10.0, 0, 600_000.0, 0, -10.0, 5_000_000.0)


def tiled_fields() -> gpd.GeoDataFrame:
    """A 3 x 4 block of 150 m x 200 m fields sharing their edges, plus one alone."""
    x0, y1 = 600_050.0, 4_999_950.0
    shapes = [
        box(x0 + 200 * c, y1 - 150 * (r + 1), x0 + 200 * (c + 1), y1 - 150 * r)
        for r in range(3)
        for c in range(4)
    ]
    shapes.append(box(600_050.0, 4_999_400.0, 600_250.0, 4_999_480.0))
    return gpd.GeoDataFrame({"field_id": range(len(shapes))}, geometry=shapes, crs=CRS)


def write_maps(path: Path, maps: np.ndarray) -> Path:
    profile = {
        "driver": "GTiff",
        "height": maps.shape[1],
        "width": maps.shape[2],
        "count": 3,
        "dtype": "float32",
        "crs": CRS,
        "transform": TRANSFORM,
        "nodata": float("nan"),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(maps.astype(np.float32))
    return path


def perfect_maps() -> np.ndarray:
    grid = GeoBox((70, 90), TRANSFORM, CRS)
    numbers = rasterize_fields(number_fields(tiled_fields()), grid)
    return field_targets(numbers, width=1).stacked()


def test_perfect_maps_give_back_every_field(tmp_path: Path) -> None:
    out, count = field_polygons(
        write_maps(tmp_path / "maps.tif", perfect_maps()), tmp_path / "f.parquet"
    )
    fields = gpd.read_parquet(out)
    assert count == len(fields) == 13 and fields.crs == CRS
    assert fields["field"].tolist() == list(range(1, 14))
    scores = score_fields(fields, tiled_fields())
    assert scores.recovered == 1.0 and scores.precision == 1.0
    assert scores.matched_iou > 0.99
    assert scores.over_segmentation < 0.02 and scores.under_segmentation < 0.02


def test_blurred_maps_still_split_touching_fields(tmp_path: Path) -> None:
    maps = perfect_maps()
    rng = np.random.default_rng(0)
    noisy = np.clip(maps + rng.normal(0, 0.15, maps.shape), 0, 1)
    noisy[:, :3, :3] = np.nan  # nodata corner: never a field
    instances = field_instances(noisy[0], noisy[1], noisy[2])
    assert instances[:3, :3].max() == 0
    out, _ = field_polygons(write_maps(tmp_path / "maps.tif", noisy), tmp_path / "f.parquet")
    scores = score_fields(gpd.read_parquet(out), tiled_fields())
    assert scores.recovered == 1.0 and scores.precision == 1.0
    assert scores.matched_iou > 0.98
    # without the boundary map the touching fields would merge into one
    merged = field_instances(maps[0], np.zeros_like(maps[1]), np.ones_like(maps[2]))
    assert len(np.unique(merged[merged > 0])) == 2


def test_min_area_and_bad_rasters(tmp_path: Path) -> None:
    maps = write_maps(tmp_path / "maps.tif", perfect_maps())
    options = FieldPolygonOptions(min_area=20_000.0)  # drops the 1.6 ha field alone
    _, count = field_polygons(maps, tmp_path / "big.parquet", options)
    assert count == 12
    with pytest.raises(ConfigError, match="not in"):
        FieldPolygonOptions(extent_threshold=1.5)
    single = tmp_path / "one.tif"
    with rasterio.open(
        single,
        "w",
        driver="GTiff",
        height=4,
        width=4,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=TRANSFORM,
    ) as dst:
        dst.write(np.zeros((1, 4, 4), np.float32))
    with pytest.raises(ConfigError, match="not the 3 maps"):
        field_polygons(single, tmp_path / "x.parquet")


def untrained_bundle(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A tiny untrained field bundle, a two-band scene of the tiled fields, their polygons."""
    torch.manual_seed(0)
    bands = ["S2.B04", "S2.B08"]
    maps = perfect_maps()
    image = np.stack([0.1 + 0.2 * maps[0], 0.2 + 0.3 * maps[2]]).astype(np.float32)
    scene = write_tif(tmp_path / "scene.tif", image, TRANSFORM, CRS, descriptions=bands)
    spec = ModelSpec(
        task="field_boundaries",
        arch="field_unet",
        backbone="tu-resnet10t",
        in_bands=bands,
        num_classes=3,
        options={"encoder_depth": 3, "decoder_channels": [16, 8, 8], "head_channels": 4},
    )
    normalization = Normalization(mean=[0.2, 0.35], std=[0.1, 0.15])
    info = Bundle(
        task="field_boundaries",
        model=spec,
        bands=bands,
        gsd=10.0,
        patch_size=64,
        normalization=normalization,
    )
    bundle = save_bundle(tmp_path / "bundle", build_model(spec).eval(), info)
    reference = tmp_path / "reference.parquet"
    tiled_fields().to_parquet(reference)
    return bundle, scene, reference


def test_a_field_bundle_writes_maps_then_polygons_and_is_scored(tmp_path: Path) -> None:
    bundle, scene, reference = untrained_bundle(tmp_path)
    report = evaluate_field_scene(bundle, scene, reference, keep=tmp_path / "out")
    paths = {k: Path(v) for k, v in report["files"].items()}  # what run() wrote
    assert paths == {
        "values": tmp_path / "out" / "scene_values.tif",
        "fields": tmp_path / "out" / "scene_fields.parquet",
    }
    with rasterio.open(paths["values"]) as src:
        assert src.count == 3 and src.descriptions == ("extent", "boundary", "distance")
        values = src.read()
    assert np.isfinite(values).all() and 0 <= values.min() <= values.max() <= 1
    fields = gpd.read_parquet(paths["fields"])
    assert fields.crs == CRS and list(fields.columns) == ["field", "pixels", "area", "geometry"]
    assert report["scores"]["reference_fields"] == 13  # all inside the scene
    assert report["scores"]["predicted_fields"] == len(fields)
    with pytest.raises(ConfigError, match="no reference fields"):
        evaluate_field_scene(bundle, scene)


@pytest.mark.slow
def test_eoforge_evaluate_prints_and_writes_field_scores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, scene, reference = untrained_bundle(tmp_path)
    args = ["evaluate", str(bundle), str(scene), "--target", str(reference)]
    assert run_cli([*args, "--out", str(tmp_path / "cli.json")], monkeypatch) == 0
    report = json.loads((tmp_path / "cli.json").read_text())
    assert report["scores"] == evaluate_field_scene(bundle, scene, reference)["scores"]
    assert "matched_iou" in capsys.readouterr().out


def test_the_watershed_thresholds_reach_the_polygons_from_both_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eoforge.cli.field_options import (
        DEFAULT_BOUNDARY,
        DEFAULT_DISTANCE,
        DEFAULT_EXTENT,
        field_options,
    )

    assert field_options(DEFAULT_EXTENT, DEFAULT_DISTANCE, DEFAULT_BOUNDARY) == (
        FieldPolygonOptions()
    )
    bundle, scene, reference = untrained_bundle(tmp_path)
    # predict: no pixel reaches an extent probability of 1, so no field at all
    out = tmp_path / "maps"
    assert run_cli(["predict", str(bundle), str(scene), "--out", str(out)], monkeypatch) == 0
    default = gpd.read_parquet(out / "scene_fields.parquet")
    assert len(default) > 0
    strict = ["--extent-threshold", "1.0", "--out", str(tmp_path / "strict")]
    assert run_cli(["predict", str(bundle), str(scene), *strict], monkeypatch) == 0
    assert len(gpd.read_parquet(tmp_path / "strict" / "scene_fields.parquet")) == 0
    # evaluate: the same flags, the same scores as the API with those options
    options = FieldPolygonOptions(extent_threshold=0.3, seed_distance=0.2, seed_boundary=0.3)
    flags = ["--extent-threshold", "0.3", "--seed-distance", "0.2", "--seed-boundary", "0.3"]
    args = ["evaluate", str(bundle), str(scene), "--target", str(reference), *flags]
    assert run_cli([*args, "--out", str(tmp_path / "cli.json")], monkeypatch) == 0
    report = json.loads((tmp_path / "cli.json").read_text())
    want = evaluate_field_scene(bundle, scene, reference, options=options)
    assert report["scores"] == want["scores"] and report["options"] == want["options"]
    # out of range: refused by the command line
    assert run_cli(["predict", str(bundle), str(scene), "--seed-distance", "2"], monkeypatch) != 0
