"""Reference-guided super-resolution end to end: synthetic pairs with references of another date
in, a bundle out that reads them, whole scenes predicted with the reference read window by window
on the finer grid (tiled = untiled away from the edge), and the refusals that name the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from tests.experiment.sr_setup import BANDS, scene_pair, sr_config
from tests.helpers import run_cli

from eoforge.errors import ConfigError
from eoforge.evaluate.sr_scene import evaluate_sr_scene
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.superres import read_pairs
from eoforge.experiment.train import TrainResult, train
from eoforge.predict import OutputSpec, RunOptions, TilingOptions, run
from eoforge.synth.degrade import SensorModel
from eoforge.synth.sr_pairs import SRPairFiles
from eoforge.synth.sr_reference import CHANGES, write_reference

MODEL = SensorModel(scale=4, mtf=0.3, max_shift=0.0, noise_std=0.001)
Pair = tuple[SRPairFiles, Path]


def _pair(root: Path, seed: int, size: int) -> Pair:
    files = scene_pair(root, seed, size, MODEL)
    ref = write_reference(files.hr, root / f"pair{seed}" / "ref.tif", CHANGES["recent"], seed)
    return files, ref


def _item(pair: Pair, reference: bool = True) -> dict[str, str]:
    files, ref = pair
    item = {"lr": str(files.lr[0]), "hr": str(files.hr)}
    return item | {"reference": str(ref)} if reference else item


def config(root: Path, train_pair: Pair, val_pair: Pair, arch: str = "sr_reference") -> dict:
    options = {"scale": 4, "features": 16, "blocks": 1}
    if arch == "sr_reference":
        options["ref_blocks"] = 1
    return sr_config(root, [_item(train_pair)], [_item(val_pair)], arch, options, epochs=4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, Path, Pair]:
    root = tmp_path_factory.mktemp("sr_reference")
    train_pair, val_pair = _pair(root, 1, 192), _pair(root, 2, 128)
    result = train(
        ExperimentConfig.model_validate(config(root, train_pair, val_pair)), progress=False
    )
    return result, root, val_pair


def test_training_with_references_beats_bicubic_on_an_unseen_pair(
    trained: tuple[TrainResult, Path, Pair],
) -> None:
    result, _, (files, ref) = trained
    assert np.isfinite(result.metrics["val/cpsnr"])
    report = evaluate_sr_scene(result.bundle, files.lr[0], files.hr, reference=ref)
    assert report["reference"] == str(ref)
    gain = report["gain_db"]["cpsnr"]["mean"]
    assert gain > 0.5, gain  # the reference's detail is worth more than a short run's CNN


def test_scene_prediction_reads_the_reference_window_by_window(
    trained: tuple[TrainResult, Path, Pair], tmp_path: Path
) -> None:
    result, _, (files, ref) = trained

    def predict(folder: str, tile: int, resume: RunOptions | None = None) -> Path:
        paths = run(
            result.bundle,
            files.lr[0],
            tmp_path / folder,
            tiling=TilingOptions(tile=tile, overlap=16, batch=2, block=64, multiple=8),
            run=resume,
            reference=ref,
        )[0].paths
        return paths["values"]

    whole, tiled = predict("whole", 64), predict("tiled", 24)
    with rasterio.open(whole) as a, rasterio.open(tiled) as b, rasterio.open(files.hr) as hi:
        assert a.shape == hi.shape and a.transform == hi.transform
        x, y = a.read(), b.read()
    edge = 4 * 12
    np.testing.assert_allclose(
        x[:, edge:-edge, edge:-edge], y[:, edge:-edge, edge:-edge], atol=1e-4
    )
    again = predict("tiled", 24, RunOptions(resume=True))
    assert again.read_bytes() == tiled.read_bytes()
    # the reference matters: another reference gives another image
    with rasterio.open(ref) as src:
        profile, data, names = src.profile, src.read(), src.descriptions
    flipped = tmp_path / "flipped.tif"
    with rasterio.open(flipped, "w", **profile) as dst:
        dst.write(np.ascontiguousarray(data[:, ::-1]))
        dst.descriptions = names
    other = run(result.bundle, files.lr[0], tmp_path / "other", reference=flipped)[0]
    with rasterio.open(other.paths["values"]) as src:
        assert float(np.abs(src.read() - x).mean()) > 1e-3


def test_eoforge_predict_takes_the_reference(
    trained: tuple[TrainResult, Path, Pair], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, (files, ref) = trained
    out = tmp_path / "maps"
    args = ["predict", str(result.bundle), str(files.lr[0]), "--reference", str(ref)]
    assert run_cli([*args, "--out", str(out)], monkeypatch) == 0
    with rasterio.open(out / "lr_values.tif") as src, rasterio.open(files.hr) as hi:
        assert src.shape == hi.shape and src.crs == hi.crs and src.count == 3
        assert np.isfinite(src.read()).all()
    with pytest.raises(ConfigError, match="reads a high-resolution reference"):
        run(result.bundle, files.lr[0], tmp_path / "none")
    with pytest.raises(ConfigError, match="no ensembles or test-time"):
        run([result.bundle, result.bundle], files.lr[0], tmp_path / "two", reference=ref)

    def identity(x: torch.Tensor) -> torch.Tensor:
        return x

    spec = OutputSpec("values", names=tuple(BANDS))
    with pytest.raises(ConfigError, match="does not read one"):
        run(identity, files.lr[0], tmp_path / "f", spec=spec, bands=BANDS, reference=ref)


def test_references_off_the_target_grid_or_mixed_items_are_refused(
    trained: tuple[TrainResult, Path, Pair], tmp_path: Path
) -> None:
    _, root, pair = trained
    files, ref = pair
    with rasterio.open(ref) as src:
        profile, data, names = src.profile, src.read(), src.descriptions
    moved = tmp_path / "moved.tif"
    profile.update(transform=src.transform @ Affine.translation(1, 0))
    with rasterio.open(moved, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = names
    raw = config(root, pair, pair)
    raw["data"]["train"][0]["reference"] = str(moved)
    with pytest.raises(ConfigError, match="origin differs") as caught:
        read_pairs(ExperimentConfig.model_validate(raw))
    assert "moved.tif" in str(caught.value) and "resample the reference" in str(caught.value)
    raw = config(root, pair, pair)
    raw["data"]["train"][0]["reference"] = str(files.lr[0])  # the 10 m grid, not the target's
    with pytest.raises(ConfigError, match="pixel"):
        read_pairs(ExperimentConfig.model_validate(raw))
    raw = config(root, pair, pair)
    raw["data"]["val"] = [_item(pair, reference=False)]
    with pytest.raises(ConfigError, match="no reference but others have one"):
        read_pairs(ExperimentConfig.model_validate(raw))
    raw = config(root, pair, pair, arch="sr_edsr")
    with pytest.raises(ConfigError, match="model does not read them"):
        read_pairs(ExperimentConfig.model_validate(raw))
    raw = config(root, pair, pair)
    raw["data"]["train"] = raw["data"]["val"] = [_item(pair, reference=False)]
    with pytest.raises(ConfigError, match="data items have none"):
        read_pairs(ExperimentConfig.model_validate(raw))
