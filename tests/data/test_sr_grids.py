"""Targets whose pixel is not a whole fraction of the input's (WorldStrat: 10 m over 1.5 m):
refused by default with the files, the ratio and the option named; with
``resample_target`` put on the input's grid / round(ratio) (cubic when refining, area average
when coarsening), the input cropped to the pixels the target covers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from tests.helpers import write_tif

from eoforge.data.sr_grids import target_grid
from eoforge.data.sr_pairs import read_sr_pair
from eoforge.errors import ConfigError

CRS = "EPSG:32631"
X0, Y0 = 500000.0, 4000000.0
BANDS = ["S2.B04", "S2.B08"]


def ramp(transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """Two bands of linear reflectance ramps in map coordinates, at pixel centres."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    x, y = transform @ (cols, rows)
    b4 = 0.1 + 0.001 * (x - X0) + 0.0005 * (Y0 - y)
    b8 = 0.3 - 0.0007 * (x - X0) + 0.001 * (Y0 - y)
    return np.stack([b4, b8]).astype(np.float32)


def pair(
    tmp: Path, hr_pixel: float, hr_shape: tuple[int, int], shift: tuple[float, float] = (0, 0)
) -> tuple[Path, Path]:
    """A 12 x 12 input at 10 m and a ramp target at ``hr_pixel`` (origin shifted by ``shift`` m)."""
    lr_t = Affine(10, 0, X0, 0, -10, Y0)
    hr_t = Affine(hr_pixel, 0, X0 + shift[0], 0, -hr_pixel, Y0 - shift[1])
    lr = write_tif(tmp / "lr.tif", ramp(lr_t, (12, 12)), lr_t, CRS, descriptions=BANDS)
    hr = write_tif(tmp / "hr.tif", ramp(hr_t, hr_shape), hr_t, CRS, descriptions=BANDS)
    return lr, hr


def test_a_target_at_1_5_m_over_10_m_is_refused_with_the_ratio_and_the_option(
    tmp_path: Path,
) -> None:
    lr, hr = pair(tmp_path, 1.5, (81, 81))
    with pytest.raises(ConfigError) as caught:
        read_sr_pair(lr, hr, BANDS)
    text = str(caught.value)
    assert "lr.tif" in text and "hr.tif" in text and "6.667" in text
    assert "data.resample_target: true" in text and "10 / 7 = 1.429" in text


def test_refining_resamples_cubic_onto_the_input_grid_divided_by_round_ratio(
    tmp_path: Path,
) -> None:
    lr, hr = pair(tmp_path, 1.5, (81, 81))  # 121.5 m: covers the 120 m input
    got = read_sr_pair(lr, hr, BANDS, resample_target=True)
    assert got.scale == 7 and got.gsd == 10.0
    assert got.lr.shape == (2, 12, 12) and got.hr.shape == (2, 84, 84)
    expected = ramp(Affine(10 / 7, 0, X0, 0, -10 / 7, Y0), (84, 84))  # origin: the input's
    inner = (slice(None), slice(3, -3), slice(3, -3))  # the cubic kernel reaches 2 px out
    np.testing.assert_allclose(got.hr[inner], expected[inner], atol=2e-5)
    # a linear ramp is reproduced, and the target is not read as if it lay on 1.5 m pixels
    naive = ramp(Affine(1.5, 0, X0, 0, -1.5, Y0), (84, 84))
    assert np.abs(got.hr[inner] - naive[inner]).max() > 0.005
    with rasterio.open(lr) as lo, rasterio.open(hr) as hi:
        assert target_grid(lo, hi, lr, hr, resample=True).resampling == "cubic"


