"""``eoforge evaluate BUNDLE DATA``: prints the metrics and writes them as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from affine import Affine
from tests.helpers import run_cli, write_tif

from eoforge.experiment import load_config, train
from eoforge.synth import generate_scene

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def test_evaluate_scene_folder_writes_metrics_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenes = [tmp_path / "a", tmp_path / "b"]
    for seed, scene in enumerate(scenes):
        generate_scene(scene, size=96, seed=seed, sensors="s2", dates=1, clouds=0.0, vectors=False)
    config = {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scenes[0])], "label": {"band": "landcover"}},
            "bands": BANDS,
            "legend": {"layer": "landcover"},
            "patch_size": 32,
            "samples_per_epoch": 8,
        },
        "model": {"arch": "pixel_forest", "options": {"n_estimators": 3, "max_depth": 5}},
        "task": {"kind": "segmentation"},
        "trainer": {"output_dir": str(tmp_path / "run")},
    }
    path = tmp_path / "forest.yaml"
    path.write_text(yaml.safe_dump(config))
    bundle = train(load_config(path), progress=False).bundle
    out = tmp_path / "unseen.json"
    code = run_cli(["evaluate", str(bundle), str(scenes[1]), "--out", str(out)], monkeypatch)
    printed = capsys.readouterr().out
    assert code == 0 and f"wrote {out}" in printed and "miou" in printed
    report = json.loads(out.read_text())
    assert report["data"] == str(scenes[1]) and 0.0 <= report["metrics"]["miou"] <= 1.0


def test_evaluate_missing_bundle_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["evaluate", str(tmp_path / "nobundle"), str(tmp_path)], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2 and "bundle.json" in err and "Traceback" not in err


# --------------------------------------------------------------------------- map form

TRANSFORM = Affine(10, 0, 600000, 0, -10, 5700000)  # EPSG:32631, 10 m pixels


def _class_map(path: Path, classes: np.ndarray) -> Path:
    write_tif(path, classes.astype(np.uint8), TRANSFORM, "EPSG:32631", nodata=255)
    with rasterio.open(path, "r+") as dst:
        dst.update_tags(1, CLASS_1="water", CLASS_2="forest")
    return path


def test_evaluate_prediction_against_label_raster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    predicted = np.where(np.arange(100) < 60, 1, 2)[None].repeat(100, 0)
    pred = _class_map(tmp_path / "pred.tif", predicted)
    # Labels at 20 m in the same zone; 0 marks unlabelled pixels (the top 10 prediction rows).
    truth = np.where(np.arange(50) < 25, 1, 2)[None].repeat(50, 0).astype(np.uint8)
    truth[:5] = 0
    ref = write_tif(tmp_path / "labels.tif", truth, Affine(20, 0, 600000, 0, -20, 5700000), 32631)
    out = tmp_path / "metrics.json"
    code = run_cli(
        ["evaluate", str(pred), str(ref), "--ignore", "0", "--out", str(out)], monkeypatch
    )
    printed = capsys.readouterr().out
    assert code == 0 and f"wrote {out}" in printed
    assert "mIoU" in printed and "kappa" in printed and "forest" in printed
    report = json.loads(out.read_text())
    assert report["pixels"] == 9000 and report["confusion_matrix"] == [[4500, 0], [900, 3600]]
    assert report["miou"] == pytest.approx((4500 / 5400 + 3600 / 4500) / 2)
    assert [c["name"] for c in report["per_class"]] == ["water", "forest"]


def test_evaluate_prediction_against_vector_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pred = _class_map(tmp_path / "pred.tif", np.ones((50, 50), np.uint8))
    polygons = [
        shapely.box(600000, 5699800, 600200, 5700000),
        shapely.box(600300, 5699700, 600400, 5699900),
    ]
    frame = gpd.GeoDataFrame({"crop": [1, 2]}, geometry=polygons, crs=32631).to_crs(4326)
    frame.to_file(tmp_path / "fields.geojson", driver="GeoJSON")
    code = run_cli(
        ["evaluate", str(pred), str(tmp_path / "fields.geojson"), "--field", "crop"], monkeypatch
    )
    printed = capsys.readouterr().out
    out = tmp_path / "pred.metrics.json"
    assert code == 0 and f"wrote {out}" in printed
    report = json.loads(out.read_text())
    assert report["confusion_matrix"] == [[400, 0], [200, 0]]  # 20x20 px of 1, 20x10 of 2
    assert report["overall_accuracy"] == pytest.approx(400 / 600)


def test_evaluate_regression_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pred = write_tif(tmp_path / "height.tif", np.full((20, 20), 12.0, np.float32), TRANSFORM, 32631)
    ref = write_tif(tmp_path / "lidar.tif", np.full((20, 20), 10.0, np.float32), TRANSFORM, 32631)
    code = run_cli(["evaluate", str(pred), str(ref), "--regression"], monkeypatch)
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "height.metrics.json").read_text())
    assert code == 0 and "RMSE" in printed
    assert report["mae"] == 2.0 and report["bias"] == 2.0 and report["pixels"] == 400


def test_evaluate_map_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pred = _class_map(tmp_path / "pred.tif", np.ones((20, 20), np.uint8))
    frame = gpd.GeoDataFrame(
        {"crop": [1]}, geometry=[shapely.box(600000, 5699900, 600100, 5700000)], crs=32631
    )
    frame.to_file(tmp_path / "fields.gpkg", driver="GPKG")
    code = run_cli(
        ["evaluate", str(pred), str(tmp_path / "fields.gpkg"), "--field", "class"], monkeypatch
    )
    err = capsys.readouterr().err
    assert code == 2 and "has no field 'class'; its fields are crop" in err
    assert "Traceback" not in err
    code = run_cli(["evaluate", str(tmp_path / "missing.tif"), str(pred)], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2 and "missing.tif" in err and "bundle.json" not in err


def test_evaluate_help_shows_both_forms(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["evaluate", "--help"], monkeypatch)
    printed = capsys.readouterr().out
    assert code == 0 and "eoforge evaluate runs/landcover/bundle scenes/unseen" in printed
    assert "--field crop_id" in printed and "--regression" in printed
