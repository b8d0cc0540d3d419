"""Sentinel-1 calibration: LUTs read and interpolated exactly, DN to sigma0/beta0/gamma0 with
and without thermal noise, geocoding by GCPs, dB, resume, and the refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from tests.sar.safe_fixture import (
    DLAT,
    DLON,
    HEIGHT,
    LAT0,
    LON0,
    PRODUCT,
    WIDTH,
    dn_image,
    noise_power,
    sigma_lut,
    stem,
    write_safe,
)

from eoforge.errors import ConfigError, MetadataError, NotGeoreferencedError, RadiometryError
from eoforge.io.products import sources_from_band_files
from eoforge.io.source import source_from_file
from eoforge.sar import calibrate_product, find_measurements, parse_calibration, parse_noise
from eoforge.sar.calibration import NOISE_FLOOR, calibrate_block

ROWS = np.arange(HEIGHT, dtype=np.float64)
COLS = np.arange(WIDTH, dtype=np.float64)


def test_luts_interpolate_bilinearly_between_vectors(tmp_path: Path) -> None:
    safe = write_safe(tmp_path)
    annotations = safe / "annotation" / "calibration"
    calibration = parse_calibration(annotations / f"calibration-{stem('VV')}.xml")
    assert calibration.constant == 1.0
    np.testing.assert_allclose(calibration.block("sigma0", ROWS, COLS), sigma_lut(ROWS, COLS))
    np.testing.assert_allclose(calibration.block("beta0", ROWS[:7], COLS), 400.0)
    np.testing.assert_allclose(
        calibration.block("gamma0", ROWS[50:60], COLS), 0.9 * sigma_lut(ROWS[50:60], COLS)
    )
    noise = parse_noise(annotations / f"noise-{stem('VV')}.xml")
    np.testing.assert_allclose(noise.block(ROWS, COLS), noise_power(ROWS, COLS))


def test_calibrated_values_are_dn_squared_over_a_squared_minus_noise() -> None:
    dn = np.array([[0, 10, 100]], np.uint16)
    a = np.full((1, 3), 20.0)
    np.testing.assert_allclose(calibrate_block(dn, a), [[0.0, 0.25, 25.0]])
    noise = np.full((1, 3), 150.0)  # above 10^2: floored, still valid (not 0 = nodata)
    np.testing.assert_allclose(
        calibrate_block(dn, a, noise), [[0.0, NOISE_FLOOR, (10000 - 150) / 400]], rtol=1e-6
    )


def test_a_product_in_radar_geometry_matches_the_formula(tmp_path: Path) -> None:
    safe = write_safe(tmp_path)
    written = calibrate_product(safe, tmp_path / "out", geocode=False)
    assert [p.name for p in written] == [f"{PRODUCT}_VH.tif", f"{PRODUCT}_VV.tif"]
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left
    with rasterio.open(written[1]) as ds:
        got = ds.read(1)
        assert ds.gcps[0] and ds.descriptions == ("S1.VV",)
        assert ds.tags()["EOFORGE_SAR_QUANTITY"] == "sigma0" and ds.nodata == 0
    power = dn_image("VV").astype(np.float64) ** 2
    expected = np.maximum(power - noise_power(ROWS, COLS), NOISE_FLOOR * sigma_lut(ROWS, COLS) ** 2)
    expected = np.where(power == 0, 0.0, expected / sigma_lut(ROWS, COLS) ** 2)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    beta = calibrate_product(
        safe,
        tmp_path / "beta",
        quantity="beta0",
        denoise=False,
        geocode=False,
        polarisations=["vh"],
    )
    with rasterio.open(beta[0]) as ds:
        np.testing.assert_allclose(
            ds.read(1), dn_image("VH").astype(np.float64) ** 2 / 400.0**2, rtol=1e-6
        )


def test_geocoded_product_lands_on_utm_at_10_m_and_reads_as_s1_bands(tmp_path: Path) -> None:
    safe = write_safe(tmp_path)
    linear = calibrate_product(safe / "manifest.safe", tmp_path / "lin", polarisations=["VV"])[0]
    db = calibrate_product(safe, tmp_path / "db", db=True, polarisations=["VV"])[0]
    with rasterio.open(linear) as ds:
        assert ds.crs.to_epsg() == 32631 and ds.res == (10.0, 10.0)
        to_utm = Transformer.from_crs(4326, ds.crs, always_xy=True)
        # the bright block's centre (row 100, col 160) and the background (row 20, col 40)
        values = {}
        for row, col in [(100, 160), (20, 40)]:
            x, y = to_utm.transform(LON0 + (col + 0.5) * DLON, LAT0 - (row + 0.5) * DLAT)
            r, c = ds.index(x, y)
            values[(row, col)] = float(ds.read(1)[r, c])
        grid = ds.read(1)
    radar = calibrate_product(safe, tmp_path / "radar", geocode=False, polarisations=["VV"])[0]
    with rasterio.open(radar) as ds:
        truth = ds.read(1)
    for (row, col), value in values.items():
        assert value == pytest.approx(float(truth[row, col]), rel=0.03)
    with rasterio.open(db) as ds:
        got_db = ds.read(1)
        assert np.isnan(ds.nodata) and ds.tags()["EOFORGE_SAR_UNIT"] == "dB"
    valid = grid > 0
    np.testing.assert_allclose(got_db[valid], 10 * np.log10(grid[valid]), rtol=1e-5, atol=1e-4)
    assert np.isnan(got_db[~valid]).all()
    assert source_from_file(linear).bands == ["S1.VV"]
    (product,), unknown = sources_from_band_files([linear])
    assert not unknown and product.sensor == "S1" and product.bands == ["S1.VV"]
    assert product.datetime is not None and product.datetime.date().isoformat() == "2024-01-01"


def test_a_rerun_keeps_finished_outputs(tmp_path: Path) -> None:
    safe = write_safe(tmp_path, pols=("VV",))
    first = calibrate_product(safe, tmp_path / "out", geocode=False)[0]
    stamp = first.stat().st_mtime_ns
    assert calibrate_product(safe, tmp_path / "out", geocode=False) == [first]
    assert first.stat().st_mtime_ns == stamp


def test_raw_numbers_and_missing_annotations_are_refused_with_the_fix(tmp_path: Path) -> None:
    safe = write_safe(tmp_path, pols=("VV",))
    measurement = safe / "measurement" / f"{stem('VV')}.tiff"
    with pytest.raises(RadiometryError, match="digital numbers") as caught:
        source_from_file(measurement)
    assert "eoforge calibrate" in str(caught.value)
    with pytest.raises(NotGeoreferencedError, match="ground control points"):  # raw, as asked
        source_from_file(measurement, calibrate=False)
    (safe / "annotation" / "calibration" / f"calibration-{stem('VV')}.xml").unlink()
    with pytest.raises(RadiometryError, match=r"calibration file .*calibration-s1a.* is missing"):
        source_from_file(measurement)
    with pytest.raises(RadiometryError, match="calibration annotation is missing"):
        find_measurements(safe)
    no_noise = write_safe(tmp_path / "n", pols=("VH",), noise=False)
    with pytest.raises(RadiometryError, match="--no-denoise"):
        calibrate_product(no_noise, tmp_path / "x")
    assert calibrate_product(no_noise, tmp_path / "x", denoise=False, geocode=False)
    with pytest.raises(ConfigError, match="polarisation"):
        find_measurements(no_noise, polarisations=["HH"])
    slc = write_safe(tmp_path / "slc", pols=("VV",), kind="slc")
    with pytest.raises(MetadataError, match="Single Look Complex"):
        find_measurements(slc)
    with pytest.raises(MetadataError, match="no Sentinel-1 measurement"):
        find_measurements(tmp_path / "slc")
    with pytest.raises(ConfigError, match="quantity"):
        calibrate_product(no_noise, tmp_path / "y", quantity="sigma", denoise=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="as a CRS"):
        calibrate_product(no_noise, tmp_path / "z", crs="EPSG:not-a-code", denoise=False)
