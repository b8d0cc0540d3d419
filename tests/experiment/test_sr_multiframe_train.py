"""Multi-frame super-resolution end to end: revisits of synthetic scenes in, a bundle recording
its frame count out, which beats bicubic of one revisit on its validation item; eoforge predict
groups the revisits of one footprint into one scene, writes the x4 grid (tiled = untiled away
from the edge), leaves nodata only where no revisit is valid; mismatched configs are refused;
eoforge evaluate scores the revisits (a glob, optional clear masks) against two bicubic
baselines."""

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
from eoforge.experiment.train import TrainResult, train
from eoforge.models import load_bundle
from eoforge.predict import TilingOptions, run
from eoforge.synth.degrade import SensorModel
from eoforge.synth.sr_pairs import SRPairFiles

MODEL = SensorModel(scale=4, mtf=0.3, max_shift=0.5, noise_std=0.004)
REVISITS = 4


def _item(root: Path, seed: int, size: int) -> SRPairFiles:
    return scene_pair(root, seed, size, MODEL, revisits=REVISITS, name="item")


def config(root: Path, train_item: SRPairFiles, val_item: SRPairFiles) -> dict:
    train = {
        "lr": str(train_item.hr.parent / "lr_?.tif"),  # a glob
        "hr": str(train_item.hr),
        "masks": [str(p) for p in train_item.clear],
    }
    val = {"lr": [str(p) for p in val_item.lr], "hr": str(val_item.hr)}
    options = {"scale": 4, "features": 16, "encoder_blocks": 1, "decoder_blocks": 2}
    return sr_config(root, [train], [val], "sr_multiframe", options, epochs=5, frames=REVISITS)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, Path, SRPairFiles]:
    root = tmp_path_factory.mktemp("sr_multiframe")
    train_item, val_item = _item(root, 1, 192), _item(root, 2, 128)
    result = train(
        ExperimentConfig.model_validate(config(root, train_item, val_item)), progress=False
    )
    return result, root, val_item


def _read(path: Path) -> torch.Tensor:
    with rasterio.open(path) as src:
        return torch.from_numpy(src.read().astype(np.float64))


def test_training_writes_a_bundle_that_fuses_revisits(
    trained: tuple[TrainResult, Path, SRPairFiles],
) -> None:
    result, _, val_item = trained
    assert result.monitor == "val/cpsnr" and np.isfinite(result.metrics["val/cpsnr"])
    loaded = load_bundle(result.bundle)
    info = loaded.bundle
    assert info.task == "super_resolution" and info.bands == BANDS
    assert info.model.arch == "sr_multiframe" and info.model.options["frames"] == REVISITS
    frames = torch.stack([_read(p) for p in val_item.lr]).float()
    hr = _read(val_item.hr)
    mean = torch.tensor(info.normalization.mean)[:, None, None]
    std = torch.tensor(info.normalization.std)[:, None, None]
    with torch.no_grad():
        out = loaded.model(((frames - mean) / std)[None])[0].double()
    up = F.interpolate(frames[:1].double(), scale_factor=4, mode="bicubic", align_corners=False)
    model_db, bicubic_db = cpsnr(out, hr).mean, cpsnr(up[0], hr).mean
    assert model_db > bicubic_db + 0.3, (model_db, bicubic_db)


def test_predict_groups_the_revisits_and_tiles_seamlessly(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path
) -> None:
    result, _, val_item = trained

    def predict(folder: str, tile: int) -> Path:
        found = run(
            result.bundle,
            list(val_item.lr),
            tmp_path / folder,
            tiling=TilingOptions(tile=tile, overlap=16, batch=2, block=64, multiple=8),
        )
        assert [r.name for r in found] == ["lr"]  # lr_0 ... lr_3: one footprint, one scene
        return found[0].paths["values"]

    whole, tiled = predict("whole", 64), predict("tiled", 24)
    with rasterio.open(whole) as a, rasterio.open(tiled) as b, rasterio.open(val_item.hr) as hi:
        assert a.shape == hi.shape and a.transform == hi.transform and a.crs == hi.crs
        x, y = a.read(), b.read()
    edge = 4 * 12
    np.testing.assert_allclose(
        x[:, edge:-edge, edge:-edge], y[:, edge:-edge, edge:-edge], atol=1e-4
    )
    assert np.isfinite(x).all()


