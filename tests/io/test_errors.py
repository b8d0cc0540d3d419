"""Bad input gives eoforge errors that name the file and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from tests.helpers import coord_image, write_tif

from eoforge.errors import (
    BandNotFoundError,
    CRSMismatchError,
    EmptyFileError,
    MissingFileError,
    NotGeoreferencedError,
    OutsideSourcesError,
    UnreadableFileError,
    UnsupportedDtypeError,
)
from eoforge.geo import make_grid, sub_grid
from eoforge.io import read, source_from_file

T31 = Affine(10, 0, 500000, 0, -10, 5600000)
GRID = make_grid((32, 32), T31, "EPSG:32631")


def _assert_names_file_and_fix(exc: pytest.ExceptionInfo[Exception], path: Path) -> None:
    text = str(exc.value)
    assert str(path) in text
    assert "Fix:" in text


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.tif"
    with pytest.raises(MissingFileError) as exc:
        read(path, GRID, ["band1"])
    _assert_names_file_and_fix(exc, path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.tif"
    path.touch()
    with pytest.raises(EmptyFileError) as exc:
        read(path, GRID, ["band1"])
    _assert_names_file_and_fix(exc, path)
    assert "0 bytes" in str(exc.value)


def test_not_a_raster(tmp_path: Path) -> None:
    path = tmp_path / "notes.tif"
    path.write_text("this is not a GeoTIFF\n" * 20)
    with pytest.raises(UnreadableFileError) as exc:
        read(path, GRID, ["band1"])
    _assert_names_file_and_fix(exc, path)


def test_truncated_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = rng.integers(0, 60000, (2, 256, 256), dtype=np.uint16)
    path = write_tif(
        tmp_path / "cut.tif",
        data,
        T31,
        "EPSG:32631",
        compress="deflate",
        blockxsize=64,
        blockysize=64,
    )
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    grid = make_grid((256, 256), T31, "EPSG:32631")
    with pytest.raises(UnreadableFileError) as exc:
        read(path, grid, ["band1", "band2"])
    _assert_names_file_and_fix(exc, path)


def test_raster_without_crs(tmp_path: Path) -> None:
    path = tmp_path / "plain.tif"
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8") as ds:
        ds.write(np.ones((1, 8, 8), np.uint8))
    with pytest.raises(NotGeoreferencedError) as exc:
        read(path, GRID, ["band1"])
    _assert_names_file_and_fix(exc, path)


def test_request_outside_every_source(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "a.tif", coord_image(16, 16, 1), T31, "EPSG:32631")
    far = sub_grid(GRID, 5000, 5000, 16, 16)
    with pytest.raises(OutsideSourcesError) as exc:
        read(path, far, ["band1"])
    _assert_names_file_and_fix(exc, path)
    assert "EPSG:32631" in str(exc.value)
    far_other_crs = make_grid((16, 16), Affine(10, 0, 300000, 0, -10, 1000000), "EPSG:32632")
    with pytest.raises(OutsideSourcesError):
        read(path, far_other_crs, ["band1"])


def test_band_no_source_provides_lists_those_available(tmp_path: Path) -> None:
    path = write_tif(
        tmp_path / "s2.tif",
        coord_image(16, 16, 2),
        T31,
        "EPSG:32631",
        descriptions=["S2.B04", "S2.B08"],
    )
    with pytest.raises(BandNotFoundError) as exc:
        read(path, GRID, ["S2.B11"])
    text = str(exc.value)
    assert "S2.B11" in text and "S2.B04" in text and "S2.B08" in text and "Fix:" in text


def test_crs_that_cannot_be_reprojected(tmp_path: Path) -> None:
    path = tmp_path / "local.tif"
    local = CRS.from_wkt(
        'LOCAL_CS["site grid",LOCAL_DATUM["none",32767],UNIT["metre",1],'
        'AXIS["X",EAST],AXIS["Y",NORTH]]'
    )
    write_tif(path, coord_image(16, 16, 1), Affine(1, 0, 0, 0, -1, 16), local)
    with pytest.raises(CRSMismatchError) as exc:
        read(path, GRID, ["band1"])
    _assert_names_file_and_fix(exc, path)


def test_complex_sar_needs_a_conversion(tmp_path: Path) -> None:
    data = (np.full((1, 16, 16), 3, np.float32) + 4j * np.ones((1, 16, 16), np.float32)).astype(
        np.complex64
    )
    path = write_tif(tmp_path / "slc.tif", data, T31, "EPSG:32631")
    with pytest.raises(UnsupportedDtypeError) as exc:
        source_from_file(path)
    _assert_names_file_and_fix(exc, path)
    assert "complex_mode" in str(exc.value)
    src = source_from_file(path, ["S1.VV"], complex_mode="db")
    arr, valid = read(src, make_grid((16, 16), T31, "EPSG:32631"), ["S1.VV"])
    np.testing.assert_allclose(arr, 10 * np.log10(25.0), rtol=1e-6)  # |3+4j|^2 = 25
    assert valid.all()
