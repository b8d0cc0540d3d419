"""Cube metadata the matched filter needs: wavelengths, units, quantity, CH4 window coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from eoforge.errors import ConfigError, MetadataError, MissingFileError
from eoforge.methane.cube import open_cube


def _write(
    path: Path,
    centers: np.ndarray,
    *,
    band_tags: bool = True,
    envi: bool = False,
    units: str = "nm",
    tags: dict[str, str] | None = None,
) -> Path:
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": centers.size,
        "height": 8,
        "width": 8,
        "crs": "EPSG:32631",
        "transform": Affine(30.0, 0, 500000.0, 0, -30.0, 4600000.0),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones((centers.size, 8, 8), dtype=np.float32))
        if band_tags:
            for i, c in enumerate(centers, start=1):
                dst.update_tags(i, wavelength=f"{c:g}", fwhm="9")
        if envi:
            dst.update_tags(ns="ENVI", wavelength="{" + ", ".join(f"{c:g}" for c in centers) + "}")
        dst.update_tags(wavelength_units=units, **(tags or {}))
    return path


SWIR = np.linspace(2000.0, 2500.0, 40)


def test_band_tags_envi_lists_and_micrometres(tmp_path: Path) -> None:
    cube = open_cube(_write(tmp_path / "a.tif", SWIR, tags={"quantity": "radiance"}))
    np.testing.assert_allclose(cube.centers_nm, SWIR, rtol=1e-5)
    assert np.all(cube.fwhm_nm == 9.0) and cube.quantity == "radiance"
    assert len(cube.window_bands()) == int(((SWIR >= 2100) & (SWIR <= 2450)).sum())
    envi = open_cube(
        _write(tmp_path / "b.tif", SWIR / 1000.0, band_tags=False, envi=True, units="Micrometers"),
        quantity="radiance",
    )
    np.testing.assert_allclose(envi.centers_nm, SWIR, rtol=1e-5)
    # no FWHM given: the sampling interval
    assert envi.fwhm_nm[5] == pytest.approx(SWIR[1] - SWIR[0], rel=1e-4)
    units = open_cube(_write(tmp_path / "c.tif", SWIR, tags={"units": "uW cm-2 sr-1 nm-1"}))
    assert units.quantity == "radiance"


def test_a_cube_without_wavelengths_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path / "plain.tif", SWIR, band_tags=False)
    with pytest.raises(MetadataError, match="carry no wavelength") as info:
        open_cube(path, quantity="radiance")
    assert "plain.tif" in str(info.value) and "Fix:" in str(info.value)
    with pytest.raises(MissingFileError):
        open_cube(tmp_path / "none.tif")


def test_reflectance_is_refused_unless_asked_for(tmp_path: Path) -> None:
    path = _write(tmp_path / "l2a.tif", SWIR, tags={"quantity": "reflectance"})
    with pytest.raises(ConfigError, match="expects at-sensor radiance") as info:
        open_cube(path)
    assert "--quantity reflectance" in str(info.value)
    assert open_cube(path, quantity="reflectance").quantity == "reflectance"
    with pytest.raises(MetadataError, match="holds reflectance, but radiance"):
        open_cube(path, quantity="radiance")
    untagged = _write(tmp_path / "untagged.tif", SWIR)
    with pytest.raises(ConfigError, match="radiance or reflectance"):
        open_cube(untagged)


def test_bands_outside_the_ch4_window_are_refused(tmp_path: Path) -> None:
    vnir = np.linspace(400.0, 1000.0, 60)
    cube = open_cube(_write(tmp_path / "vnir.tif", vnir, tags={"quantity": "radiance"}))
    with pytest.raises(ConfigError, match="0 band\\(s\\) are centred in the CH4 window") as info:
        cube.window_bands()
    assert "400-1000 nm" in str(info.value) and "vnir.tif" in str(info.value)
