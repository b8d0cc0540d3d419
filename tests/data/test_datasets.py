"""GeoDataset + DataLoader + collate: pixel values, label alignment across CRSs, time series."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import torch
from pyproj import Transformer
from rasterio.transform import from_origin
from torch.utils.data import DataLoader

from eoforge.data import (
    GeoDataset,
    RandomGeoSampler,
    Region,
    TimeSeriesSampler,
    Window,
    collate,
    grid_of,
    regions_from_sources,
    uncollate,
)
from eoforge.data.datasets import batch_buffers
from eoforge.geo.grid import bounds_in, grid_from_bounds, pixel_window, sub_grid
from eoforge.io.source import RasterSource, source_from_file

UTM31, UTM32 = "EPSG:32631", "EPSG:32632"
BANDS = ["S2.B02", "S2.B03"]


def pixel_centre(source: RasterSource, row: int, col: int) -> tuple[float, float]:
    return source.grid().affine @ (col + 0.5, row + 0.5)


@pytest.fixture()
def utm32_labels(tif, rowcol_source: RasterSource) -> Path:
    """UTM 32N label raster over the image: class 3 in a 6 x 6 px square at image pixel (30, 50)."""
    grid = grid_from_bounds(bounds_in(rowcol_source.grid(), UTM32), UTM32, 10.0)
    x, y = Transformer.from_crs(UTM31, UTM32, always_xy=True).transform(
        *pixel_centre(rowcol_source, 30, 50)
    )
    col, row = ~grid.affine @ (x, y)
    labels = np.zeros((grid.shape.y, grid.shape.x), np.uint8)
    labels[round(row) - 3 : round(row) + 3, round(col) - 3 : round(col) + 3] = 3
    return tif("labels32.tif", labels, grid.affine, UTM32)


@pytest.fixture()
def wgs84_labels(tmp_path: Path, rowcol_source: RasterSource) -> Path:
    """GeoJSON in EPSG:4326: a 60 m square centred on image pixel (10, 20), class "boat"."""
    x, y = pixel_centre(rowcol_source, 10, 20)
    square = shapely.box(x - 30, y - 30, x + 30, y + 30)
    frame = gpd.GeoDataFrame({"kind": ["boat"]}, geometry=[square], crs=UTM31).to_crs(4326)
    path = tmp_path / "labels.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def centroid(mask: torch.Tensor, value: int) -> tuple[float, float]:
    rows, cols = np.nonzero(mask.numpy() == value)
    return float(rows.mean()), float(cols.mean())


def test_samples_hold_the_right_pixels_and_grid(rowcol_source: RasterSource) -> None:
    grid = rowcol_source.grid()
    windows = [Window(sub_grid(grid, 5, 7, 16, 24)), sub_grid(grid, 40, 60, 16, 24)]
    dataset = GeoDataset(windows, [rowcol_source], BANDS)
    assert len(dataset) == 2
    sample = dataset[0]
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (2, 16, 24)
    rows, cols = np.indices((16, 24))
    assert np.array_equal(sample["image"][0].numpy(), rows + 5)
    assert np.array_equal(sample["image"][1].numpy(), cols + 7)
    assert sample["valid"].dtype == torch.bool and bool(sample["valid"].all())
    assert sample["transform"][2] == grid.affine.c + 70 and "UTM zone 31N" in sample["crs"]
    assert float(dataset[1]["image"][0, 0, 0]) == 40.0


def test_mask_from_a_label_raster_in_another_utm_zone(
    rowcol_source: RasterSource, utm32_labels: Path
) -> None:
    window = sub_grid(rowcol_source.grid(), 20, 40, 24, 24)
    dataset = GeoDataset(None, rowcol_source, BANDS, label=utm32_labels)
    mask = dataset[window]["mask"]
    assert mask.dtype == torch.int64 and mask.shape == (24, 24)
    assert set(np.unique(mask.numpy())) == {0, 3}
    row, col = centroid(mask, 3)
    # Pixel (30, 50) of the image is (10, 10) of the window; centre of the 6 px square is 9.5.
    assert abs(row - 10) <= 1 and abs(col - 10) <= 1


def test_vector_labels_in_wgs84_rasterize_and_give_boxes(
    rowcol_source: RasterSource, wgs84_labels: Path
) -> None:
    window = sub_grid(rowcol_source.grid(), 0, 0, 32, 32)
    classes = {"boat": 2}
    masks = GeoDataset(
        None,
        rowcol_source,
        BANDS,
        label=wgs84_labels,
        label_kind="vector",
        label_attribute="kind",
        classes=classes,
    )
    mask = masks[window]["mask"]
    assert mask.dtype == torch.int64 and int((mask == 2).sum()) == pytest.approx(36, abs=8)
    row, col = centroid(mask, 2)
    assert abs(row - 10) <= 1 and abs(col - 20) <= 1
    boxes = GeoDataset(
        None,
        rowcol_source,
        BANDS,
        label=wgs84_labels,
        label_kind="boxes",
        label_attribute="kind",
        classes=classes,
    )[window]
    assert boxes["labels"].tolist() == [2]
    assert boxes["boxes"][0].numpy() == pytest.approx([17.5, 7.5, 23.5, 13.5], abs=1.0)


def check_batch(batch: dict, source: RasterSource) -> None:
    grid = source.grid()
    rows, cols = np.indices((16, 16))
    for i in range(len(batch["crs"])):
        row, col, _, _ = pixel_window(grid, grid_of(batch, i))  # type: ignore[misc]
        assert np.array_equal(batch["image"][i, 0].numpy(), rows + row)
        assert np.array_equal(batch["image"][i, 1].numpy(), cols + col)


def test_dataloader_with_workers_keeps_values_and_grids(
    rowcol_source: RasterSource, utm32_labels: Path
) -> None:
    sampler = RandomGeoSampler(regions_from_sources([rowcol_source]), 16, 64, seed=0)
    dataset = GeoDataset(sampler, [rowcol_source], BANDS, label=utm32_labels)
    loader = DataLoader(
        dataset,
        sampler=sampler,
        batch_size=16,
        num_workers=2,
        collate_fn=collate,
        persistent_workers=True,
    )
    seen = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        batches = list(loader)
        assert len(batches) == 4
        for batch in batches:
            assert batch["image"].shape == (16, 2, 16, 16)
            assert batch["mask"].shape == (16, 16, 16) and batch["mask"].dtype == torch.int64
            assert batch["valid"].shape == (16, 16, 16)
            assert isinstance(batch["crs"], list) and len(batch["transform"]) == 16
            check_batch(batch, rowcol_source)
        seen.append([tuple(t) for b in batches for t in b["transform"]])
    assert seen[0] != seen[1]
    items = uncollate(batches[0])
    assert len(items) == 16 and items[3]["image"].shape == (2, 16, 16)


def test_time_series_samples_are_stacked_in_time_order(tif) -> None:
    transform = from_origin(730_000, 5_000_000, 10, 10)
    dates = [datetime(2022, m, 1, tzinfo=UTC) for m in (7, 2, 4)]
    sources = []
    for value, when in zip((70, 20, 40), dates, strict=True):
        data = np.full((2, 32, 40), value, np.float32)
        data[1] += 1
        source = source_from_file(tif(f"t{value}.tif", data, transform, UTM31), bands=BANDS)
        source.datetime = when
        sources.append(source)
    regions = regions_from_sources(sources)
    assert [r.datetime for r in regions] == dates
    sampler = TimeSeriesSampler(regions, 8, 8, seed=0)
    dataset = GeoDataset(sampler, sources, BANDS)
    loader = DataLoader(dataset, sampler=sampler, batch_size=4, num_workers=2, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["image"].shape == (4, 3, 2, 8, 8)
    assert batch["image"][:, :, 0, 0, 0].tolist() == [[20, 40, 70]] * 4
    assert batch["image"][0, :, 1, 0, 0].tolist() == [21, 41, 71]
    assert batch["time"][0].tolist() == sorted(d.timestamp() for d in dates)
    assert batch["valid"].shape == (4, 8, 8)


def test_regions_from_sources_traces_the_valid_footprint(tif) -> None:
    data = np.full((1, 64, 64), 5, np.uint16)
    data[:, :, 32:] = 0  # right half is nodata
    path = tif("half.tif", data, from_origin(730_000, 5_000_000, 10, 10), UTM31, nodata=0)
    source = source_from_file(path, bands=["S2.B02"])
    (region,) = regions_from_sources([source], footprints=True, coarse_size=16)
    assert region.footprint is not None
    assert region.footprint.bounds[2] <= 730_320 and region.footprint.area >= 0.8 * 320 * 640
    sampler = RandomGeoSampler([region], 8, 200, seed=0)
    dataset = GeoDataset(None, [source], ["S2.B02"])
    assert all(bool(dataset[w]["valid"].all()) for w in list(sampler)[:50])
    assert isinstance(region, Region)


def test_window_from_one_sensor_reads_bands_of_another(tif, rowcol_source: RasterSource) -> None:
    # an S1 layer over the same area, coarser (20 m) so it is warped onto the S2 windows
    vv = np.full((32, 48), -12.5, np.float32)
    s1 = source_from_file(
        tif("s1.tif", vv, from_origin(730_000.0, 5_000_000.0, 20, 20), "EPSG:32631"),
        bands=["S1.VV"],
    )
    sampler = RandomGeoSampler(regions_from_sources([rowcol_source]), size=16, length=8, seed=1)
    dataset = GeoDataset(sampler, [rowcol_source, s1], ["S2.B02", "S1.VV"])
    for window in sampler:
        assert window.sources == (0,)
        sample = dataset[window]
        assert sample["image"].shape == (2, 16, 16)
        assert bool(sample["valid"].all())
        assert float(sample["image"][1].mean()) == -12.5


def test_batched_reads_equal_single_reads_without_a_stacking_copy(
    rowcol_source: RasterSource,
) -> None:
    sampler = RandomGeoSampler(regions_from_sources([rowcol_source]), size=16, length=8, seed=3)
    dataset = GeoDataset(sampler, [rowcol_source], ["S2.B02", "S2.B03"])
    windows = list(sampler)
    items = dataset.__getitems__(windows)
    batch = collate(items)
    assert (
        batch["image"].untyped_storage().data_ptr()
        == items[0]["image"].untyped_storage().data_ptr()
    )
    singles = collate([dataset[w] for w in windows])
    assert torch.equal(batch["image"], singles["image"])
    assert torch.equal(batch["valid"], singles["valid"])
    assert batch["transform"] == singles["transform"]
    loader = DataLoader(dataset, sampler=sampler, batch_size=4, num_workers=2, collate_fn=collate)
    through_workers = torch.cat([b["image"] for b in loader])
    assert torch.equal(through_workers, singles["image"])


def _buffers_in_a_worker(_: int) -> list[torch.Tensor]:
    return batch_buffers([((2, 3, 5), torch.float32), ((2, 5), torch.bool), ((7,), torch.float32)])


class _OneBatch(torch.utils.data.Dataset[list[torch.Tensor]]):
    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> list[torch.Tensor]:
        tensors = _buffers_in_a_worker(index)
        for i, t in enumerate(tensors):
            t.fill_(i + 1)
        return tensors


def test_a_batchs_buffers_are_disjoint_aligned_views_of_one_block() -> None:
    tensors = _buffers_in_a_worker(0)
    assert [tuple(t.shape) for t in tensors] == [(2, 3, 5), (2, 5), (7,)]
    assert [t.dtype for t in tensors] == [torch.float32, torch.bool, torch.float32]
    assert len({t.untyped_storage().data_ptr() for t in tensors}) == 1
    starts = [t.data_ptr() for t in tensors]
    ends = [t.data_ptr() + t.numel() * t.element_size() for t in tensors]
    assert all(s % 64 == 0 for s in starts)
    assert all(end <= start for end, start in zip(ends, starts[1:], strict=False))
    for i, t in enumerate(tensors):
        t.fill_(i + 1)
    assert [float(t.float().mean()) for t in tensors] == [1.0, 1.0, 3.0]  # nothing overlaps
    # From a DataLoader worker: one shared-memory block travels, the values intact.
    (batch,) = DataLoader(_OneBatch(), batch_size=None, num_workers=1)
    assert all(t.is_shared() for t in batch)
    assert len({t.untyped_storage().data_ptr() for t in batch}) == 1
    assert [float(t.float().mean()) for t in batch] == [1.0, 1.0, 3.0]
