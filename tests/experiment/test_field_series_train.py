"""Field boundaries from a time-series input group: the config checks (fast), and training on
tiny cloudy multi-date synthetic scenes, the scene predicted whole through the engine and
scored (slow: ~40 s on a loaded 2-core CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch
from odc.geo.geobox import GeoBox

from eoforge.data.time_series import read_series
from eoforge.errors import ConfigError
from eoforge.evaluate.field_scene import evaluate_field_scene
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.loading import check_consistency
from eoforge.experiment.scenes import catalog_of
from eoforge.experiment.train import TrainResult, train
from eoforge.models import load_bundle
from eoforge.predict.groups import group_series
from eoforge.synth import generate_scene

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
DATES = 3
OPTIONS = {
    "field_unet_stack": {"encoder_depth": 3, "decoder_channels": [32, 16, 16], "head_channels": 8},
    "field_utae": {"widths": [8, 16, 16], "d_model": 16, "heads": 2, "head_channels": 8},
}


def _split(scene: Path) -> dict[str, Any]:
    fields = scene / "vectors" / "fields.parquet"
    return {
        "images": [str(scene)],
        "label": {"kind": "vector", "path": str(fields), "attribute": "field_id"},
    }


def config(
    root: Path, train_scene: Path, val_scene: Path, arch: str = "field_unet_stack"
) -> dict[str, Any]:
    return {
        "data": {
            "kind": "geo",
            "train": _split(train_scene),
            "val": _split(val_scene),
            "inputs": {
                "s2": {
                    "bands": BANDS,
                    "gsd": 10,
                    "dates": DATES,
                    "clouds": {"band": "cloudmask", "values": [1, 2]},
                }
            },
            "patch_size": 64,
            "samples_per_epoch": 32,
            "batch_size": 8,
            "num_workers": 0,
            "stats_samples": 4,
        },
        "model": {"arch": arch, "backbone": "tu-resnet10t", "options": OPTIONS[arch]},
        "task": {"kind": "field_boundaries", "boundary_width": 1, "augment": True},
        "optim": {"lr": 3e-3, "weight_decay": 0.0},
        "trainer": {
            "max_epochs": 2,
            "accelerator": "cpu",
            "threads": 2,
            "checkpoint_every_n_steps": 0,
            "output_dir": str(root / f"run_{arch}"),
        },
    }


def test_config_checks_pair_series_groups_with_series_networks(tmp_path: Path) -> None:
    scene = tmp_path / "scene"  # the checks read no file: existing paths suffice
    (scene / "vectors").mkdir(parents=True)
    (scene / "vectors" / "fields.parquet").touch()

    def checked(raw: dict[str, Any]) -> None:
        check_consistency(ExperimentConfig.model_validate(raw), tmp_path / "c.yaml")

    checked(config(tmp_path, scene, scene))
    checked(config(tmp_path, scene, scene, "field_utae"))
    raw = config(tmp_path, scene, scene)
    raw["model"] = {"arch": "field_unet", "backbone": "tu-resnet10t"}  # the single-date network
    with pytest.raises(ConfigError, match=r"'field_unet' takes one stack of bands") as error:
        checked(raw)
    assert "field_utae, field_unet_stack" in str(error.value.fix)
    raw = config(tmp_path, scene, scene)
    raw["data"]["bands"] = raw["data"].pop("inputs")["s2"]["bands"]  # one date's bands
    with pytest.raises(ConfigError, match=r"data\.inputs is not given") as error:
        checked(raw)
    assert "field_unet" in str(error.value.fix)
    raw = config(tmp_path, scene, scene)
    raw["data"]["inputs"]["s2"]["bands"] = ["ASI.NDVI"]  # an NDVI stack: computed, not stored
    with pytest.raises(ConfigError, match=r"data\.inputs\.s2\.bands: ASI\.NDVI are all"):
        checked(raw)
    raw["data"]["inputs"]["s2"]["bands"] = ["ASI.NDVI", "S2.B08"]
    checked(raw)
    raw = config(tmp_path, scene, scene)
    raw["data"]["inputs"]["s2"]["composite"] = "median"  # one image, not a series
    with pytest.raises(ConfigError, match=r"takes one time-series group.*0 of them series") as e:
        checked(raw)
    assert "field_unet on one date's bands" in str(e.value.fix)
    raw = config(tmp_path, scene, scene)
    raw["model"]["arch"] = "utae"  # a segmentation network of a series
    with pytest.raises(ConfigError, match="does not serve task 'field_boundaries'"):
        checked(raw)
    raw = config(tmp_path, scene, scene)
    raw["task"] = {"kind": "segmentation"}
    raw["data"]["classes"] = [{"name": "field"}]
    with pytest.raises(ConfigError, match="does not serve task 'segmentation'"):
        checked(raw)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("field_series")
    made = []
    for seed in (0, 1):
        out = root / f"seed{seed}"
        generate_scene(out, size=128, seed=seed, sensors="s2", dates=DATES, clouds=0.2)
        made.append(out)
    return root, made[0], made[1]


@pytest.fixture(scope="module")
def trained(scenes: tuple[Path, Path, Path]) -> TrainResult:
    root, train_scene, val_scene = scenes
    return train(
        ExperimentConfig.model_validate(config(root, train_scene, val_scene)), progress=False
    )


@pytest.mark.slow
def test_series_training_and_whole_scene_prediction(
    trained: TrainResult, scenes: tuple[Path, Path, Path]
) -> None:
    root, _, val_scene = scenes
    metrics = trained.summary_metrics()
    for name in ("extent_iou", "boundary_f1", "distance_mae", "loss"):
        assert 0.0 <= metrics[f"val/{name}"] <= 1.0, name
    loaded = load_bundle(trained.bundle)
    assert loaded.bundle.task == "field_boundaries" and loaded.bundle.model.num_classes == 3
    group = loaded.bundle.model.options["inputs"]["s2"]
    assert group["dates"] == DATES and group["clouds"]["band"] == "cloudmask"
    # the whole scene through the engine, every date read per tile, then polygons, scored
    report = evaluate_field_scene(trained.bundle, val_scene, keep=root / "kept")
    scores = report["scores"]
    assert scores["reference_fields"] > 0 and scores["predicted_fields"] > 0
    assert 0.0 <= scores["recovered"] <= 1.0
    with rasterio.open(report["files"]["values"]) as src:
        maps = src.read().astype(np.float32)
        grid = GeoBox((src.height, src.width), src.transform, src.crs)
    assert maps.shape[0] == 3 and np.nanmin(maps) >= 0.0 and np.nanmax(maps) <= 1.0
    # probabilities as the network gives them (no softmax across the three maps)
    assert not np.allclose(np.nansum(maps, axis=0), 1.0, atol=1e-3)
    # the same maps as the network on the series read as training reads it
    expected = _network_maps(trained, val_scene, grid)
    assert np.nanmax(np.abs(maps - expected)) < 1e-3


def _network_maps(trained: TrainResult, scene: Path, grid: GeoBox) -> np.ndarray:
    loaded = load_bundle(trained.bundle)
    group = loaded.bundle.model.options["inputs"]["s2"]
    spec = group_series(group)
    assert spec is not None
    catalog = catalog_of([scene])
    sources = [e.source for e in catalog.query(kind="image") if e.source is not None]
    held = [s for s in sources if any(s.resolve(b) for b in BANDS)]
    series = read_series(held, BANDS, grid, spec)
    mean = torch.tensor(loaded.bundle.normalization.mean).view(1, -1, 1, 1)
    std = torch.tensor(loaded.bundle.normalization.std).view(1, -1, 1, 1)
    valid = series["valid"] & series["date_mask"][:, None, None]
    x = torch.where(valid[:, None], (series["image"] - mean) / std, torch.zeros(()))
    model = loaded.model.eval()
    with torch.no_grad():
        out = model(
            {"s2": x[None]},
            {"s2": torch.tensor([True])},
            {"s2": {"doy": series["doy"][None], "valid": valid[None]}},
        )
    maps: np.ndarray = out[0].numpy()
    maps[:, ~valid.any(dim=0).numpy()] = np.nan  # unpredicted where no date is usable
    return maps
