"""``eoforge calibrate``: a SAFE folder to sigma0 COGs, with the refusal's fix on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio
from tests.cli.test_info import run_main
from tests.sar.safe_fixture import PRODUCT, stem, write_safe


def test_calibrate_writes_one_cog_per_polarisation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    safe = write_safe(tmp_path)
    args = ["calibrate", str(safe), "--out", str(tmp_path / "out"), "--quantity", "gamma0"]
    code, out, err = run_main([*args, "--db", "--crs", "EPSG:32631"], capsys, monkeypatch)
    assert code == 0, err
    for pol in ("VH", "VV"):
        written = tmp_path / "out" / f"{PRODUCT}_{pol}.tif"
        assert f"wrote {written}" in " ".join(out.split())
        with rasterio.open(written) as ds:
            assert ds.crs.to_epsg() == 32631 and ds.tags()["EOFORGE_SAR_QUANTITY"] == "gamma0"


def test_calibrate_names_the_missing_annotation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    safe = write_safe(tmp_path, pols=("VV",), noise=False)
    code, _, err = run_main(
        ["calibrate", str(safe), "--out", str(tmp_path / "o")], capsys, monkeypatch
    )
    text = " ".join(err.split())
    assert code == 2 and f"noise-{stem('VV')}.xml" in text.replace(" ", "")
    assert "--no-denoise" in text and "Traceback" not in err
