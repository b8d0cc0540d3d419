"""Image-to-image end to end: cloud removal on synthetic S1 + cloudy S2 against the clear
rendering of the same seed; a bundle in physical units, a whole-scene prediction named by band
(tiled = untiled away from the tile edges) and per-band scores with a cloudy/clear split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch
from tests.helpers import run_cli

from eoforge.errors import ConfigError
from eoforge.evaluate.i2i_scene import evaluate_i2i_scene
from eoforge.experiment.config import ExperimentConfig, SyntheticScene
from eoforge.experiment.loading import check_consistency
from eoforge.experiment.scenes import synthetic_folder
from eoforge.experiment.train import TrainResult, train
from eoforge.geo.grid import grid_from_sample
from eoforge.io.reader import read
from eoforge.models import Bundle, ModelSpec, build_model, load_bundle, save_bundle
from eoforge.predict import TilingOptions, run

BANDS = ["S1.VV", "S1.VH", "S2.B02", "S2.B03", "S2.B04", "S2.B08"]
TARGETS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
CLOUDS = 0.25


def _split(seed: int, size: int) -> dict[str, Any]:
    common = {"seed": seed, "size": size, "sensors": "s1,s2", "dates": 1}
    return {
        "synthetic": {**common, "clouds": CLOUDS},
        "target_scene": {"synthetic": {**common, "clouds": 0.0}},
    }


def config(root: Path) -> dict[str, Any]:
    return {
        "data": {
            "kind": "geo",
            "train": _split(0, 128),
            "val": _split(1, 128),
            "bands": BANDS,
            "target_bands": TARGETS,
            "patch_size": 64,
            "samples_per_epoch": 64,
            "batch_size": 8,
            "num_workers": 0,
        },
        "model": {
            "arch": "unet",
            "backbone": "tu-resnet10t",
            "options": {"encoder_depth": 3, "decoder_channels": [32, 16, 16]},
        },
        "task": {"kind": "image_to_image"},
        "optim": {"lr": 3e-3, "weight_decay": 0.0},
        "trainer": {
            "max_epochs": 4,
            "accelerator": "cpu",
            "threads": 2,
            "checkpoint_every_n_steps": 0,
            "output_dir": str(root / "run"),
        },
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, Path]:
    root = tmp_path_factory.mktemp("i2i")
    return train(ExperimentConfig.model_validate(config(root)), progress=False), root


def _scenes(result: TrainResult, seed: int) -> tuple[Path, Path]:
    common: dict[str, Any] = {"seed": seed, "size": 128, "sensors": "s1,s2", "dates": 1}
    cloudy = synthetic_folder(SyntheticScene(**common, clouds=CLOUDS), result.run_dir)
    clear = synthetic_folder(SyntheticScene(**common, clouds=0.0), result.run_dir)
    return cloudy, clear


def _band(folder: Path, name: str) -> np.ndarray:
    (path,) = folder.glob(f"*/*/{name}.tif")
    with rasterio.open(path) as src:
        return src.read(1)


def test_the_cloudy_and_clear_renderings_share_their_ground(
    trained: tuple[TrainResult, Path],
) -> None:
    cloudy, clear = _scenes(trained[0], 1)
    assert cloudy != clear and cloudy.name.endswith(f"-clouds{CLOUDS}")
    for name in ("S1.VV", "S1.VH"):
        np.testing.assert_array_equal(_band(cloudy, name), _band(clear, name))
    mask = _band(cloudy, "cloudmask")
    assert 0.05 < (mask != 0).mean() < 0.95 and (_band(clear, "cloudmask") == 0).all()
    a, b = _band(cloudy, "S2.B04").astype(float), _band(clear, "S2.B04").astype(float)
    assert np.median(np.abs(a - b)[mask == 0]) == 0  # clear sky: the same pixels (haze aside)
    assert (a[mask == 1] > b[mask == 1]).mean() > 0.95  # clouds brighten


def test_training_writes_a_bundle_in_physical_units(trained: tuple[TrainResult, Path]) -> None:
    result, _ = trained
    assert result.monitor == "val/rmse" and result.classes == []
    for key in ("val/rmse", "val/mae", "train/loss"):
        assert np.isfinite(result.metrics[key]), key
    loaded = load_bundle(result.bundle)
    info = loaded.bundle
    assert info.task == "image_to_image" and info.bands == BANDS
    assert info.model.options["target_bands"] == TARGETS and info.model.num_classes == 4
    cloudy, clear = _scenes(result, 1)
    (first,) = cloudy.glob("s2/*/S2.B02.tif")
    with rasterio.open(first) as src:
        grid = grid_from_sample(src.crs.to_wkt(), list(src.transform)[:6], src.shape)
    image, _ = read([str(p) for p in sorted(cloudy.glob("s[12]/*"))], grid, BANDS)
    truth, _ = read([str(next(clear.glob("s2/*")))], grid, TARGETS)
    mean = torch.tensor(info.normalization.mean)[:, None, None]
    std = torch.tensor(info.normalization.std)[:, None, None]
    with torch.no_grad():
        out = loaded.model(((torch.from_numpy(image) - mean) / std)[None])[0].numpy()
    # reflectance per band, not standardised values (a short run: band means within 0.12)
    np.testing.assert_allclose(out.mean((1, 2)), truth.mean((1, 2)), atol=0.12)
    assert out[3].mean() > 1.5 * out[0].mean()  # NIR brighter than blue over land
    assert np.abs(out - truth).mean() < np.abs(image[2:] - truth).mean()  # beats the cloudy input


def _predict(bundle: Path, scene: Path, out: Path, tile: int) -> np.ndarray:
    tiling = TilingOptions(tile=tile, overlap=32, batch=2, block=128, multiple=8)
    path = run(bundle, scene / "stac" / "collection.json", out, tiling=tiling)[0].paths["values"]
    assert path.name.endswith("_values.tif")
    with rasterio.open(path) as src:
        assert src.descriptions == tuple(TARGETS) and src.dtypes[0] == "float32"
        return src.read()


def test_scene_prediction_names_the_bands_and_tiles_seamlessly(
    trained: tuple[TrainResult, Path], tmp_path: Path
) -> None:
    result, _ = trained
    cloudy, _ = _scenes(result, 1)
    # a per-pixel network (no context, so no tile edge effect): tiles agree everywhere
    spec = ModelSpec(
        task="image_to_image", arch="simple_cnn", in_bands=BANDS, num_classes=len(TARGETS),
        options={"depth": 0, "target_bands": TARGETS},
    )  # fmt: skip
    torch.manual_seed(0)
    small = save_bundle(
        tmp_path / "small",
        build_model(spec).eval(),
        Bundle(
            task="image_to_image", model=spec, bands=BANDS, gsd=10.0, patch_size=64,
            normalization=load_bundle(result.bundle).bundle.normalization,
        ),
    )  # fmt: skip
    whole, tiled = (_predict(small, cloudy, tmp_path / f, t) for f, t in (("w", 128), ("t", 48)))
    assert np.isfinite(whole).all()
    np.testing.assert_allclose(whole, tiled, atol=1e-4)
    assert np.abs(whole - whole.mean((1, 2), keepdims=True)).max() > 0.01  # not a constant
    # the trained U-Net sees far more than a tile's overlap: blended seams stay small
    whole, tiled = (
        _predict(result.bundle, cloudy, tmp_path / f, t) for f, t in (("uw", 128), ("ut", 80))
    )
    seams = np.abs(whole - tiled)[:, 8:-8, 8:-8]
    assert seams.mean() < 0.01 * whole.mean() and seams.max() < 0.05, (seams.mean(), seams.max())


def test_evaluate_scores_each_band_and_the_cloudy_input(
    trained: tuple[TrainResult, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _ = trained
    cloudy, clear = _scenes(result, 1)
    out = tmp_path / "scores.json"
    args = ["evaluate", str(result.bundle), str(cloudy), "--target", str(clear), "--out", str(out)]
    assert run_cli(args, monkeypatch) == 0
    report = json.loads(out.read_text())
    assert report["bands"] == TARGETS and report["cloud_mask"] is True
    model, given = report["model"], report["baselines"]["input"]
    assert set(model) == {"all", "cloudy", "clear"}
    assert model["cloudy"]["pixels"] + model["clear"]["pixels"] == model["all"]["pixels"]
    for name in ("mae", "rmse", "psnr", "ssim"):
        assert list(model["all"][name]["bands"]) == TARGETS
    # under the clouds the model is far closer to the ground than the cloudy input
    assert model["cloudy"]["mae"]["mean"] < 0.5 * given["cloudy"]["mae"]["mean"]
    assert model["cloudy"]["sam_deg"] < given["cloudy"]["sam_deg"]
    # the input's clear pixels are nearly the target already
    assert given["clear"]["psnr"]["mean"] > given["cloudy"]["psnr"]["mean"] + 10
    again = evaluate_i2i_scene(result.bundle, cloudy, clear)
    assert again["model"]["all"]["mae"]["bands"] == pytest.approx(model["all"]["mae"]["bands"])


def test_bad_configs_are_refused(tmp_path: Path) -> None:
    raw = config(tmp_path)
    raw["data"].pop("target_bands")
    with pytest.raises(ConfigError, match=r"data\.target_bands: missing"):
        check_consistency(ExperimentConfig.model_validate(raw), tmp_path / "x.yaml")
    raw = config(tmp_path)
    raw["data"]["train"]["label"] = {"band": "landcover"}
    with pytest.raises(ConfigError, match=r"data\.train\.label: given"):
        check_consistency(ExperimentConfig.model_validate(raw), tmp_path / "x.yaml")
    raw = config(tmp_path)
    raw["task"]["kind"] = "segmentation"
    raw["data"]["classes"] = [{"name": "a"}, {"name": "b"}]
    with pytest.raises(ConfigError, match=r"data\.target_bands: given, but task 'segmentation'"):
        check_consistency(ExperimentConfig.model_validate(raw), tmp_path / "x.yaml")
    raw = config(tmp_path)
    raw["data"]["target_bands"] = ["S2.B02", "S1.VV"]
    raw["data"]["train"] = {"synthetic": _split(0, 64)["synthetic"]}
    raw["data"]["train"]["target_scene"] = {"synthetic": {"seed": 0, "size": 64, "sensors": "s2"}}
    with pytest.raises(ConfigError, match=r"target_scene: no image holds the target bands"):
        train(ExperimentConfig.model_validate(raw), progress=False)
