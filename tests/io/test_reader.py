"""The reader: aligned and warped reads, bands by name, radiometry, mosaics, handle cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject
from tests.helpers import coord_image, write_tif

from eoforge.geo import make_grid, sub_grid
from eoforge.io import HandleCache, read, source_from_file
from eoforge.sensors.radiometry import Radiometry

UTM31 = "EPSG:32631"
T31 = Affine(10, 0, 500000, 0, -10, 5600000)


@pytest.fixture()
def stack(tmp_path: Path) -> Path:
    return write_tif(
        tmp_path / "stack.tif",
        coord_image(64, 80, 3),
        T31,
        UTM31,
        descriptions=["S2.B02", "S2.B03", "S2.B04"],
    )


def _grid_of(path: Path):
    with rasterio.open(path) as ds:
        return make_grid((ds.height, ds.width), ds.transform, ds.crs)


def test_aligned_window_equals_slice(stack: Path) -> None:
    grid = sub_grid(_grid_of(stack), 5, 7, 20, 30)
    arr, valid = read(stack, grid, ["S2.B04", "S2.B02"])
    raw = coord_image(64, 80, 3).astype(np.float32)
    assert arr.dtype == np.float32 and arr.shape == (2, 20, 30)
    np.testing.assert_array_equal(arr[0], raw[2, 5:25, 7:37])
    np.testing.assert_array_equal(arr[1], raw[0, 5:25, 7:37])
    assert valid.all()


def test_aliases_resolve_to_the_same_band(stack: Path) -> None:
    grid = sub_grid(_grid_of(stack), 0, 0, 8, 8)
    by_name, _ = read(stack, grid, ["S2.B04"])
    by_alias, _ = read(source_from_file(stack), grid, ["red"])
    np.testing.assert_array_equal(by_name, by_alias)


def test_band_order_in_file_does_not_matter(tmp_path: Path) -> None:
    data = coord_image(16, 16, 3)
    a = write_tif(tmp_path / "a.tif", data, T31, UTM31, descriptions=["S2.B02", "S2.B03", "S2.B04"])
    b = write_tif(
        tmp_path / "b.tif",
        data[::-1].copy(),
        T31,
        UTM31,
        descriptions=["S2.B04", "S2.B03", "S2.B02"],
    )
    grid = _grid_of(a)
    ra, _ = read(a, grid, ["S2.B02", "S2.B04"])
    rb, _ = read(b, grid, ["S2.B02", "S2.B04"])
    np.testing.assert_array_equal(ra, rb)


def test_window_partly_outside_is_invalid_there(stack: Path) -> None:
    grid = sub_grid(_grid_of(stack), -4, 70, 10, 20)
    arr, valid = read(stack, grid, ["S2.B02"], fill=-1)
    assert valid[4:, :10].all() and not valid[:4].any() and not valid[:, 10:].any()
    assert (arr[0][~valid] == -1).all()
    np.testing.assert_array_equal(arr[0, 4:, :10], coord_image(64, 80, 1)[0, 0:6, 70:80])


def test_nodata_scale_offset_applied_once(tmp_path: Path) -> None:
    data = np.full((1, 16, 16), 2000, np.uint16)
    data[0, :2] = 0
    path = write_tif(tmp_path / "s.tif", data, T31, UTM31, nodata=0)
    with rasterio.open(path, "r+") as ds:
        ds.scales = (1e-4,)
        ds.offsets = (-0.1,)
    arr, valid = read(path, _grid_of(path), ["band1"])
    np.testing.assert_allclose(arr[0, 2:], 0.1, atol=1e-6)
    assert not valid[:2].any() and valid[2:].all()
    assert (arr[0, :2] == 0).all()


def test_explicit_radiometry_and_valid_range(tmp_path: Path) -> None:
    data = np.array([[[100, 20000, 5000, 0]]], np.uint16).repeat(4, axis=1)
    path = write_tif(tmp_path / "r.tif", data, T31, UTM31, tiled=False)
    rad = Radiometry(scale=1e-4, offset=-0.1, nodata=0, valid_range=(-0.1, 1.0), unit="reflectance")
    src = source_from_file(path, ["S2.B08"], radiometry=rad)
    arr, valid = read(src, _grid_of(path), ["nir"])
    np.testing.assert_allclose(arr[0, 0, [0, 2]], [-0.09, 0.4], atol=1e-6)
    assert valid[0].tolist() == [True, False, True, False]  # 20000 -> 1.9 out of range; 0 nodata


def _write_in_utm32(path: Path, field: np.ndarray, transform: Affine) -> Path:
    """Reproject a UTM 31N float field to UTM 32N (bilinear, NaN outside) and write it."""
    height, width = field.shape[-2:]
    bounds = rasterio.transform.array_bounds(height, width, transform)
    dst_t, w, h = calculate_default_transform(
        UTM31, "EPSG:32632", width, height, *bounds, resolution=10
    )
    out = np.full((1, h, w), np.nan, np.float32)
    reproject(
        field,
        out,
        src_transform=transform,
        src_crs=UTM31,
        dst_transform=dst_t,
        dst_crs="EPSG:32632",
        resampling=Resampling.bilinear,
        dst_nodata=np.nan,
    )
    return write_tif(path, out, dst_t, "EPSG:32632", nodata=float("nan"), descriptions=["DEM.dsm"])


def test_warped_read_from_another_crs(tmp_path: Path) -> None:
    # A smooth field in UTM 31N, reprojected to UTM 32N on disk, read back onto the 31N grid.
    yy, xx = np.mgrid[0:200, 0:200]
    field = (1000 + 3 * xx + 2 * yy).astype(np.float32)[None]
    t = Affine(10, 0, 690000, 0, -10, 5600000)  # near the zone edge, so 32N is meaningful
    src31 = write_tif(tmp_path / "f31.tif", field, t, UTM31, descriptions=["DEM.dsm"])
    src32 = _write_in_utm32(tmp_path / "f32.tif", field, t)
    grid = sub_grid(_grid_of(src31), 50, 50, 100, 100)
    arr, valid = read(src32, grid, ["DEM.dsm"], resampling="bilinear")
    expected, _ = read(src31, grid, ["DEM.dsm"])
    assert valid.mean() > 0.99
    err = np.abs(arr[0] - expected[0])[valid]
    assert err.mean() < 1.0 and np.percentile(err, 99) < 6.0  # gradient is ~3.6 per pixel


def test_mosaic_across_crss(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:100, 0:200]
    field = (500 + xx + yy).astype(np.float32)[None]
    t = Affine(10, 0, 690000, 0, -10, 5600000)
    left = write_tif(
        tmp_path / "left.tif", field[:, :, :100].copy(), t, UTM31, descriptions=["DEM.dsm"]
    )
    right_half = field[:, :, 100:].copy()
    right = _write_in_utm32(tmp_path / "right.tif", right_half, t @ Affine.translation(100, 0))
    grid = make_grid((100, 200), t, UTM31)
    arr, valid = read([left, right], grid, ["DEM.dsm"])
    assert valid[:, :100].all() and valid[2:-2, 102:-2].all()
    np.testing.assert_array_equal(arr[0, :, :100], field[0, :, :100])
    err = np.abs(arr[0] - field[0])[2:-2, 102:-2]
    assert err.mean() < 1.0


def test_handle_cache_is_bounded(tmp_path: Path) -> None:
    cache = HandleCache(max_open=4)
    paths = [write_tif(tmp_path / f"h{i}.tif", coord_image(8, 8, 1), T31, UTM31) for i in range(10)]
    for p in paths:
        cache.get(str(p))
    assert len(cache) == 4
    first = cache.get(str(paths[-1]))
    assert cache.get(str(paths[-1])) is first
    cache.clear()
    assert len(cache) == 0


def test_a_rewritten_file_is_read_afresh(tmp_path: Path) -> None:
    # A notebook re-exports a raster under the same name: the next read sees the new pixels.
    path = write_tif(tmp_path / "r.tif", np.zeros((1, 8, 8), np.float32), T31, UTM31)
    grid = make_grid((8, 8), T31, UTM31)
    before, _ = read(source_from_file(path), grid, ["band1"])
    write_tif(path, np.full((1, 8, 8), 7, np.float32), T31, UTM31)
    after, _ = read(source_from_file(path), grid, ["band1"])
    assert (before == 0).all() and (after == 7).all()


def test_rgb_colour_interpretation_names_bands(real_data: Path) -> None:
    src = source_from_file(real_data / "rasterio" / "RGBA.uint16.tif")
    assert src.bands == ["RGB.blue", "RGB.green", "RGB.red"]
    assert src.mask_assets  # the alpha band marks valid pixels
    grid = src.grid()
    arr, valid = read(src, grid, ["red", "green", "blue"])
    with rasterio.open(real_data / "rasterio" / "RGBA.uint16.tif") as ds:
        raw = ds.read()
    np.testing.assert_array_equal(arr[0][valid], raw[2][valid])
    np.testing.assert_array_equal(valid, raw[3] > 0)


def test_mosaic_of_tiles_equals_the_whole(real_data: Path) -> None:
    folder = real_data / "rasterio"
    whole = source_from_file(folder / "RGB.byte.tif")
    tiles = [source_from_file(folder / f"rgb{i}.tif") for i in range(1, 5)]
    grid = whole.grid()
    expected, ev = read(whole, grid, ["red", "green", "blue"])
    got, gv = read(tiles, grid, ["red", "green", "blue"])
    np.testing.assert_array_equal(gv, ev)
    np.testing.assert_array_equal(got, expected)
    # and a region straddling all four tiles
    region = sub_grid(grid, 300, 350, 200, 120)
    e2, _ = read(whole, region, ["RGB.green"])
    g2, _ = read(tiles, region, ["RGB.green"])
    np.testing.assert_array_equal(g2, e2)


def test_mosaic_earlier_source_wins_and_later_fills_its_holes(tmp_path: Path) -> None:
    first = np.full((2, 16, 16), 10, np.uint16)
    first[:, :4, :] = 0  # a strip of nodata
    first[1, 8, 8] = 0  # a hole in one band only
    second = np.full((2, 16, 16), 20, np.uint16)
    a = write_tif(
        tmp_path / "a.tif", first, T31, UTM31, nodata=0, descriptions=["S2.B02", "S2.B03"]
    )
    b = write_tif(
        tmp_path / "b.tif", second, T31, UTM31, nodata=0, descriptions=["S2.B02", "S2.B03"]
    )
    grid = _grid_of(a)
    arr, valid = read([a, b], grid, ["S2.B02", "S2.B03"])
    assert valid.all()
    assert (arr[:, :4] == 20).all() and (arr[:, 4:8] == 10).all()
    assert arr[1, 8, 8] == 20 and arr[0, 8, 8] == 10
    alone, alone_valid = read(a, grid, ["S2.B02", "S2.B03"], fill=-5)
    assert not alone_valid[:4].any() and not alone_valid[8, 8] and alone_valid.sum() == 16 * 12 - 1
    assert (alone[:, :4] == -5).all() and alone[1, 8, 8] == -5 and alone[0, 8, 8] == 10


def test_read_into_a_given_array(stack: Path) -> None:
    grid = sub_grid(_grid_of(stack), 2, 3, 16, 16)
    expected, _ = read(stack, grid, ["S2.B04", "S2.B02"])
    out = np.full((2, 16, 16), -1, np.float32)
    got, valid = read(stack, grid, ["S2.B04", "S2.B02"], out=out)
    assert got is out and valid.all()
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="float32"):
        read(stack, grid, ["S2.B04"], out=np.zeros((2, 16, 16), np.float32))
