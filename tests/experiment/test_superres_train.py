"""Super-resolution end to end: synthetic pairs in, a bundle out that beats bicubic on its
validation tiles, predicts a scene on the x4 grid (tiled = untiled away from the edge, resumable)
and refuses misaligned or wrongly scaled pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
import torch.nn.functional as F
from affine import Affine
from tests.experiment.sr_setup import BANDS, scene_pair, sr_config
from tests.helpers import run_cli

from eoforge.errors import ConfigError
from eoforge.evaluate.sr_metrics import cpsnr
from eoforge.evaluate.sr_scene import evaluate_sr_scene
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.loading import check_consistency
from eoforge.experiment.train import TrainResult, train
from eoforge.io import source_from_file
from eoforge.models import load_bundle
from eoforge.predict import RunOptions, TilingOptions, run
from eoforge.predict.bundle import BundleModel
from eoforge.synth.degrade import SensorModel
from eoforge.synth.sr_pairs import SRPairFiles

MODEL = SensorModel(scale=4, mtf=0.3, max_shift=0.0, noise_std=0.001)


def _pair(root: Path, seed: int, size: int) -> SRPairFiles:
    return scene_pair(root, seed, size, MODEL)


def config(root: Path, train_pair: SRPairFiles, val_pair: SRPairFiles, **model: object) -> dict:
    options = {"scale": 4, "features": 16, "blocks": 2, **model}
    return sr_config(
        root,
        [{"lr": str(train_pair.lr[0]), "hr": str(train_pair.hr)}],
        [{"lr": str(val_pair.lr[0]), "hr": str(val_pair.hr)}],
        "sr_edsr",
        options,
        epochs=5,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, Path, SRPairFiles]:
    root = tmp_path_factory.mktemp("superres")
    train_pair, val_pair = _pair(root, 1, 192), _pair(root, 2, 128)
    result = train(
        ExperimentConfig.model_validate(config(root, train_pair, val_pair)), progress=False
    )
    return result, root, val_pair


def test_training_writes_a_bundle_that_beats_bicubic(
    trained: tuple[TrainResult, Path, SRPairFiles],
) -> None:
    result, _, val_pair = trained
    m = result.metrics
    assert result.monitor == "val/cpsnr"
    for key in ("val/psnr", "val/cpsnr", "val/ssim", "train/loss", "val/cpsnr_band_S2.B08"):
        assert np.isfinite(m[key]), key
    assert m["val/cpsnr"] == pytest.approx(
        np.mean([m[f"val/cpsnr_band_{b}"] for b in BANDS]), rel=1e-5
    )
    loaded = load_bundle(result.bundle)
    info = loaded.bundle
    assert info.task == "super_resolution" and info.bands == BANDS
    assert info.model.options["scale"] == 4 and info.gsd == pytest.approx(10.0)
    with rasterio.open(val_pair.lr[0]) as lo, rasterio.open(val_pair.hr) as hi:
        lr, hr = torch.from_numpy(lo.read()), torch.from_numpy(hi.read())
    mean = torch.tensor(info.normalization.mean)[:, None, None]
    std = torch.tensor(info.normalization.std)[:, None, None]
    with torch.no_grad():
        out = loaded.model(((lr - mean) / std)[None])[0]
    up = F.interpolate(lr[None], scale_factor=4, mode="bicubic", align_corners=False)[0]
    model_db, bicubic_db = cpsnr(out, hr).mean, cpsnr(up, hr).mean
    assert model_db > bicubic_db + 0.3, (model_db, bicubic_db)  # a short run already gains


def test_scene_prediction_on_the_x4_grid_is_seamless_and_resumable(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path
) -> None:
    result, _, val_pair = trained
    scene = val_pair.lr[0]
    with rasterio.open(scene) as src:
        grid_transform, shape = src.transform, src.shape

    def predict(folder: str, tile: int, resume: RunOptions | None = None) -> Path:
        paths = run(
            result.bundle,
            scene,
            tmp_path / folder,
            tiling=TilingOptions(tile=tile, overlap=16, batch=2, block=64, multiple=8),
            run=resume,
        )[0].paths
        return paths["values"]

    whole, tiled = predict("whole", 64), predict("tiled", 24)
    with rasterio.open(whole) as a, rasterio.open(tiled) as b:
        assert a.shape == (shape[0] * 4, shape[1] * 4)
        assert a.transform == grid_transform @ Affine.scale(0.25)
        assert a.count == 3 and a.dtypes[0] == "float32"
        x, y = a.read(), b.read()
    edge = 4 * 12  # the network sees 13 input pixels: tiles differ only near the scene edge
    np.testing.assert_allclose(
        x[:, edge:-edge, edge:-edge], y[:, edge:-edge, edge:-edge], atol=1e-4
    )
    with rasterio.open(val_pair.hr) as hi:
        truth = hi.read()
    assert abs(float(np.mean(x)) - float(np.mean(truth))) < 0.01  # physical units (reflectance)
    again = predict("tiled", 24, RunOptions(resume=True))
    assert again.read_bytes() == tiled.read_bytes()


def test_pairs_on_misaligned_grids_or_another_scale_are_refused(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path
) -> None:
    _, root, val_pair = trained
    with rasterio.open(val_pair.lr[0]) as src:
        profile, data = src.profile, src.read()
        descriptions = src.descriptions
    moved = tmp_path / "moved.tif"
    profile.update(transform=src.transform @ Affine.translation(0.5, 0))
    with rasterio.open(moved, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = descriptions
    raw = config(root, val_pair, val_pair)
    raw["data"]["train"] = [{"lr": str(moved), "hr": str(val_pair.hr)}]
    raw["trainer"]["output_dir"] = str(tmp_path / "run")
    with pytest.raises(ConfigError, match="origins differ"):
        train(ExperimentConfig.model_validate(raw), progress=False)
    raw = config(root, val_pair, val_pair, scale=2)
    raw["trainer"]["output_dir"] = str(tmp_path / "run2")
    with pytest.raises(ConfigError, match=r"x4 pair but model\.options\.scale is 2"):
        train(ExperimentConfig.model_validate(raw), progress=False)
    raw = config(root, val_pair, val_pair)
    raw["data"]["kind"] = "sr_pairs"
    raw["task"]["kind"] = "segmentation"
    with pytest.raises(ConfigError, match=r"cannot be trained on data\.kind 'sr_pairs'"):
        check_consistency(ExperimentConfig.model_validate(raw), tmp_path / "x.yaml")


def test_eoforge_predict_writes_the_finer_grid(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, val_pair = trained
    loaded = BundleModel((str(result.bundle),)).load()
    assert loaded[0].bundle.task == "super_resolution"
    assert list(source_from_file(val_pair.lr[0]).bands) == BANDS
    args = ["predict", str(result.bundle), str(val_pair.lr[0]), "--out", str(tmp_path / "maps")]
    assert run_cli(args, monkeypatch) == 0
    with (
        rasterio.open(tmp_path / "maps" / "lr_values.tif") as out,
        rasterio.open(val_pair.hr) as hi,
    ):
        assert out.shape == hi.shape and out.transform == hi.transform and out.crs == hi.crs
        assert out.count == 3 and np.isfinite(out.read()).all()


def test_evaluate_scores_the_model_and_bicubic_on_a_scene_pair(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, val_pair = trained
    out = tmp_path / "metrics.json"
    args = ["evaluate", str(result.bundle), str(val_pair.lr[0]), "--target", str(val_pair.hr)]
    assert run_cli([*args, "--out", str(out)], monkeypatch) == 0
    report = json.loads(out.read_text())
    assert report["bands"] == BANDS and report["scale"] == 4
    with rasterio.open(val_pair.lr[0]) as lo, rasterio.open(val_pair.hr) as hi:
        lr, hr = torch.from_numpy(lo.read()).double(), torch.from_numpy(hi.read()).double()
    up = F.interpolate(lr[None], scale_factor=4, mode="bicubic", align_corners=False)[0]
    expected = cpsnr(up, hr).bands
    assert list(report["bicubic"]["cpsnr"]["bands"].values()) == pytest.approx(expected)
    model, bicubic = report["model"]["cpsnr"], report["bicubic"]["cpsnr"]
    assert report["gain_db"]["cpsnr"]["mean"] == pytest.approx(model["mean"] - bicubic["mean"])
    assert model["mean"] > bicubic["mean"]
    assert (
        0 < report["model"]["ssim"]["mean"] <= 1 and "S2.B08" in report["model"]["cssim"]["bands"]
    )
    # a x2 target is refused by a x4 bundle, naming the scales
    with rasterio.open(val_pair.hr) as hi:
        profile, data = hi.profile, hi.read()
        names = hi.descriptions
    half = data.reshape(3, 64, 2, 64, 2).mean(axis=(2, 4)).astype(np.float32)
    profile.update(width=64, height=64, transform=hi.transform @ Affine.scale(2), tiled=False)
    profile.pop("blockxsize", None), profile.pop("blockysize", None)
    x2 = tmp_path / "x2.tif"
    with rasterio.open(x2, "w", **profile) as dst:
        dst.write(half)
        dst.descriptions = names
    with pytest.raises(ConfigError, match="pair is x2 but the bundle super-resolves x4"):
        evaluate_sr_scene(result.bundle, val_pair.lr[0], x2)
