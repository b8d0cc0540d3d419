"""evaluate_sr_scene on a 10 m / 1.5 m pair: refused without resample_target; with it the
prediction is scored against the target resampled to 10/7 m over the input pixels it covers,
aligned (a fresh sr_edsr is exactly bicubic, so its scores equal bicubic's)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from tests.evaluate.sr_bundles import tiny_sr_bundle
from tests.helpers import run_cli, write_tif

from eoforge.errors import ConfigError
from eoforge.evaluate.sr_scene import evaluate_sr_scene
from eoforge.predict import TilingOptions

CRS = "EPSG:32631"
BANDS = ["S2.B04", "S2.B08"]


def _ground(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Two smooth reflectance bands at map offsets ``rows``, ``cols`` (metres)."""
    wave = np.sin(rows / 13.0) * np.cos(cols / 11.0)
    return np.stack([0.2 + 0.1 * wave, 0.25 - 0.08 * wave]).astype(np.float32)


def test_a_worldstrat_like_pair_is_scored_on_the_resampled_grid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lr_t = Affine(10, 0, 500000, 0, -10, 4000000)
    rows, cols = (np.mgrid[0:24, 0:24] + 0.5) * 10.0
    lr = write_tif(tmp_path / "lr.tif", _ground(rows, cols), lr_t, CRS, descriptions=BANDS)
    # the target starts 12 m east and south of the input's corner: input pixels 2.. are covered
    hr_t = Affine(1.5, 0, 500012, 0, -1.5, 3999988)
    rows, cols = (np.mgrid[0:150, 0:150] + 0.5) * 1.5 + 12
    hr = write_tif(tmp_path / "hr.tif", _ground(rows, cols), hr_t, CRS, descriptions=BANDS)
    bundle = tiny_sr_bundle(tmp_path / "bundle", "sr_edsr", BANDS, scale=7, features=8, blocks=1)
    with pytest.raises(ConfigError, match=r"6\.667 times"):
        evaluate_sr_scene(bundle, lr, hr)
    tiling = TilingOptions(tile=32, overlap=0, batch=1, block=32, multiple=1)  # one tile
    report = evaluate_sr_scene(bundle, lr, hr, tiling=tiling, resample_target=True, border=0)
    assert report["scale"] == 7 and report["resample_target"] is True
    # the zero-initialised tail makes the network bicubic: aligned, the scores are the same
    for metric in ("psnr", "cpsnr"):
        assert report["gain_db"][metric]["mean"] == pytest.approx(0.0, abs=1e-4)
    assert report["model"]["psnr"]["mean"] > 30
    out = tmp_path / "cli.json"
    args = ["evaluate", str(bundle), str(lr), "--target", str(hr), "--out", str(out)]
    assert run_cli([*args, "--resample-target", "--border", "0"], monkeypatch) == 0
    assert json.loads(out.read_text())["resample_target"] is True
