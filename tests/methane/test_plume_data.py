"""Plume segmentation granules: features named for the registry, the truth mask, reuse, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from eoforge.catalog import Catalog
from eoforge.cli.main import main
from eoforge.errors import ConfigError
from eoforge.methane.plume_data import (
    FEATURE_BANDS,
    build_plume_granule,
    radiance_means,
    write_features,
)
from eoforge.synth.hyperspectral import HyperspectralOptions

OPTIONS = HyperspectralOptions(height=80, width=80, seed=3, bands=80, plumes=2)


@pytest.fixture(scope="module")
def granule_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plume_granule") / "g"
    build_plume_granule(folder, OPTIONS, keep_radiance=True)
    return folder


def test_features_and_mask_are_what_a_segmentation_config_reads(granule_dir: Path) -> None:
    catalog = Catalog.from_paths([granule_dir], progress=False)
    kinds = {Path(e.path).name: (e.kind, list(e.bands)) for e in catalog}
    assert kinds["features.tif"] == ("image", list(FEATURE_BANDS))
    assert kinds["plume_mask.tif"] == ("label_raster", ["plume"])
    with rasterio.open(granule_dir / "enhancement.tif") as src:
        truth = src.read(1)
    with rasterio.open(granule_dir / "plume_mask.tif") as src:
        assert src.dtypes[0] == "uint8"
        mask = src.read(1)
    np.testing.assert_array_equal(mask, (truth >= 500.0).astype(np.uint8))
    assert 0 < mask.mean() < 0.5
    with rasterio.open(granule_dir / "features.tif") as src:
        assert src.count == 4 and src.crs is not None and src.res == (30.0, 30.0)
        mf, swir_2150, swir_2335, nir = src.read().astype(np.float64)
    plume = truth >= 200.0
    # the matched filter sees the plumes: well correlated with the truth on plume pixels
    assert np.corrcoef(mf[plume], truth[plume])[0, 1] > 0.6
    assert np.median(mf[truth < 1.0]) == pytest.approx(0.0, abs=150.0)
    # radiance means are positive, and CH4 absorbs in 2,290-2,380 nm more than 2,100-2,200 nm
    assert (swir_2150 > 0).all() and (nir > 0).all()
    ratio = swir_2335 / swir_2150
    assert np.median(ratio[truth >= 2000.0]) < np.median(ratio[truth < 1.0])
    record = json.loads((granule_dir / "plume_granule.json").read_text())
    assert record["mask_ppm_m"] == 500.0 and record["feature_bands"] == list(FEATURE_BANDS)
    assert record["filter_summary"]["units"] == "ppm m"


def test_the_cli_writes_the_same_features_from_a_cube(
    granule_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cube = str(granule_dir / "radiance.tif")
    monkeypatch.setattr(
        sys, "argv", ["eoforge", "methane", cube, "--out", str(tmp_path), "--features"]
    )
    main()
    with rasterio.open(tmp_path / "radiance_features.tif") as src:
        assert list(src.descriptions) == list(FEATURE_BANDS)
        written = src.read()
    with rasterio.open(granule_dir / "features.tif") as src:
        np.testing.assert_array_equal(written, src.read())


@pytest.mark.slow  # two more granules rendered and filtered (~5 s under load)
def test_the_same_granule_is_reused_and_another_threshold_rebuilds_it(granule_dir: Path) -> None:
    stamp = (granule_dir / "features.tif").stat().st_mtime_ns
    build_plume_granule(granule_dir, OPTIONS, keep_radiance=True)
    assert (granule_dir / "features.tif").stat().st_mtime_ns == stamp
    again = build_plume_granule(granule_dir, OPTIONS, mask_ppm_m=1000.0)
    assert not (granule_dir / "radiance.tif").exists()  # deleted: ~20x the rest
    assert not (granule_dir / "ch4").exists()
    with rasterio.open(again.truth) as src:
        truth = src.read(1)
    with rasterio.open(again.mask) as src:
        np.testing.assert_array_equal(src.read(1), (truth >= 1000.0).astype(np.uint8))
    assert json.loads((granule_dir / "plume_granule.json").read_text())["mask_ppm_m"] == 1000.0
    build_plume_granule(granule_dir, OPTIONS, keep_radiance=True)  # the fixture's granule


def test_features_refuse_an_enhancement_of_another_grid(granule_dir: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.tif"
    with rasterio.open(granule_dir / "features.tif") as src:
        profile = {**src.profile, "count": 1, "height": 16, "width": 16}
        for key in ("blockxsize", "blockysize"):
            profile.pop(key, None)
        profile.update(driver="GTiff", tiled=False)
    with rasterio.open(small, "w", **profile) as dst:
        dst.write(np.zeros((1, 16, 16), np.float32))
    with pytest.raises(ConfigError, match="for this cube") as error:
        write_features(granule_dir / "radiance.tif", small, tmp_path / "f.tif")
    assert error.value.path == str(small)


def test_a_cube_without_swir_channels_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vnir.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        dtype="float32",
        count=20,
        height=8,
        width=8,
        crs="EPSG:32631",
        transform=Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4600000.0),
    ) as dst:
        dst.write(np.ones((20, 8, 8), np.float32))
        for i, centre in enumerate(np.linspace(400.0, 1000.0, 20), start=1):
            dst.update_tags(i, wavelength=f"{centre:.2f}", fwhm="30")
        dst.update_tags(quantity="radiance", wavelength_units="nm")
    with pytest.raises(ConfigError, match="840-2,380 nm") as error:
        radiance_means(path)
    assert "2100-2200 nm" in error.value.reason
