"""Time-series input groups: dates per footprint, clouds, padding, composites, on real GeoTIFFs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
import torch
from rasterio.transform import from_origin

from eoforge.data import collate
from eoforge.data.multi_input import InputSource, MultiInputDataset
from eoforge.data.time_series import SeriesSpec, composite, read_series
from eoforge.data.windows import Window
from eoforge.errors import ConfigError
from eoforge.geo.grid import make_grid
from eoforge.io.source import RasterSource, source_from_file

UTM31 = "EPSG:32631"
X0, Y0 = 730_000.0, 5_000_000.0
Writer = Callable[..., Path]
DAYS = [date(2024, 3, 1), date(2024, 5, 21), date(2024, 8, 11), date(2024, 10, 31)]


def dated(
    tif: Writer, day: date, value: float, cloudy_rows: int = 0, width: int = 32
) -> RasterSource:
    """One S2 date: B04 = ``value`` everywhere, its cloud mask cloudy (1) on the first rows."""
    tag = day.isoformat()
    image = tif(
        f"b04_{tag}_{width}.tif",
        np.full((32, width), value, np.float32),
        from_origin(X0, Y0, 10, 10),
        UTM31,
    )
    codes = np.zeros((32, width), np.uint8)
    codes[:cloudy_rows] = 1
    mask = tif(f"cm_{tag}_{width}.tif", codes, from_origin(X0, Y0, 10, 10), UTM31, nodata=255)
    band = source_from_file(image, bands=["S2.B04"])
    cloud = source_from_file(mask, bands=["cloudmask"])
    when = datetime(day.year, day.month, day.day, 10, 30, tzinfo=UTC)
    return dataclasses.replace(band, assets={**band.assets, **cloud.assets}, datetime=when)


def window(col: int = 0, size: int = 8) -> Window:
    return Window(make_grid((size, size), from_origin(X0 + 10 * col, Y0, 10, 10), UTM31))


def test_series_is_dates_in_time_order_clouds_masked_and_padded(tif: Writer) -> None:
    # given out of order; date 2 cloudy on its first 3 rows, date 3 cloudy everywhere
    sources = [
        dated(tif, DAYS[2], 3.0, cloudy_rows=32),
        dated(tif, DAYS[0], 1.0),
        dated(tif, DAYS[1], 2.0, cloudy_rows=3),
    ]
    spec = SeriesSpec(length=5, cloud_band="cloudmask")
    group = InputSource("s2", sources, ["S2.B04"], 10.0, series=spec)
    sample = MultiInputDataset([group], "s2")[window()]
    s2 = sample["inputs"]["s2"]
    assert s2["image"].shape == (5, 1, 8, 8) and s2["valid"].shape == (5, 8, 8)
    assert s2["image"][:3, 0, 7, 7].tolist() == [1.0, 2.0, 0.0]  # cloudy: invalid, filled
    assert s2["valid"].sum(dim=(1, 2)).tolist() == [64, 40, 0, 0, 0]
    assert s2["date_mask"].tolist() == [True, True, True, False, False]
    assert s2["doy"].tolist() == [61.0, 142.0, 224.0, 0.0, 0.0]  # 2024 is a leap year
    assert bool(sample["present"]["s2"]) and bool(sample["valid"].all())
    batch = collate([sample, sample])
    assert batch["inputs"]["s2"]["image"].shape == (2, 5, 1, 8, 8)
    assert batch["inputs"]["s2"]["doy"].shape == (2, 5)


def test_more_dates_than_slots_are_thinned_evenly_and_listed_days_fill_their_slots(
    tif: Writer,
) -> None:
    sources = [dated(tif, day, float(i + 1)) for i, day in enumerate(DAYS)]
    grid = window().grid
    thinned = read_series(sources, ["S2.B04"], grid, SeriesSpec(length=3))
    assert thinned["image"][:, 0, 0, 0].tolist() == [1.0, 3.0, 4.0]  # first and last kept
    listed = SeriesSpec(length=3, days=(DAYS[3], date(2024, 6, 1), DAYS[0]))
    picked = read_series(sources, ["S2.B04"], grid, listed)
    assert picked["image"][:, 0, 0, 0].tolist() == [4.0, 0.0, 1.0]
    assert picked["date_mask"].tolist() == [True, False, True]
    ranged = read_series(
        sources, ["S2.B04"], grid, SeriesSpec(length=4, start=DAYS[1], end=DAYS[2])
    )
    assert ranged["date_mask"].tolist() == [True, True, False, False]
    assert ranged["image"][:2, 0, 0, 0].tolist() == [2.0, 3.0]


def test_only_dates_covering_the_footprint_count_and_all_cloudy_is_absent(tif: Writer) -> None:
    narrow = dated(tif, DAYS[1], 5.0, width=16)  # covers columns 0-15 only
    cloudy = dated(tif, DAYS[2], 6.0, cloudy_rows=32)
    spec = SeriesSpec(length=2, cloud_band="cloudmask")
    group = InputSource("s2", [narrow, cloudy], ["S2.B04"], 10.0, series=spec)
    dataset = MultiInputDataset([group], "s2")
    far = dataset[window(col=20)]["inputs"]["s2"]
    assert far["date_mask"].tolist() == [True, False]  # only the cloudy date covers it
    assert not bool(dataset[window(col=20)]["present"]["s2"])
    near = dataset[window(col=0)]
    assert near["inputs"]["s2"]["date_mask"].tolist() == [True, True]
    assert bool(near["present"]["s2"])


def test_composites_reduce_the_clear_pixels_to_one_image(tif: Writer) -> None:
    sources = [
        dated(tif, DAYS[0], 1.0),
        dated(tif, DAYS[1], 2.0, cloudy_rows=4),
        dated(tif, DAYS[2], 7.0),
        dated(tif, DAYS[3], 9.0, cloudy_rows=32),
    ]
    spec = SeriesSpec(length=4, cloud_band="cloudmask")
    series = read_series(sources, ["S2.B04"], window().grid, spec)
    median, valid = composite(series, "median")
    assert median.shape == (1, 8, 8) and bool(valid.all())
    assert median[0, 0, 0] == 1.0 and median[0, 7, 0] == 2.0  # lower middle of {1, 7}; {1, 2, 7}
    # middle of the real dates' days (61 .. 305) is 183, 41 days from 142 and from 224: the
    # earlier (2.0) where it is clear, else day 224 (7.0)
    best, _ = composite(series, "best_pixel")
    assert best[0, 7, 0] == 2.0 and best[0, 0, 0] == 7.0
    group = InputSource(
        "s2", sources, ["S2.B04"], 10.0, series=dataclasses.replace(spec, composite="median")
    )
    sample = MultiInputDataset([group], "s2")[window()]
    assert sample["inputs"]["s2"]["image"].shape == (1, 8, 8)
    assert set(sample["inputs"]["s2"]) == {"image", "valid"}


def test_a_batch_read_equals_sample_reads_and_collates_without_copies(tif: Writer) -> None:
    # a series with clouds and padding, its median composite, and a one-date group that is
    # absent from the second footprint: read as a batch (buffers) and one by one
    sources = [dated(tif, DAYS[0], 1.0), dated(tif, DAYS[1], 2.0, cloudy_rows=3)]
    narrow = source_from_file(
        tif(
            "b08_narrow.tif", np.full((32, 16), 4.0, np.float32), from_origin(X0, Y0, 10, 10), UTM31
        ),
        bands=["S2.B08"],
    )
    spec = SeriesSpec(length=3, cloud_band="cloudmask")
    groups = [
        InputSource("ts", sources, ["S2.B04"], 10.0, series=spec),
        InputSource(
            "med", sources, ["S2.B04"], 20.0, series=dataclasses.replace(spec, composite="median")
        ),
        InputSource("one", [narrow], ["S2.B08"], 10.0),
    ]
    dataset = MultiInputDataset(groups, "ts")
    keys = [window(col=0), window(col=20)]
    together = dataset.__getitems__(keys)
    alone = [dataset[k] for k in keys]
    assert [bool(s["present"]["one"]) for s in together] == [True, False]
    for got, want in zip(together, alone, strict=True):
        for name in ("ts", "med", "one"):
            for key, value in want["inputs"][name].items():
                assert torch.equal(got["inputs"][name][key], value), (name, key)
            assert torch.equal(got["present"][name], want["present"][name])
        assert torch.equal(got["valid"], want["valid"])
    batch = collate(together)
    image = batch["inputs"]["ts"]["image"]
    assert image.shape == (2, 3, 1, 8, 8)
    # the batch is the buffer the samples were read into: no stacking copy
    assert image.data_ptr() == together[0]["inputs"]["ts"]["image"].data_ptr()
    assert batch["present"]["one"].tolist() == [True, False]


def test_a_raster_without_acquisition_time_is_refused_by_name(tif: Writer) -> None:
    undated = dataclasses.replace(dated(tif, DAYS[0], 1.0), datetime=None, name="b04_undated")
    group = InputSource("s2", [undated], ["S2.B04"], 10.0, series=SeriesSpec(length=2))
    with pytest.raises(ConfigError, match=r"b04_undated.*no acquisition time"):
        MultiInputDataset([group], "s2")


def test_series_spec_round_trips_through_bundle_options() -> None:
    spec = SeriesSpec(
        length=2, days=(DAYS[0], DAYS[2]), cloud_band="cloudmask", composite="best_pixel"
    )
    assert SeriesSpec.from_dict(spec.to_dict()) == spec
    plain = SeriesSpec(length=6, start=DAYS[0])
    assert SeriesSpec.from_dict(plain.to_dict()) == plain


def test_a_series_of_an_index_holds_each_dates_index(tif: Writer) -> None:
    # Field boundaries from multi-date NDVI stacks: a group's band may be a spectral index
    # (ASI.NDVI from B04 and B08 of each date), computed per date, clouds masked as usual.
    sources = []
    for day, red, nir, cloudy in ((DAYS[0], 0.1, 0.2, 0), (DAYS[1], 0.05, 0.45, 2)):
        b04 = dated(tif, day, red, cloudy_rows=cloudy)
        b08 = tif(
            f"b08_{day.isoformat()}.tif",
            np.full((32, 32), nir, np.float32),
            from_origin(X0, Y0, 10, 10),
            UTM31,
        )
        nir_assets = source_from_file(b08, bands=["S2.B08"]).assets
        sources.append(dataclasses.replace(b04, assets={**b04.assets, **nir_assets}))
    spec = SeriesSpec(length=3, cloud_band="cloudmask")
    dataset = MultiInputDataset([InputSource("s2", sources, ["ASI.NDVI"], 10.0, series=spec)], "s2")
    series = dataset[window()]["inputs"]["s2"]
    assert series["image"].shape == (3, 1, 8, 8)
    np.testing.assert_allclose(series["image"][0, 0], 0.1 / 0.3, rtol=1e-6)
    np.testing.assert_allclose(series["image"][1, 0, 2:], 0.4 / 0.5, rtol=1e-6)
    assert not series["valid"][1, :2].any() and series["valid"][1, 2:].all()  # cloudy rows
    assert series["date_mask"].tolist() == [True, True, False]  # the third slot is padding
