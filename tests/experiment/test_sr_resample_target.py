"""data.resample_target end to end at WorldStrat's 10 m / 1.5 m: refused without the option
(files, ratio, option named), with it an x7 network trains on the target resampled to 10/7 m
and eoforge predict writes that grid; refused where not supported (multi-frame items)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from tests.helpers import write_tif

from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.superres import read_pairs
from eoforge.experiment.train import train
from eoforge.predict import TilingOptions, run

CRS = "EPSG:32631"
BANDS = ["S2.B04", "S2.B08"]


def _pair(folder: Path, seed: int) -> dict[str, str]:
    """A 24 x 24 input at 10 m and a 161 x 161 target at 1.5 m (241.5 m: covers it)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)

    def ground(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:  # rows, cols in 1.5 m px
        wave = np.sin(rows / 9.0 + seed) * np.cos(cols / 7.0)
        return np.stack([0.2 + 0.1 * wave, 0.25 - 0.08 * wave])

    hr_t = Affine(1.5, 0, 500000, 0, -1.5, 4000000)
    rows, cols = np.mgrid[0:161, 0:161] + 0.5
    hr = (ground(rows, cols) + rng.normal(0, 0.005, (2, 161, 161))).astype(np.float32)
    lr_t = Affine(10, 0, 500000, 0, -10, 4000000)
    rows, cols = (np.mgrid[0:24, 0:24] + 0.5) * (10 / 1.5)  # input pixel centres
    lr = ground(rows, cols).astype(np.float32)
    return {
        "lr": str(write_tif(folder / "lr.tif", lr, lr_t, CRS, descriptions=BANDS)),
        "hr": str(write_tif(folder / "hr.tif", hr, hr_t, CRS, descriptions=BANDS)),
    }


def _config(root: Path, **data: object) -> dict[str, object]:
    return {
        "data": {
            "kind": "sr_pairs",
            "bands": BANDS,
            "batch_size": 4,
            "patch_size": 8,
            "val_patch_size": 8,
            "samples_per_epoch": 8,
            "train": [_pair(root / "train", 0)],
            "val": [_pair(root / "val", 1)],
            **data,
        },
        "model": {"arch": "sr_edsr", "options": {"scale": 7, "features": 8, "blocks": 1}},
        "task": {"kind": "super_resolution"},
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "output_dir": str(root / "run"),
            "threads": 2,
            "checkpoint_every_n_steps": 0,
        },
    }


def test_worldstrat_ratio_trains_x7_on_the_resampled_grid_and_predicts_it(
    tmp_path: Path,
) -> None:
    raw = _config(tmp_path)
    with pytest.raises(ConfigError, match=r"6\.667 times.*data\.resample_target: true"):
        read_pairs(ExperimentConfig.model_validate(raw))
    raw["data"]["resample_target"] = True  # type: ignore[index]
    config = ExperimentConfig.model_validate(raw)
    train_pairs, val_pairs = read_pairs(config)
    assert [p.scale for p in train_pairs + val_pairs] == [7, 7]
    assert train_pairs[0].lr.shape == (2, 24, 24) and train_pairs[0].hr.shape == (2, 168, 168)
    result = train(config, progress=False)
    lr = Path(raw["data"]["val"][0]["lr"])  # type: ignore[index]
    out = run(result.bundle, lr, tmp_path / "pred", tiling=TilingOptions(16, 4, 1, 64, 1))
    with rasterio.open(out[0].paths["values"]) as ds:
        assert ds.shape == (168, 168)
        assert ds.transform.a == pytest.approx(10 / 7) and ds.transform.c == 500000
        values = ds.read()
    assert np.isfinite(values).all() and abs(float(values.mean()) - 0.2) < 0.05


def test_resampling_is_refused_for_multi_frame_items(tmp_path: Path) -> None:
    raw = _config(tmp_path, resample_target=True, frames=2)
    with pytest.raises(ConfigError, match=r"resample_target is not supported with data\.frames"):
        read_pairs(ExperimentConfig.model_validate(raw))
