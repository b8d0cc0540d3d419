"""Cloud fractions of windows and the sampler that drops cloudy ones, on real GeoTIFFs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

from eoforge.data import RandomGeoSampler
from eoforge.data.cloud_filter import CloudFilteredSampler, cloud_fraction
from eoforge.data.windows import regions_from_sources
from eoforge.errors import ConfigError
from eoforge.geo.grid import make_grid
from eoforge.io.source import RasterSource, source_from_file

UTM31 = "EPSG:32631"
X0, Y0 = 730_000.0, 5_000_000.0
Writer = Callable[..., Path]


def codes() -> np.ndarray:
    """64 x 64 mask: columns 0-31 cloud (1), rows 0-15 of columns 32-63 shadow (2), else clear."""
    mask = np.zeros((64, 64), np.uint8)
    mask[:, :32] = 1
    mask[:16, 32:] = 2
    return mask


@pytest.fixture
def scene(tif: Writer) -> tuple[RasterSource, RasterSource]:
    """An image (S2.B04) and its cloud mask on the same 10 m grid."""
    transform = from_origin(X0, Y0, 10, 10)
    image = tif("b04.tif", np.ones((64, 64), np.float32), transform, UTM31)
    mask = tif("mask.tif", codes(), transform, UTM31, nodata=255)
    return source_from_file(image, bands=["S2.B04"]), source_from_file(mask, bands=["cloudmask"])


def grid_at(row: int, col: int, size: int = 16) -> GeoBox:
    return make_grid((size, size), from_origin(X0 + 10 * col, Y0 - 10 * row, 10, 10), UTM31)


def test_cloud_fraction_counts_the_listed_codes_over_the_covered_pixels(
    scene: tuple[RasterSource, RasterSource],
) -> None:
    _, mask = scene
    assert cloud_fraction([mask], "cloudmask", [1, 2], grid_at(0, 0)) == 1.0
    assert cloud_fraction([mask], "cloudmask", [1, 2], grid_at(32, 40)) == 0.0
    # columns 24-39: half cloud; rows 8-23 of the right half: 8 of 16 rows shadow
    assert cloud_fraction([mask], "cloudmask", [1], grid_at(32, 24)) == 0.5
    assert cloud_fraction([mask], "cloudmask", [2], grid_at(8, 40)) == 0.5
    assert cloud_fraction([mask], "cloudmask", [1, 2], grid_at(8, 24)) == 0.75
    # a window half outside the mask: counted over the 8 covered columns (all clear)
    assert cloud_fraction([mask], "cloudmask", [1, 2], grid_at(40, 56)) == 0.0
    assert cloud_fraction([mask], "cloudmask", [1, 2], grid_at(0, 200)) == 1.0  # not covered


def test_sampler_keeps_windows_at_or_below_the_threshold_and_fills_the_epoch(
    scene: tuple[RasterSource, RasterSource],
) -> None:
    image, mask = scene
    inner = RandomGeoSampler(regions_from_sources([image]), 16, 40, seed=3)
    plain = [cloud_fraction([mask], "cloudmask", [1, 2], w.grid) for w in inner.epoch_windows(0)]
    assert max(plain) > 0.5  # unfiltered draws are often cloudy
    sampler = CloudFilteredSampler(inner, [mask], "cloudmask", [1, 2], 0.25)
    windows = list(sampler.epoch_windows(0))
    assert len(windows) == 40 and sampler.rejected > 0
    mask_codes = codes()
    for window in windows:
        col = round((window.grid.affine.c - X0) / 10)
        row = round((Y0 - window.grid.affine.f) / 10)
        part = mask_codes[row : row + 16, col : col + 16]
        assert np.isin(part, [1, 2]).mean() <= 0.25  # the truth, independently of the reader
    again = [w.grid.affine for w in sampler.epoch_windows(0)]
    assert again == [w.grid.affine for w in windows]  # (seed, epoch) alone
    assert [w.grid.affine for w in sampler.epoch_windows(1)] != again
    assert len(list(sampler)) == 40


def test_a_threshold_no_window_meets_is_a_clear_error(
    scene: tuple[RasterSource, RasterSource],
) -> None:
    image, mask = scene
    inner = RandomGeoSampler(regions_from_sources([image]), 48, 4, seed=0)  # always >= 1/3 cloud
    sampler = CloudFilteredSampler(inner, [mask], "cloudmask", [1], 0.1)
    with pytest.raises(ConfigError, match="no training window has a cloud fraction at or below"):
        sampler.epoch_windows(0)
    with pytest.raises(ConfigError, match="max_fraction"):
        CloudFilteredSampler(inner, [mask], "cloudmask", [1], 1.5)
