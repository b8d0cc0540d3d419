"""``eoforge despeckle``: a tiled whole scene equals the filter on the whole image, nodata
stays put, dB is refused with its fix or converted, and the command says what it wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from tests.cli.test_info import run_main
from tests.helpers import write_tif

from eoforge.transforms.speckle import SpeckleFilter

T = Affine(10, 0, 600000, 0, -10, 5700000)
BANDS = ["S1.VV", "S1.VH"]


def _scene(path: Path, db: bool = False) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(0)
    truth = np.full((2, 150, 170), 0.05, np.float32)
    truth[:, 40:110, 60:140] = 0.4  # a bright field: two edges per axis
    truth[1] *= 0.2  # VH below VV
    image = (truth * rng.gamma(4.4, 1 / 4.4, truth.shape)).astype(np.float32)
    image[:, 70:78, 10:30] = np.nan  # nodata
    if db:
        image = 10 * np.log10(image)
    return write_tif(path, image, T, "EPSG:32631", nodata=np.nan, descriptions=BANDS), image


@pytest.mark.parametrize("name", ["refined_lee", "gamma_map"])
def test_a_tiled_scene_equals_the_filter_on_the_whole_image(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scene, image = _scene(tmp_path / "s1.tif")
    args = ["despeckle", str(scene), "--out", str(tmp_path / "out"), "--filter", name]
    code, out, err = run_main([*args, "--tile", "64", "--block", "128"], capsys, monkeypatch)
    assert code == 0, err
    written = tmp_path / "out" / "s1_despeckled.tif"
    assert f"wrote {written}" in " ".join(out.split())
    with rasterio.open(written) as ds:
        assert ds.descriptions == tuple(BANDS) and ds.transform == T and ds.dtypes[0] == "float32"
        got = ds.read()
    whole = SpeckleFilter(name, 7, 4.4)(torch.from_numpy(image)[None])[0].numpy()
    np.testing.assert_allclose(got, whole, rtol=1e-5, atol=1e-7)  # every seam included
    assert np.isnan(got[:, 70:78, 10:30]).all() and np.isfinite(got[:, :70]).all()
    assert got[0, 50:100, 70:130].std() < 0.6 * image[0, 50:100, 70:130].std()  # smoother


def test_db_bands_are_refused_with_the_fix_or_filtered_with_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scene, image = _scene(tmp_path / "db.tif", db=True)
    args = ["despeckle", str(scene), "--out", str(tmp_path / "out"), "--tile", "64"]
    code, _, err = run_main(args, capsys, monkeypatch)
    assert code == 2
    assert "looks like dB" in err and "--db" in err and "Traceback" not in err
    assert not list((tmp_path / "out").glob("*.tif"))  # nothing half-written
    code, _, err = run_main([*args, "--db", "--filter", "lee"], capsys, monkeypatch)
    assert code == 0, err
    with rasterio.open(tmp_path / "out" / "db_despeckled.tif") as ds:
        got = ds.read()
    linear = torch.from_numpy(10 ** (image / 10))[None]
    expected = 10 * np.log10(SpeckleFilter("lee", 7, 4.4)(linear)[0].numpy())
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
