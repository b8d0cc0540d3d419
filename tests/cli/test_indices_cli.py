"""``eoforge indices``: catalogue indices of a whole scene, named bands, nodata kept, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from tests.cli.test_info import run_main
from tests.helpers import write_tif

T = Affine(10, 0, 600000, 0, -10, 5700000)
BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def test_index_maps_of_a_whole_scene(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    image = (0.02 + 0.5 * rng.random((4, 130, 150))).astype(np.float32)
    image[:, 10:20, 30:40] = np.nan
    scene = write_tif(
        tmp_path / "s2.tif", image, T, "EPSG:32631", nodata=np.nan, descriptions=BANDS
    )
    args = ["indices", str(scene), "--index", "NDVI,evi", "--out", str(tmp_path / "maps")]
    code, out, err = run_main([*args, "--tile", "64", "--block", "128"], capsys, monkeypatch)
    assert code == 0, err
    written = tmp_path / "maps" / "s2_indices.tif"
    assert f"wrote {written}" in " ".join(out.split())
    with rasterio.open(written) as ds:
        assert ds.descriptions == ("NDVI", "evi") and ds.transform == T
        got = ds.read()
    b, r, n = image[0], image[2], image[3]
    np.testing.assert_allclose(got[0], (n - r) / (n + r), rtol=1e-5)
    np.testing.assert_allclose(got[1], 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1), rtol=1e-4)
    assert np.isnan(got[:, 10:20, 30:40]).all()


def test_an_index_whose_band_the_scene_lacks_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = np.full((4, 64, 64), 0.2, np.float32)
    scene = write_tif(tmp_path / "s2.tif", image, T, "EPSG:32631", descriptions=BANDS)
    code, _, err = run_main(["indices", str(scene), "--index", "NBR"], capsys, monkeypatch)
    assert code == 2
    assert "index NBR needs band S2 (swir22" in " ".join(err.split())
