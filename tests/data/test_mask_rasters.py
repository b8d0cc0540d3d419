"""Predicted class maps joined to their dates: a composite skips what they mark cloudy."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from eoforge.data.mask_rasters import attach_masks
from eoforge.data.time_series import SeriesSpec, composite, read_series
from eoforge.errors import ConfigError
from eoforge.geo.grid import make_grid
from eoforge.io.source import RasterSource, source_from_file

UTM31 = "EPSG:32631"
X0, Y0 = 730_000.0, 5_000_000.0
DAYS = [date(2024, 3, 1), date(2024, 5, 21), date(2024, 8, 11)]


def write(path: Path, data: np.ndarray, description: str, nodata: float | None = None) -> Path:
    """A one-band GeoTIFF on the 10 m test grid, its band described (as eoforge predict does)."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype=data.dtype,
        crs=UTM31,
        transform=from_origin(X0, Y0, 10, 10),
        nodata=nodata,
    ) as dst:
        dst.write(data[None])
        dst.set_band_description(1, description)
    return path


def dated(folder: Path, day: date, value: float) -> RasterSource:
    """One date's S2 B04 (= ``value`` everywhere), named like eoforge synth's items."""
    path = write(folder / f"s2-{day:%Y%m%d}.tif", np.full((16, 16), value, np.float32), "S2.B04")
    when = datetime(day.year, day.month, day.day, 10, 30, tzinfo=UTC)
    return dataclasses.replace(source_from_file(path), datetime=when)


def class_map(folder: Path, day: date, cloudy_rows: int, shadow_rows: int = 0) -> Path:
    """A cloud bundle's class map as eoforge predict names it: 1 cloud, 2 shadow, 0 clear."""
    codes = np.zeros((16, 16), np.uint8)
    codes[:cloudy_rows] = 1
    codes[cloudy_rows : cloudy_rows + shadow_rows] = 2
    return write(folder / f"s2-{day:%Y%m%d}_classes.tif", codes, "class", nodata=255)


def test_a_median_composite_skips_the_pixels_the_predicted_maps_mark(tmp_path: Path) -> None:
    sources = [dated(tmp_path, day, v) for day, v in zip(DAYS, (1.0, 5.0, 9.0), strict=True)]
    masks = [
        class_map(tmp_path, DAYS[0], cloudy_rows=0),
        class_map(tmp_path, DAYS[1], cloudy_rows=4, shadow_rows=2),  # rows 0-5 unusable
        class_map(tmp_path, DAYS[2], cloudy_rows=16),  # all cloud
    ]
    joined = attach_masks(sources, masks, "class", "data.inputs.s2.clouds.rasters")
    assert all(s.resolve("class") for s in joined)
    grid = make_grid((16, 16), from_origin(X0, Y0, 10, 10), UTM31)
    series = read_series(joined, ["S2.B04"], grid, SeriesSpec(length=3, cloud_band="class"))
    assert series["valid"][0].all() and not series["valid"][2].any()
    assert not series["valid"][1][:6].any() and series["valid"][1][6:].all()
    image, valid = composite(series, "median")
    assert valid.all()
    # rows 0-5: only the clear first date (1.0); below: the lower middle of 1 and 5
    assert np.all(image[0, :6].numpy() == 1.0) and np.all(image[0, 6:].numpy() == 1.0)
    best, _ = composite(series, "best_pixel")
    # nearest to the middle day of the real dates (May 21): date 2 where clear, else date 1
    assert np.all(best[0, :6].numpy() == 1.0) and np.all(best[0, 6:].numpy() == 5.0)
    only_cloud = read_series(
        joined, ["S2.B04"], grid, SeriesSpec(length=3, cloud_band="class", cloud_values=(1,))
    )
    assert only_cloud["valid"][1][4:].all()  # shadow counts only when listed


def test_masks_named_after_no_raster_or_without_the_band_are_refused(tmp_path: Path) -> None:
    sources = [dated(tmp_path, DAYS[0], 1.0)]
    stray = class_map(tmp_path, DAYS[1], cloudy_rows=2)
    with pytest.raises(ConfigError, match="named after none of the group's rasters"):
        attach_masks(sources, [stray], "class", "k")
    mask = class_map(tmp_path, DAYS[0], cloudy_rows=2)
    with pytest.raises(ConfigError, match="lacks the band 'cloudmask'"):
        attach_masks(sources, [mask], "cloudmask", "k")
