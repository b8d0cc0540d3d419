"""Spectral indices named as bands (``ASI.NDVI``): computed from the stored bands when read,
so configs, bundles and whole-scene prediction can ask for them like any band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from tests.helpers import write_tif

from eoforge.errors import BandNotFoundError
from eoforge.geo.grid import make_grid
from eoforge.io import read
from eoforge.io.derived import uncomputable
from eoforge.io.source import source_from_file
from eoforge.sensors import get_band

T = Affine(10, 0, 600000, 0, -10, 5700000)


def _scene(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(0)
    dn = rng.integers(100, 5000, (3, 16, 20)).astype(np.uint16)
    dn[2, 3, 4] = 0  # nodata in B08
    names = ["S2.B03", "S2.B04", "S2.B08"]
    return write_tif(tmp_path / "s2.tif", dn, T, "EPSG:32631", nodata=0, descriptions=names), dn


def test_an_index_band_is_computed_from_the_stored_bands(tmp_path: Path) -> None:
    path, dn = _scene(tmp_path)
    source = source_from_file(path, level="L1C", sensor="S2")
    grid = make_grid((16, 20), T, "EPSG:32631")
    got, valid = read(source, grid, ["ASI.NDVI", "S2.B04", "asi.ndwi"])
    refl = dn.astype(np.float64) / 10000
    green, red, nir = refl
    ndvi, ndwi = (nir - red) / (nir + red), (green - nir) / (green + nir)
    assert not valid[3, 4] and valid.sum() == 16 * 20 - 1
    np.testing.assert_allclose(got[0][valid], ndvi[valid], atol=1e-6)
    np.testing.assert_allclose(got[1][valid], red[valid], rtol=1e-6)
    np.testing.assert_allclose(got[2][valid], ndwi[valid], atol=1e-6)
    assert get_band("asi.ndvi").name == "ASI.NDVI"


def test_an_index_whose_bands_are_missing_is_refused_by_name(tmp_path: Path) -> None:
    path, _ = _scene(tmp_path)
    grid = make_grid((16, 20), T, "EPSG:32631")
    with pytest.raises(
        BandNotFoundError, match=r"ASI.NBR cannot be computed.*swir22, 2080-2350 nm"
    ):
        read(source_from_file(path), grid, ["ASI.NBR"])
    with pytest.raises(BandNotFoundError, match=r"no index .NDVX.*ASI.NDVI"):
        read(source_from_file(path), grid, ["ASI.NDVX"])


def test_which_indices_the_stored_bands_cannot_give(tmp_path: Path) -> None:
    path, _ = _scene(tmp_path)
    source = source_from_file(path)
    bands = ["S2.B04", "ASI.NDVI", "ASI.NBR", "ASI.NDWI"]
    assert uncomputable([source], bands) == ["ASI.NBR"]  # no SWIR among B03, B04, B08
    assert uncomputable([source], ["S2.B04"]) == []
