"""Field boundaries from configs: the checks (fast), and training from the field polygons of
tiny synthetic scenes to a bundle of extent/boundary/distance maps (slow: ~45 s on a loaded
2-core CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.loading import check_consistency
from eoforge.experiment.train import TrainResult, train
from eoforge.models import load_bundle
from eoforge.synth import generate_scene

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def _scene(root: Path, seed: int) -> Path:
    out = root / f"seed{seed}"
    generate_scene(out, size=128, seed=seed, sensors="s2", dates=1, clouds=0.0)
    return out


def _split(scene: Path) -> dict[str, Any]:
    fields = scene / "vectors" / "fields.parquet"
    return {
        "images": [str(scene)],
        "label": {"kind": "vector", "path": str(fields), "attribute": "field_id"},
    }


def config(root: Path, train_scene: Path, val_scene: Path) -> dict[str, Any]:
    return {
        "data": {
            "kind": "geo",
            "train": _split(train_scene),
            "val": _split(val_scene),
            "bands": BANDS,
            "patch_size": 64,
            "samples_per_epoch": 32,
            "batch_size": 8,
            "num_workers": 0,
            "stats_samples": 4,
        },
        "model": {
            "arch": "field_unet",
            "backbone": "tu-resnet10t",
            "options": {
                "encoder_depth": 3,
                "decoder_channels": [32, 16, 16],
                "head_channels": 8,
            },
        },
        "task": {"kind": "field_boundaries", "boundary_width": 1},
        "optim": {"lr": 3e-3, "weight_decay": 0.0},
        "trainer": {
            "max_epochs": 2,
            "accelerator": "cpu",
            "threads": 2,
            "checkpoint_every_n_steps": 0,
            "output_dir": str(root / "run"),
        },
    }


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("fields")
    return root, _scene(root, 0), _scene(root, 1)


@pytest.fixture(scope="module")
def trained(scenes: tuple[Path, Path, Path]) -> TrainResult:
    root, train_scene, val_scene = scenes
    raw = config(root, train_scene, val_scene)
    return train(ExperimentConfig.model_validate(raw), progress=False)


@pytest.mark.slow
def test_training_writes_a_bundle_of_three_maps(trained: TrainResult) -> None:
    metrics = trained.summary_metrics()
    for name in ("extent_iou", "boundary_f1", "distance_mae", "loss"):
        assert 0.0 <= metrics[f"val/{name}"] <= 1.0, name
    assert trained.monitor == "val/extent_iou"
    loaded = load_bundle(trained.bundle)
    assert loaded.bundle.task == "field_boundaries"
    assert loaded.bundle.model.num_classes == 3 and loaded.bundle.classes == []
    # the training loss fell: the maps are being learnt, not left at their start
    losses = [epoch["train/loss"] for epoch in trained_history(trained)]
    assert losses[-1] < losses[0]


def trained_history(result: TrainResult) -> list[dict[str, float]]:
    import csv  # only this helper reads Lightning's CSV log

    assert result.log_dir is not None
    rows = list(csv.DictReader((result.log_dir / "metrics.csv").open()))
    return [{"train/loss": float(r["train/loss"])} for r in rows if r.get("train/loss")]


def test_config_checks_name_the_key(tmp_path: Path) -> None:
    scene = tmp_path / "scene"  # the checks read no file: existing paths suffice
    (scene / "vectors").mkdir(parents=True)
    (scene / "vectors" / "fields.parquet").touch()

    def checked(raw: dict[str, Any]) -> None:
        check_consistency(ExperimentConfig.model_validate(raw), tmp_path / "c.yaml")

    checked(config(tmp_path, scene, scene))
    raw = config(tmp_path, scene, scene)
    raw["data"]["train"]["label"] = {"kind": "raster", "band": "landcover"}
    with pytest.raises(ConfigError, match=r"data\.train\.label: field_boundaries reads field"):
        checked(raw)
    raw = config(tmp_path, scene, scene)
    raw["data"]["classes"] = [{"name": "field"}]
    with pytest.raises(ConfigError, match=r"data\.classes: field_boundaries predicts"):
        checked(raw)
    raw = config(tmp_path, scene, scene)
    raw["data"]["val"]["label"]["values"] = {"f1": 1}
    with pytest.raises(ConfigError, match=r"data\.val\.label\.values: fields are numbered"):
        checked(raw)
    raw = config(tmp_path, scene, scene)
    raw["model"]["arch"] = "unet"
    with pytest.raises(ConfigError, match="does not serve task 'field_boundaries'"):
        checked(raw)
    raw = config(tmp_path, scene, scene)
    raw["data"]["bands"] = ["ASI.NDVI"]  # indices alone: no stored band to match scenes by
    with pytest.raises(ConfigError, match=r"data\.bands: ASI\.NDVI are all spectral indices"):
        checked(raw)
    raw["data"]["bands"] = ["ASI.NDVI", "S2.B08"]
    checked(raw)
