"""eoforge evaluate --reference: a reference-guided SR bundle scored on a small synthetic pair,
its reference read on the output grid (the scores move with the reference), and refused
without one or without --target."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from tests.evaluate.sr_bundles import tiny_sr_bundle
from tests.helpers import run_cli, write_tif

CRS = "EPSG:32631"
BANDS = ["S2.B04", "S2.B08"]


def _ground(size: int, pixel: float) -> np.ndarray:
    """Two reflectance bands with detail finer than 10 m, sampled at ``pixel`` metres."""
    rows, cols = (np.mgrid[0:size, 0:size] + 0.5) * pixel
    wave = np.sin(rows / 7.0) * np.cos(cols / 5.0)
    return np.stack([0.2 + 0.1 * wave, 0.25 - 0.08 * wave]).astype(np.float32)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sr_reference_eval")
    lr_t, hr_t = Affine(10, 0, 500000, 0, -10, 4000000), Affine(2.5, 0, 500000, 0, -2.5, 4000000)
    hr = _ground(96, 2.5)
    lr = hr.reshape(2, 24, 4, 24, 4).mean(axis=(2, 4))  # the 10 m view of the same ground
    rng = np.random.default_rng(0)
    other = (0.2 + 0.05 * rng.standard_normal(hr.shape)).astype(np.float32)  # another place
    bundle = tiny_sr_bundle(
        root / "bundle", "sr_reference", BANDS, scale=4, features=8, blocks=1, ref_blocks=1
    )
    return {
        "bundle": bundle,
        "lr": write_tif(root / "lr.tif", lr, lr_t, CRS, descriptions=BANDS),
        "hr": write_tif(root / "hr.tif", hr, hr_t, CRS, descriptions=BANDS),
        "same": write_tif(root / "ref_same.tif", hr, hr_t, CRS, descriptions=BANDS),
        "other": write_tif(root / "ref_other.tif", other, hr_t, CRS, descriptions=BANDS),
    }


def test_evaluate_reads_the_reference_of_a_reference_guided_bundle(
    pair: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["evaluate", str(pair["bundle"]), str(pair["lr"]), "--target", str(pair["hr"])]
    reports = {}
    for name in ("same", "other"):
        out = tmp_path / f"{name}.json"
        cli = [*args, "--reference", str(pair[name]), "--out", str(out), "--border", "0"]
        assert run_cli(cli, monkeypatch) == 0
        reports[name] = json.loads(out.read_text())
        assert reports[name]["reference"] == str(pair[name])
        assert np.isfinite(reports[name]["model"]["psnr"]["mean"])
    same, other = (reports[n]["model"]["psnr"]["mean"] for n in ("same", "other"))
    assert abs(same - other) > 0.1  # the reference reaches the model
    # bicubic does not read the reference: the same baseline both times
    assert reports["same"]["bicubic"] == reports["other"]["bicubic"]


def test_a_missing_or_misplaced_reference_is_refused(
    pair: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["evaluate", str(pair["bundle"]), str(pair["lr"])]
    out = ["--out", str(tmp_path / "x.json")]
    assert run_cli([*args, "--target", str(pair["hr"]), *out], monkeypatch) == 2
    assert "--reference REF.tif" in capsys.readouterr().err  # the bundle needs one
    assert run_cli([*args, "--reference", str(pair["same"]), *out], monkeypatch) == 2
    assert "--reference goes with --target" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
