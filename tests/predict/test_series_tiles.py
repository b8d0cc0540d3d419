"""Whole-scene prediction of a time-series group: dates packed per tile, unpacked losslessly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.transform import from_origin

from eoforge.data.time_series import SeriesSpec, read_series
from eoforge.geo.grid import make_grid
from eoforge.io.source import RasterSource, source_from_file
from eoforge.predict.groups import group_reads, pack_groups, unpack_groups, unpack_series

CRS = "EPSG:32631"
X0, Y0 = 730_000.0, 5_000_000.0


def _date(folder: Path, month: int, value: float, cloudy_cols: int) -> RasterSource:
    """A 16 x 16 px, 10 m date: B04 = value + column, cloudy (1) on its first columns."""
    cols = np.indices((16, 16))[1].astype(np.float32)
    profile = {"driver": "GTiff", "height": 16, "width": 16, "count": 1, "crs": CRS}
    profile["transform"] = from_origin(X0, Y0, 10, 10)
    paths = []
    for name, data in (("b04", value + cols), ("cm", (cols < cloudy_cols).astype(np.uint8))):
        path = folder / f"{name}_{month}.tif"
        with rasterio.open(path, "w", **profile, dtype=data.dtype) as dst:
            dst.write(data[None])
        paths.append(path)
    band = source_from_file(paths[0], bands=["S2.B04"])
    mask = source_from_file(paths[1], bands=["cloudmask"])
    when = datetime(2024, month, 1, 10, 30, tzinfo=UTC)
    return dataclasses.replace(band, assets={**band.assets, **mask.assets}, datetime=when)


def test_a_series_group_packs_dates_and_days_and_unpacks_them_exactly(tmp_path: Path) -> None:
    sources = [_date(tmp_path, 3, 100.0, 0), _date(tmp_path, 6, 200.0, 4)]
    group = {"bands": ["S2.B04"], "gsd": 20.0, "dates": 3, "clouds": {"band": "cloudmask"}}
    # the label grid at 10 m, the series at 20 m: packed by repeating its pixels 2 x 2
    inputs = {"s2": group, "ref": {"bands": ["S2.B08"], "gsd": 10.0}}
    [reads] = [r for r in group_reads(inputs, "ref", {"s2": sources}) if r.name == "s2"]
    assert reads.channels == 3 * 2 and len(reads.dates) == 2
    tile = make_grid((16, 16), from_origin(X0, Y0, 10, 10), CRS)
    image, invalid = pack_groups([reads], tile)
    assert image.shape == (6, 16, 16) and not bool(invalid.any())
    part = unpack_groups(torch.from_numpy(image)[None], [("s2", 6, 0.5)])["s2"]
    values, doy, valid = unpack_series(part, 1)
    expected = read_series(
        sources, ["S2.B04"], make_grid((8, 8), from_origin(X0, Y0, 20, 20), CRS),
        SeriesSpec(length=3, cloud_band="cloudmask"), fill=float("nan"),
    )  # fmt: skip
    assert doy[0].tolist() == [61.0, 153.0, 0.0]  # March 1st, June 1st (2024), padding
    assert torch.equal(valid[0], expected["valid"])
    assert int(valid[0, 1].sum()) == 8 * 6  # June: the first 4 columns (2 at 20 m) cloudy
    both = expected["valid"][:, None]
    assert torch.equal(
        values[0][both.expand_as(values[0])], expected["image"][both.expand_as(values[0])]
    )


def test_a_composite_group_packs_one_image_per_tile(tmp_path: Path) -> None:
    sources = [_date(tmp_path, 3, 100.0, 4), _date(tmp_path, 6, 200.0, 0)]
    group = {
        "bands": ["S2.B04"],
        "gsd": 10.0,
        "dates": 2,
        "clouds": {"band": "cloudmask", "values": [1]},
        "composite": "best_pixel",
    }
    [reads] = group_reads({"s2": group}, "s2", {"s2": sources})
    assert reads.channels == 1
    image, invalid = pack_groups([reads], make_grid((16, 16), from_origin(X0, Y0, 10, 10), CRS))
    cols = np.indices((16, 16))[1]
    # days 61 and 153, middle 107: a tie broken to the earlier (March), June where March is cloudy
    assert image.shape == (1, 16, 16) and not bool(invalid.any())
    assert np.array_equal(image[0], np.where(cols < 4, 200.0, 100.0) + cols)