def _with_nodata(src_path: Path, out: Path, rows: slice) -> Path:
    with rasterio.open(src_path) as src:
        profile, data, names = src.profile, src.read(), src.descriptions
    data[:, rows] = np.nan
    profile.update(nodata=float("nan"))
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = names
    return out


def test_pixels_without_a_valid_revisit_become_nodata(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, val_item = trained
    folder = tmp_path / "revisits"
    folder.mkdir()
    # rows 0-7 valid in no revisit; rows 8-15 valid in revisit 3 only
    paths = [
        _with_nodata(p, folder / p.name, slice(0, 16 if n < 3 else 8))
        for n, p in enumerate(val_item.lr)
    ]
    args = ["predict", str(result.bundle), *map(str, paths), "--out", str(tmp_path / "maps")]
    assert run_cli(args, monkeypatch) == 0
    with rasterio.open(tmp_path / "maps" / "lr_values.tif") as out:
        values = out.read()
    assert np.isnan(values[:, : 8 * 4]).all()  # the documented fallback: nodata
    assert np.isfinite(values[:, 8 * 4 :]).all()  # one valid revisit is enough


def test_mismatched_configs_and_grids_are_refused(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path
) -> None:
    _, root, val_item = trained
    raw = config(root, val_item, val_item)
    raw["trainer"]["output_dir"] = str(tmp_path / "run")
    no_frames = {**raw, "data": {**raw["data"], "frames": None}}
    with pytest.raises(ConfigError, match=r"fuses revisits but data\.frames is not set"):
        train(ExperimentConfig.model_validate(no_frames), progress=False)
    single = {**raw, "model": {"arch": "sr_edsr", "options": {"scale": 4}}}
    with pytest.raises(ConfigError, match=r"data\.frames is set but model\.arch sr_edsr"):
        train(ExperimentConfig.model_validate(single), progress=False)
    lists = {**single, "data": {**raw["data"], "frames": None}}
    with pytest.raises(ConfigError, match=r"several lr files but data\.frames is not set"):
        train(ExperimentConfig.model_validate(lists), progress=False)
    with rasterio.open(val_item.lr[1]) as src:
        profile, data, names = src.profile, src.read(), src.descriptions
    moved = tmp_path / "moved.tif"
    profile.update(transform=src.transform @ Affine.translation(0.5, 0))
    with rasterio.open(moved, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = names
    shifted = {
        **raw,
        "data": {
            **raw["data"],
            "train": [{"lr": [str(val_item.lr[0]), str(moved)], "hr": str(val_item.hr)}],
        },
    }
    with pytest.raises(ConfigError, match=r"moved\.tif is not on the grid of lr_0\.tif") as caught:
        train(ExperimentConfig.model_validate(shifted), progress=False)
    assert "gdalwarp" in str(caught.value)


def _bicubic_cpsnr(image: np.ndarray, hr: Path) -> float:
    up = F.interpolate(
        torch.from_numpy(image.astype(np.float64))[None], scale_factor=4, mode="bicubic",
        align_corners=False,
    )[0]  # fmt: skip
    return cpsnr(up, _read(hr), border=1).mean


def test_evaluate_scores_the_revisits_against_both_bicubic_baselines(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, val_item = trained
    pattern = str(val_item.hr.parent / "lr_?.tif")
    out = tmp_path / "eval.json"
    args = ["evaluate", str(result.bundle), pattern, "--target", str(val_item.hr), "--border", "1"]
    assert run_cli([*args, "--out", str(out)], monkeypatch) == 0
    report = json.loads(out.read_text())
    assert report["input"] == [str(p) for p in val_item.lr] and report["bands"] == BANDS
    frames = torch.stack([_read(p) for p in val_item.lr]).numpy()
    for name, image in (("bicubic", frames[0]), ("bicubic_median", np.median(frames, axis=0))):
        assert report[name]["cpsnr"]["mean"] == pytest.approx(_bicubic_cpsnr(image, val_item.hr))
    model = report["model"]["cpsnr"]
    assert set(model["bands"]) == set(BANDS)
    assert model["mean"] > report["bicubic_median"]["cpsnr"]["mean"] + 0.3, report["gain_db"]
    assert report["gain_db"]["cpsnr"]["mean"] == pytest.approx(
        model["mean"] - report["bicubic"]["cpsnr"]["mean"]
    )


def test_evaluate_treats_masked_pixels_as_missing(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path
) -> None:
    result, _, val_item = trained
    with rasterio.open(val_item.lr[0]) as src:
        profile = src.profile | {"count": 1, "dtype": "uint8", "nodata": None}
        h = src.height
    masks = []
    for n in range(REVISITS):
        clear = np.ones((1, h, h), np.uint8)
        if n == 0:
            clear[:, : h // 2] = 0  # revisit 0 cloudy in its top half
        masks.append(tmp_path / f"m_{n}.tif")
        with rasterio.open(masks[-1], "w", **profile) as dst:
            dst.write(clear)
    report = evaluate_sr_scene(result.bundle, val_item.lr, val_item.hr, masks=masks, border=1)
    frames = torch.stack([_read(p) for p in val_item.lr]).numpy()
    median = np.median(frames[1:], axis=0)
    top = np.concatenate([median[:, : h // 2], np.median(frames, axis=0)[:, h // 2 :]], axis=1)
    first = np.concatenate([median[:, : h // 2], frames[0][:, h // 2 :]], axis=1)
    assert report["bicubic_median"]["cpsnr"]["mean"] == pytest.approx(
        _bicubic_cpsnr(top, val_item.hr)
    )
    assert report["bicubic"]["cpsnr"]["mean"] == pytest.approx(_bicubic_cpsnr(first, val_item.hr))
    assert report["masks"] == [str(m) for m in masks]
    # every revisit cloudy over the first rows: no clear revisit there
    for path in masks:
        with rasterio.open(path, "r+") as dst:
            dst.write(np.zeros((1, 4, h), np.uint8), window=((0, 4), (0, h)))
    with pytest.raises(ConfigError, match="no clear revisit there"):
        evaluate_sr_scene(result.bundle, val_item.lr, val_item.hr, masks=masks)
    with pytest.raises(ConfigError, match="3 masks for 4 revisits"):
        evaluate_sr_scene(result.bundle, val_item.lr, val_item.hr, masks=masks[:3])


def test_predict_reads_clear_masks_as_missing_pixels(
    trained: tuple[TrainResult, Path, SRPairFiles], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, val_item = trained
    with rasterio.open(val_item.lr[0]) as src:
        profile = src.profile | {"count": 1, "dtype": "uint8", "nodata": None}
        h, w = src.shape
    folder = tmp_path / "masks"
    folder.mkdir()
    for n in range(REVISITS):  # rows 0-7 clear in no revisit; rows 8-15 in revisit 3 only
        clear = np.ones((1, h, w), np.uint8)
        clear[:, : 16 if n < 3 else 8] = 0
        with rasterio.open(folder / f"m_{n}.tif", "w", **profile) as dst:
            dst.write(clear)
    lrs = [str(p) for p in val_item.lr]
    args = ["predict", str(result.bundle), *lrs, "--out", str(tmp_path / "maps")]
    assert run_cli([*args, "--masks", str(folder / "m_?.tif")], monkeypatch) == 0
    with rasterio.open(tmp_path / "maps" / "lr_values.tif") as out:
        masked = out.read()
    assert np.isnan(masked[:, : 8 * 4]).all() and np.isfinite(masked[:, 8 * 4 :]).all()
    # the same as revisits whose cloudy pixels are nodata in the files themselves
    copies = tmp_path / "copies"
    copies.mkdir()
    paths = [
        _with_nodata(p, copies / p.name, slice(0, 16 if n < 3 else 8))
        for n, p in enumerate(val_item.lr)
    ]
    found = run(result.bundle, paths, tmp_path / "nodata")
    with rasterio.open(found[0].paths["values"]) as out:
        np.testing.assert_allclose(masked, out.read(), atol=1e-6)
    unmasked = run(result.bundle, list(val_item.lr), tmp_path / "plain")
    with rasterio.open(unmasked[0].paths["values"]) as out:
        assert np.abs(out.read()[:, 64:] - masked[:, 64:]).max() > 1e-3  # the masks mattered
    with pytest.raises(ConfigError, match="3 clear masks for 4 inputs"):
        run(result.bundle, list(val_item.lr), tmp_path / "x", masks=sorted(folder.glob("*"))[:3])
