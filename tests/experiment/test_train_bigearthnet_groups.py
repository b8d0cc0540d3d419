"""BigEarthNet S1 + S2 as three input groups on their native grids: train, evaluate, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from eoforge.errors import BandNotFoundError, ConfigError
from eoforge.experiment import load_config, train
from eoforge.experiment.config import BigEarthNetData
from eoforge.experiment.data import build_data
from eoforge.experiment.evaluate import evaluate
from eoforge.experiment.train import make_task, model_spec, normalization
from eoforge.models import load_bundle

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "configs" / "bigearthnet_s1s2_groups.yaml"
S2_10M = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
S2_20M = ["S2.B05", "S2.B06", "S2.B07", "S2.B8A", "S2.B11", "S2.B12"]


def _recipe(ben: Path, out: Path, **model: object) -> dict[str, object]:
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["data"].update(
        root_s2=str(ben / "BigEarthNet-S2-Example"),
        root_s1=str(ben / "BigEarthNet-S1-Example"),
        val_root_s2=None,
        val_fraction=0.34,  # 4 training patches, 2 validation
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        stats_samples=4,
    )
    recipe["model"].update(model)
    recipe["trainer"].update(max_epochs=1, output_dir=str(out), accelerator="cpu")
    recipe["trainer"].pop("checkpoint_every_n_steps")
    return recipe


def _write(recipe: dict[str, object], path: Path) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))  # groups keep their order
    return path


def test_groups_reach_the_network_on_their_native_grids(real_data: Path, tmp_path: Path) -> None:
    ben = real_data / "bigearthnet"
    shallow = {"encoder_depth": 2}  # a small network: this test checks the wiring, fast
    recipe = _recipe(ben, tmp_path / "run", backbone="tu-resnet10t", options=shallow)
    config = load_config(_write(recipe, tmp_path / "groups.yaml"))
    data = build_data(config, tmp_path / "run")
    assert data.inputs is not None and data.label_grid == "s2_10m"
    assert len(data.train) == 4 and len(data.val) == 2  # type: ignore[arg-type]
    sample = data.train[0]
    shapes = {n: tuple(g["image"].shape) for n, g in sample["inputs"].items()}
    assert shapes == {"s2_10m": (4, 120, 120), "s2_20m": (6, 60, 60), "s1": (2, 120, 120)}
    assert all(bool(flag) for flag in sample["present"].values())
    assert sample["label"].shape == (19,) and sample["valid"].shape == (120, 120)
    mean, std = normalization(data)
    assert len(mean) == len(std) == 12
    assert all(0.0 < m < 0.6 for m in mean[:10]) and all(m < 0.0 for m in mean[10:])  # S1 in dB
    spec = model_spec(config, data)
    assert spec.task == "multilabel" and spec.arch == "fusion_classifier"
    task = make_task(config, spec, data, (mean, std))
    batch = data.train_collate([data.train[i] for i in range(2)])
    logits = task.batch_output(batch)
    assert logits.shape == (2, 19)
    loss = task.loss_fn(logits, batch["label"])
    assert torch.isfinite(loss) and float(loss.detach()) > 0


@pytest.mark.slow  # ~40 s on a shared CPU: three ResNet-18 encoders, Lightning start
def test_the_recipe_trains_two_steps_on_the_real_patches(real_data: Path, tmp_path: Path) -> None:
    ben = real_data / "bigearthnet"
    recipe = _recipe(ben, tmp_path / "run", backbone="resnet18")
    config = load_config(_write(recipe, tmp_path / "groups.yaml"))
    assert isinstance(config.data, BigEarthNetData) and config.data.inputs is not None
    result = train(config, progress=False)  # 4 training patches: 2 steps of 2
    metrics = result.metrics
    assert {"val/map", "val/f1_macro", "val/present_s1", "train/present_s2_20m"} <= set(metrics)
    assert 0.0 <= metrics["val/map"] <= 1.0
    assert metrics["val/present_s1"] == 1.0 and metrics["val/present_s2_10m"] == 1.0
    written = json.loads((result.bundle / "bundle.json").read_text())
    assert written["model"]["task"] == "multilabel"
    assert written["model"]["arch"] == "fusion_classifier"
    assert written["model"]["options"]["inputs"] == {
        "s2_10m": {"bands": S2_10M, "gsd": 10.0},
        "s2_20m": {"bands": S2_20M, "gsd": 20.0},
        "s1": {"bands": ["S1.VV", "S1.VH"], "gsd": 10.0},
    }
    assert written["bands"] == [*S2_10M, *S2_20M, "S1.VV", "S1.VH"]
    assert len(written["classes"]) == 19
    # per-group statistics: reflectance for S2 (0-1), dB for S1 (negative)
    mean = written["normalization"]["mean"]
    assert all(0.0 < m < 0.6 for m in mean[:10]) and all(m < 0.0 for m in mean[10:])
    loaded = load_bundle(result.bundle)
    images = {
        "s2_10m": torch.zeros(2, 4, 120, 120),
        "s2_20m": torch.zeros(2, 6, 60, 60),
        "s1": torch.zeros(2, 2, 120, 120),
    }
    present = {n: torch.tensor([True, n != "s1"]) for n in images}
    logits = loaded.model.eval()(images, present)
    assert logits.shape == (2, 19)
    assert not torch.equal(logits[0], logits[1])  # the missing S1 group changes the output
    # eoforge evaluate on the training config: the same validation patches, the same metrics
    scored = evaluate(result.bundle, tmp_path / "groups.yaml", tmp_path / "evaluation.json")
    assert scored["map"] == pytest.approx(metrics["val/map"], abs=1e-5)
    assert scored["f1_macro"] == pytest.approx(metrics["val/f1_macro"], abs=1e-5)


def test_groups_need_the_fusion_classifier_and_multilabel(real_data: Path, tmp_path: Path) -> None:
    ben = real_data / "bigearthnet"
    recipe = _recipe(ben, tmp_path / "run", arch="timm_classifier")
    with pytest.raises(ConfigError, match="fusion_classifier"):
        load_config(_write(recipe, tmp_path / "stack_arch.yaml"))
    recipe = _recipe(ben, tmp_path / "run")
    recipe["data"].pop("inputs")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"data\.inputs is not given"):
        load_config(_write(recipe, tmp_path / "no_groups.yaml"))
    recipe = _recipe(ben, tmp_path / "run")
    recipe["data"]["inputs"]["s1"]["dates"] = 4  # type: ignore[index]
    with pytest.raises(ConfigError, match="do not apply to BigEarthNet patches"):
        load_config(_write(recipe, tmp_path / "series.yaml"))


def test_a_band_no_patch_holds_or_s1_without_its_folder_is_a_clear_error(
    real_data: Path, tmp_path: Path
) -> None:
    ben = real_data / "bigearthnet"
    recipe = _recipe(ben, tmp_path / "run")
    recipe["data"]["inputs"]["s2_20m"]["bands"].append("S2.B10")  # type: ignore[index]
    config = load_config(_write(recipe, tmp_path / "b10.yaml"))
    with pytest.raises(BandNotFoundError, match=r"no source provides band 'S2\.B10'"):
        build_data(config, tmp_path / "run")
    recipe = _recipe(ben, tmp_path / "run")
    recipe["data"]["root_s1"] = None  # type: ignore[index]
    config = load_config(_write(recipe, tmp_path / "no_s1.yaml"))
    with pytest.raises(ConfigError, match="no Sentinel-1 folder is given"):
        build_data(config, tmp_path / "run")
