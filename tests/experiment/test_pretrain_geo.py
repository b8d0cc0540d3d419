"""Pretraining from a config on a synthetic scene: each method, the bundle, resume, fractions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch
from rasterio.windows import from_bounds
from tests.experiment.helpers import BANDS

from eoforge.errors import ConfigError
from eoforge.experiment import train
from eoforge.experiment.data import build_data
from eoforge.experiment.geo_data import LabelFractions
from eoforge.experiment.loading import validate_config
from eoforge.models import load_bundle
from eoforge.sensors import get_band


def pretrain_config(scene: Path, out: Path, method: str, **ssl: Any) -> dict[str, Any]:
    """A tiny pretraining run on ``scene``: 32-px windows, a 1-block ViT, two epochs of 2 steps."""
    return {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scene)], "label": {"band": "landcover"}},
            "bands": BANDS,
            "legend": {"layer": "landcover"},
            "val_fraction": 0.25,
            "patch_size": 32,
            "samples_per_epoch": 16,
            "batch_size": 8,
            "stats_samples": 4,
        },
        "model": {"arch": "spectral_vit", "options": {"depth": 1, "patch_size": 8}},
        "task": {"kind": "pretrain", "method": method, "ssl": {"queue_size": 32, **ssl}},
        "optim": {"lr": 5e-4, "scheduler": None},
        "trainer": {
            "max_epochs": 2,
            "accelerator": "cpu",
            "output_dir": str(out),
            "checkpoint_every_n_steps": 0,
        },
    }


def _config(raw: dict[str, Any]) -> Any:
    return validate_config(copy.deepcopy(raw), Path("pretrain.yaml"))


@pytest.mark.parametrize("method", ["simclr", "moco", "softcon", "mae"])
def test_each_method_pretrains_and_exports_an_embedding_bundle(
    tiny_scene: Path, tmp_path: Path, method: str
) -> None:
    result = train(_config(pretrain_config(tiny_scene, tmp_path / method, method)), progress=False)
    for key in ("train/loss", "val/loss", "train/images_per_s"):
        assert np.isfinite(result.metrics[key]) and result.metrics[key] > 0, key
    loaded = load_bundle(result.bundle)
    bundle = loaded.bundle
    assert bundle.task == "embedding" and bundle.classes == []
    assert bundle.bands == [get_band(b).name for b in BANDS]
    assert bundle.patch_size == 32 and len(bundle.normalization.mean) == 4
    assert bundle.model.options["pool"] == "cls"  # pooling written out
    with torch.no_grad():
        vectors = loaded.model(torch.randn(3, 4, 32, 32))
    assert vectors.shape == (3, 192) and torch.isfinite(vectors).all()
    logged = (result.log_dir / "metrics.csv").read_text()  # type: ignore[operator]
    assert "train/images_per_s" in logged and "val/loss" in logged


def test_a_resumed_run_ends_as_the_uninterrupted_one(tiny_scene: Path, tmp_path: Path) -> None:
    straight = train(_config(pretrain_config(tiny_scene, tmp_path / "a", "moco")), progress=False)
    first = pretrain_config(tiny_scene, tmp_path / "b", "moco")
    first["trainer"]["max_epochs"] = 1
    train(_config(first), progress=False)
    first["trainer"]["max_epochs"] = 2
    resumed = train(_config(first), resume=True, progress=False)
    a = torch.load(straight.checkpoint, map_location="cpu", weights_only=True)  # type: ignore[arg-type]
    b = torch.load(resumed.checkpoint, map_location="cpu", weights_only=True)  # type: ignore[arg-type]
    assert a["global_step"] == b["global_step"] == 4  # 2 epochs x 2 steps
    assert a["epoch"] == b["epoch"]
    for name, tensor in a["state_dict"].items():  # weights, momentum encoder, queue, pointer
        assert torch.allclose(tensor.float(), b["state_dict"][name].float(), atol=1e-6), name
    moments_a = a["optimizer_states"][0]["state"]
    moments_b = b["optimizer_states"][0]["state"]
    assert moments_a.keys() == moments_b.keys()
    for key, state in moments_a.items():
        assert int(state["step"]) == int(moments_b[key]["step"]) == 4
        assert torch.allclose(state["exp_avg"], moments_b[key]["exp_avg"], atol=1e-7)
    assert straight.metrics["val/loss"] == pytest.approx(resumed.metrics["val/loss"], rel=1e-5)


def test_label_fractions_by_hand() -> None:
    sample = {"mask": torch.tensor([[0, 1], [2, 255]]), "image": torch.zeros(1, 2, 2)}
    out = LabelFractions(3)(sample)
    assert "mask" not in out
    assert torch.allclose(out["fractions"], torch.full((3,), 1 / 3))
    none = LabelFractions(2)({"mask": torch.full((2, 2), 255)})
    assert torch.equal(none["fractions"], torch.zeros(2))


def test_softcon_windows_carry_their_land_cover_fractions(tiny_scene: Path, tmp_path: Path) -> None:
    config = _config(pretrain_config(tiny_scene, tmp_path / "f", "softcon"))
    data = build_data(config, tmp_path / "f")
    legend = [e for e in data.classes.classes]
    names = [c.name for c in legend]
    assert "nodata" not in names and "water" in names
    raw_legend = __import__("json").loads((tiny_scene / "legend.json").read_text())["landcover"]
    value_of = {e["name"]: e["value"] for e in raw_legend}
    label_file = next((tiny_scene / "labels").glob("landcover_*.tif"))
    sampler = data.train_sampler()
    checked = 0
    with rasterio.open(label_file) as src:
        for window in list(iter(sampler))[:6]:
            sample = data.train[window]
            t = sample["transform"]
            left, top = t[2], t[5]
            right, bottom = left + 32 * t[0], top + 32 * t[4]
            raw = src.read(1, window=from_bounds(left, bottom, right, top, src.transform))
            assert raw.shape == (32, 32)
            counts = np.array([(raw == value_of[name]).sum() for name in names], np.float64)
            expected = counts / counts.sum()
            assert sample["fractions"].dtype == torch.float32
            assert np.allclose(sample["fractions"].numpy(), expected, atol=1e-6)
            checked += int((expected > 0).sum() > 1)
    assert checked >= 1  # at least one window mixes classes


def test_pretraining_configs_are_checked(tiny_scene: Path, tmp_path: Path) -> None:
    raw = pretrain_config(tiny_scene, tmp_path / "c", "softcon")
    del raw["data"]["train"]["label"]
    with pytest.raises(ConfigError, match="SoftCon needs a land-cover layer"):
        _config(raw)
    raw = pretrain_config(tiny_scene, tmp_path / "c", "mae")
    raw["model"] = {"arch": "spectral_resnet", "backbone": "resnet18"}
    with pytest.raises(ConfigError, match=r"MAE needs model\.arch spectral_vit"):
        _config(raw)
    raw = pretrain_config(tiny_scene, tmp_path / "c", "simclr")
    del raw["task"]["method"]
    with pytest.raises(ConfigError, match=r"task\.method"):
        _config(raw)
    raw = pretrain_config(tiny_scene, tmp_path / "c", "simclr")
    raw["model"] = {"arch": "unet"}
    with pytest.raises(ConfigError, match="does not serve task 'embedding'"):
        _config(raw)


def test_softcon_pretrains_on_bigearthnet_patch_labels(real_data: Path, tmp_path: Path) -> None:
    root = real_data / "bigearthnet" / "BigEarthNet-S2-Example"
    raw = {
        "data": {
            "kind": "bigearthnet",
            "root_s2": str(root),
            "bands": BANDS,
            "batch_size": 2,
            "val_fraction": 0.34,
        },
        "model": {"arch": "spectral_vit", "options": {"depth": 1, "patch_size": 8}},
        "task": {"kind": "pretrain", "method": "softcon"},
        "optim": {"scheduler": None},
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "output_dir": str(tmp_path / "run"),
            "checkpoint_every_n_steps": 0,
        },
    }
    result = train(_config(raw), progress=False)
    assert np.isfinite(result.metrics["train/loss"]) and np.isfinite(result.metrics["val/loss"])
    loaded = load_bundle(result.bundle)
    assert loaded.bundle.task == "embedding" and loaded.bundle.patch_size == 120
    assert loaded.bundle.classes == [] and loaded.bundle.gsd == 10.0
    with torch.no_grad():
        assert loaded.model(torch.randn(2, 4, 120, 120)).shape == (2, 192)


def test_a_validation_strip_narrower_than_a_window_is_named(
    tiny_scene: Path, tmp_path: Path
) -> None:
    raw = pretrain_config(tiny_scene, tmp_path / "v", "simclr")
    raw["data"]["val_fraction"] = 0.1  # 13 of 128 rows, narrower than the 32-px windows
    with pytest.raises(ConfigError, match="13 px across, less than the 32-px windows"):
        build_data(_config(raw), tmp_path / "v")
