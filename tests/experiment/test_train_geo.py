"""Training on tiny synthetic scenes: segmentation, the pixel forest, sparse regression."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.experiment.helpers import BANDS, segmentation_config, write_config

from eoforge.experiment import load_config, train
from eoforge.experiment.data import build_data
from eoforge.experiment.evaluate import evaluate
from eoforge.experiment.geo_data import OwnedPixels, scoring_regions, tile_sampler
from eoforge.experiment.scenes import scene_sources
from eoforge.geo.grid import grid_to_sample
from eoforge.models import read_bundle_json
from eoforge.synth import generate_scene


def _val_metrics(bundle: Path) -> dict[str, float]:
    metrics = read_bundle_json(bundle).metrics
    return {k.removeprefix("val/"): v for k, v in metrics.items() if k.startswith("val/")}


def _epoch_losses(log_dir: Path) -> list[float]:
    rows = list(csv.DictReader((log_dir / "metrics.csv").open()))
    return [float(r["train/loss"]) for r in rows if r.get("train/loss")]


def test_segmentation_trains_exports_and_evaluates(
    tiny_scene: Path, other_scene: Path, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "seg.yaml", segmentation_config(tiny_scene, tmp_path / "run"))
    result = train(load_config(path), progress=False)
    bundle = read_bundle_json(result.bundle)
    assert bundle.bands == BANDS and bundle.gsd == 10.0 and bundle.patch_size == 64
    assert [c.name for c in bundle.classes] == ["water", "vegetation", "other"]
    assert bundle.classes[0].color == "#2673ca"  # from the scene's legend
    assert result.checkpoint is not None and result.checkpoint.is_file()
    assert result.log_dir is not None
    losses = _epoch_losses(result.log_dir)
    assert len(losses) == 2 and losses[1] < losses[0]
    # the config's validation split, scored again from the bundle: the same numbers
    assert evaluate(result.bundle, path, tmp_path / "m.json") == _val_metrics(result.bundle)
    unseen = evaluate(result.bundle, other_scene, tmp_path / "unseen.json")
    assert 0.0 <= unseen["miou"] <= 1.0
    report = json.loads((tmp_path / "unseen.json").read_text())
    assert report["metrics"] == unseen and report["data"] == str(other_scene)


def test_whole_scene_tiles_count_every_pixel_once(tiny_scene: Path, tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path / "c.yaml", segmentation_config(tiny_scene, tmp_path / "run"))
    )
    sources = scene_sources(config.data.train, BANDS, tmp_path, "data.train")  # type: ignore[union-attr]
    regions = scoring_regions(sources, BANDS)
    tiles = tile_sampler(regions, 48, rank=0, world_size=1)  # 128 px: the last tiles overlap
    owned = OwnedPixels([w.grid for w in tiles.windows])
    total = 0
    for window in tiles.windows:
        sample = {"valid": torch.ones(48, 48, dtype=torch.bool), **grid_to_sample(window.grid)}
        total += int(owned(sample)["valid"].sum())
    assert len(tiles.windows) == 9 and total == 128 * 128


def test_spatial_hold_out_keeps_training_windows_off_validation_rows(
    tiny_scene: Path, tmp_path: Path
) -> None:
    config = load_config(
        write_config(tmp_path / "c.yaml", segmentation_config(tiny_scene, tmp_path / "run"))
    )
    data = build_data(config, tmp_path)
    val_top = min(w.grid.boundingbox.top for w in data.val_sampler())  # type: ignore[attr-defined]
    lowest = min(w.grid.boundingbox.bottom for w in data.train_sampler())  # type: ignore[attr-defined]
    assert lowest >= val_top - 1e-6


def test_windows_per_read_draws_training_windows_in_chunks_and_trains(
    tiny_scene: Path, tmp_path: Path
) -> None:
    raw = segmentation_config(tiny_scene, tmp_path / "run", max_epochs=1)
    raw["data"] |= {"windows_per_read": 4, "read_size": 128, "shuffle_buffer": 1}
    config = load_config(write_config(tmp_path / "c.yaml", raw))
    windows = build_data(config, tmp_path).train_sampler().epoch_windows(0)  # type: ignore[attr-defined]
    chunks = windows.chunk
    assert len(windows) == 8 and sorted(np.bincount(chunks).tolist()) == [4, 4]
    for chunk in set(chunks.tolist()):  # each read's windows lie inside one 128-px square
        lefts = [windows[i].grid.boundingbox.left for i in range(8) if chunks[i] == chunk]
        tops = [windows[i].grid.boundingbox.top for i in range(8) if chunks[i] == chunk]
        res = abs(windows[0].grid.resolution.x)
        assert max(lefts) - min(lefts) <= (128 - 64) * res
        assert max(tops) - min(tops) <= (128 - 64) * res
    assert train(config, progress=False).bundle.is_dir()


def test_pixel_forest_baseline_exports_a_bundle(tiny_scene: Path, tmp_path: Path) -> None:
    raw = segmentation_config(tiny_scene, tmp_path / "forest")
    raw["model"] = {"arch": "pixel_forest", "options": {"n_estimators": 5, "max_depth": 6}}
    path = write_config(tmp_path / "forest.yaml", raw)
    result = train(load_config(path), progress=False)
    bundle = read_bundle_json(result.bundle)
    assert bundle.model.arch == "pixel_forest" and bundle.normalization.std == [1.0] * 4
    assert _val_metrics(result.bundle)["miou"] > 0.3
    assert evaluate(result.bundle, path, tmp_path / "m.json") == _val_metrics(result.bundle)


def test_sparse_pixel_regression_in_physical_units(tiny_scene: Path, tmp_path: Path) -> None:
    raw = segmentation_config(tiny_scene, tmp_path / "height")
    del raw["data"]["legend"], raw["data"]["classes"]
    raw["data"]["train"] = {
        "images": [str(tiny_scene)],
        "target": {"band": "DEM.ndsm", "footprint_fraction": 0.05},
    }
    raw["task"] = {"kind": "pixel_regression", "loss": "huber"}
    path = write_config(tmp_path / "height.yaml", raw)
    result = train(load_config(path), progress=False)
    trained = _val_metrics(result.bundle)
    scored = evaluate(result.bundle, path, tmp_path / "m.json")
    # the target scale is folded into the head: same metrics up to float rounding (the
    # loss is not a metric here: training computes it on standardised targets)
    for name in ("mae", "rmse", "r2"):
        assert scored[name] == pytest.approx(trained[name], rel=1e-4, abs=1e-4)


def test_vector_labels_with_attribute_mapping_and_background(tmp_path: Path) -> None:
    scene = tmp_path / "scene"
    generate_scene(scene, size=128, seed=2, sensors="s2", dates=1, clouds=0.0, vectors=True)
    crops = {"winter_wheat": 1, "rapeseed": 2, "sunflower": 3, "maize": 4}
    raw = segmentation_config(scene, tmp_path / "run")
    raw["data"]["train"]["label"] = {
        "kind": "vector",
        "path": str(scene / "vectors" / "fields.geojson"),
        "attribute": "crop",
        "values": crops,
        "background": 0,
    }
    del raw["data"]["legend"]
    raw["data"]["classes"] = [{"name": "none", "values": [0]}] + [
        {"name": name, "values": [value]} for name, value in crops.items()
    ]
    config = load_config(write_config(tmp_path / "crops.yaml", raw))
    data = build_data(config, tmp_path)
    ids = torch.cat([data.train[w]["mask"].flatten() for w in data.train_sampler()])
    assert set(ids.unique().tolist()) <= {0, 1, 2, 3, 4} and int((ids > 0).sum()) > 0