def test_coarsening_averages_the_target_pixels_each_new_pixel_covers(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lr, hr = pair(tmp_path, 2.4, (60, 60))  # 10 / 2.4 = 4.17 -> x4, 2.5 m pixels: coarser
    with rasterio.open(hr, "r+") as ds:
        ramp_values = ds.read()
        noise = rng.normal(0, 0.05, ramp_values.shape).astype(np.float32)
        ds.write(ramp_values + noise)
    got = read_sr_pair(lr, hr, BANDS, resample_target=True)
    assert got.scale == 4 and got.hr.shape == (2, 48, 48)
    with rasterio.open(lr) as lo, rasterio.open(hr) as hi:
        assert target_grid(lo, hi, lr, hr, resample=True).resampling == "average"
    expected = ramp(Affine(2.5, 0, X0, 0, -2.5, Y0), (48, 48))
    residual = got.hr - expected
    # ~1.09 target pixels per new pixel along each axis, partly covered ones weighted by
    # area: the noise is averaged down (std 0.05 -> ~0.03), and the ramp kept
    assert abs(float(residual.mean())) < 2e-3
    assert 0.02 < float(residual.std()) < 0.04
    # the area average of the first new pixel, by hand: target pixels 0..1 by 0..1,
    # weights 2.4 and 0.1 m along each axis
    w = np.array([2.4, 0.1]) / 2.5
    with rasterio.open(hr) as ds:
        block = ds.read(1)[:2, :2]
    assert got.hr[0, 0, 0] == pytest.approx(float(w @ block @ w), abs=1e-5)


def test_the_input_is_cropped_to_its_pixels_inside_the_target(tmp_path: Path) -> None:
    # the target starts 3 m east and 4 m south of the input's corner and stops 1.5 m short
    lr, hr = pair(tmp_path, 1.5, (76, 77), shift=(3.0, 4.0))
    got = read_sr_pair(lr, hr, BANDS, resample_target=True)
    # x: target 3 .. 118.5 m -> input columns 1..11 (whole pixels), y: 4 .. 118 m -> rows 1..11
    assert got.lr.shape == (2, 10, 10) and got.hr.shape == (2, 70, 70)
    full = ramp(Affine(10, 0, X0, 0, -10, Y0), (12, 12))
    np.testing.assert_array_equal(got.lr, full[:, 1:11, 1:11])
    expected = ramp(Affine(10 / 7, 0, X0 + 10, 0, -10 / 7, Y0 - 10), (70, 70))
    inner = (slice(None), slice(3, -3), slice(3, -3))
    np.testing.assert_allclose(got.hr[inner], expected[inner], atol=2e-5)


def test_shifted_origins_are_refused_unless_resampling_and_aligned_pairs_are_read_as_is(
    tmp_path: Path,
) -> None:
    lr, hr = pair(tmp_path, 2.5, (48, 48), shift=(1.0, 0.0))
    with pytest.raises(ConfigError, match=r"origins differ.*data\.resample_target: true"):
        read_sr_pair(lr, hr, BANDS)
    shifted = read_sr_pair(lr, hr, BANDS, resample_target=True)
    assert shifted.scale == 4 and shifted.lr.shape == (2, 12, 11)  # column 0 not covered
    aligned_dir = tmp_path / "aligned"
    aligned_dir.mkdir()
    lr, hr = pair(aligned_dir, 2.5, (48, 48))
    plain = read_sr_pair(lr, hr, BANDS)
    again = read_sr_pair(lr, hr, BANDS, resample_target=True)  # nothing to resample
    with rasterio.open(hr) as ds:
        np.testing.assert_array_equal(plain.hr, ds.read())
    np.testing.assert_array_equal(again.hr, plain.hr)
    np.testing.assert_array_equal(again.lr, plain.lr)


def test_a_target_covering_no_input_pixel_is_named(tmp_path: Path) -> None:
    lr, hr = pair(tmp_path, 1.5, (5, 5), shift=(2.0, 2.0))  # 7.5 m: inside one input pixel
    with pytest.raises(ConfigError, match=r"covers no whole pixel of the input lr\.tif"):
        read_sr_pair(lr, hr, BANDS, resample_target=True)
