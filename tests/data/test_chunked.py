"""Chunked random windows (``windows_per_read``): exact reads, chunks, spread, epochs, sharding."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.data import GeoDataset, RandomGeoSampler, Region, Window, shard_positions
from eoforge.data.chunked import ChunkedWindows
from eoforge.errors import ConfigError
from eoforge.geo.grid import make_grid
from eoforge.io.source import source_from_file

UTM31 = "EPSG:32631"
BANDS = ["S2.B02", "S2.B03", "S2.B04"]


def grid31(height: int, width: int) -> GeoBox:
    return make_grid((height, width), Affine(10, 0, 500_000.0, 0, -10, 5_000_000.0), UTM31)


def offset(window: Window, grid: GeoBox) -> tuple[int, int]:
    """``(row, col)`` of a window's top-left pixel in ``grid`` (whole pixels)."""
    col, row = ~grid.affine @ (window.grid.affine.c, window.grid.affine.f)
    assert col == round(col) and row == round(row)
    return round(row), round(col)


def chunked(sampler: RandomGeoSampler) -> ChunkedWindows:
    windows = sampler.epoch_windows()
    assert isinstance(windows, ChunkedWindows)
    return windows


@pytest.fixture()
def tiled_tif(tmp_path: Path) -> Path:
    """3 uint16 bands, 300 x 260 px at 10 m in UTM 31N, 64-px tiles, deflate, random values."""
    rng = np.random.default_rng(1)
    data = rng.integers(1, 65535, (3, 300, 260), dtype=np.uint16)
    path = tmp_path / "tiled.tif"
    profile = {
        "driver": "GTiff",
        "height": 300,
        "width": 260,
        "count": 3,
        "dtype": "uint16",
        "crs": UTM31,
        "transform": Affine(10, 0, 500_000.0, 0, -10, 5_000_000.0),
        "tiled": True,
        "blockxsize": 64,
        "blockysize": 64,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def test_chunked_samples_equal_a_direct_rasterio_read_of_the_window(tiled_tif: Path) -> None:
    source = source_from_file(tiled_tif, bands=BANDS)
    grid = source.grid()
    sampler = RandomGeoSampler(
        [Region(grid, source=0)], 40, 24, windows_per_read=4, read_size=128, seed=2
    )
    dataset = GeoDataset(sampler, [source], BANDS)
    windows = list(sampler)
    batch = dataset.__getitems__(windows[:8])  # the batch path DataLoader workers take
    singles = [dataset[w] for w in windows[8:]]
    with rasterio.open(tiled_tif) as ds:
        for window, sample in zip(windows, batch + singles, strict=True):
            row, col = offset(window, grid)
            expected = ds.read(window=rasterio.windows.Window(col, row, 40, 40))
            assert sample["image"].dtype.is_floating_point
            np.testing.assert_array_equal(sample["image"].numpy(), expected.astype(np.float32))
            assert bool(sample["valid"].all())
            assert tuple(sample["transform"]) == tuple(window.grid.affine)[:6]


def test_every_chunk_cell_is_visited_and_windows_stay_inside_their_chunk() -> None:
    sampler = RandomGeoSampler(
        [Region(grid31(256, 256))], 32, 4000, windows_per_read=4, read_size=64, seed=0
    )
    epoch = chunked(sampler)
    cells: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for chunk, row, col in zip(epoch.chunk, epoch.rows, epoch.cols, strict=True):
        assert row // 64 == (row + 31) // 64 and col // 64 == (col + 31) // 64
        cells[int(chunk)].add((int(row) // 64, int(col) // 64))
    assert all(len(c) == 1 for c in cells.values())  # a chunk is one aligned cell
    visited = set().union(*cells.values())
    assert visited == {(r, c) for r in range(4) for c in range(4)}
    counts = np.bincount(epoch.chunk)
    assert set(counts.tolist()) == {4} and len(counts) == 1000


def test_chunks_cut_by_the_grid_edge_still_hold_whole_windows() -> None:
    grid = grid31(200, 150)  # not a multiple of the 64-px chunks
    sampler = RandomGeoSampler([Region(grid)], 48, 2000, windows_per_read=5, read_size=64)
    epoch = chunked(sampler)
    assert epoch.rows.min() >= 0 and epoch.cols.min() >= 0
    assert epoch.rows.max() == 200 - 48 and epoch.cols.max() == 150 - 48
    for chunk in range(len(np.bincount(epoch.chunk))):
        rows = epoch.rows[epoch.chunk == chunk]
        assert rows.max() - rows.min() <= 64 - 48  # one chunk's span, pulled back at the edge


def test_shuffle_buffer_spreads_a_chunks_windows_over_batches() -> None:
    regions = [Region(grid31(512, 512))]
    batch = 16

    def batches_per_chunk(buffer: int) -> list[int]:
        epoch = chunked(
            RandomGeoSampler(
                regions, 32, 1024, windows_per_read=8, read_size=128, shuffle_buffer=buffer
            )
        )
        spread: dict[int, set[int]] = defaultdict(set)
        for position, chunk in enumerate(epoch.chunk):
            spread[int(chunk)].add(position // batch)
        return [len(b) for b in spread.values()]

    together = batches_per_chunk(1)
    assert max(together) <= 2  # 8 consecutive windows: one batch, or two across a boundary
    spread = batches_per_chunk(128)
    assert min(spread) >= 2  # never all of a chunk's windows in one batch
    assert np.mean(spread) > 4


def test_chunked_epochs_are_deterministic_and_differ_with_set_epoch() -> None:
    regions = [Region(grid31(300, 300)), Region(grid31(200, 260))]

    def make(seed: int) -> RandomGeoSampler:
        return RandomGeoSampler(regions, 32, 200, windows_per_read=4, read_size=64, seed=seed)

    first, again = make(5), make(5)
    keys = [(w.grid.affine, w.sources) for w in first]
    assert keys == [(w.grid.affine, w.sources) for w in again]
    assert keys != [(w.grid.affine, w.sources) for w in make(6)]
    first.set_epoch(1)
    epoch1 = [(w.grid.affine, w.sources) for w in first]
    assert epoch1 != keys and len(set(epoch1) & set(keys)) < 50
    first.set_epoch(0)
    assert [(w.grid.affine, w.sources) for w in first] == keys


@pytest.mark.parametrize("length", [400, 401])
def test_chunked_shards_cover_the_epoch_and_keep_each_chunk_on_one_rank_and_worker(
    length: int,
) -> None:
    regions = [Region(grid31(512, 512))]
    options = {"windows_per_read": 4, "read_size": 128, "shuffle_buffer": 16}
    loader = {"loader_batch_size": 4, "loader_workers": 2}
    ranks = [
        RandomGeoSampler(regions, 32, length, seed=1, rank=r, world_size=2, **options, **loader)
        for r in (0, 1)
    ]
    for sampler in ranks:
        sampler.set_epoch(3)
    epoch = chunked(ranks[0])
    assert np.array_equal(epoch.rows, chunked(ranks[1]).rows)  # same draw on every rank
    owner: dict[int, tuple[int, int]] = {}
    for rank, sampler in enumerate(ranks):
        mine = list(sampler)
        positions = shard_positions(length, rank, 2)
        assert len(mine) == len(positions) == -(-length // 2)
        for local, position in enumerate(positions):
            assert mine[local] == epoch[position]
            if position != local * 2 + rank:
                continue  # a wrapped padding position repeats another rank's window
            worker = (local // 4) % 2  # DataLoader hands batch j to worker j % workers
            place = owner.setdefault(int(epoch.chunk[position]), (rank, worker))
            assert place == (rank, worker)
    assert len(owner) == len(np.unique(epoch.chunk))


def test_chunked_windows_stay_inside_the_footprint() -> None:
    grid = grid31(256, 256)
    x0, y0 = 500_000.0, 5_000_000.0
    triangle = shapely.Polygon([(x0, y0), (x0 + 2560, y0), (x0, y0 - 2560)])
    sampler = RandomGeoSampler(
        [Region(grid, triangle)], 32, 300, windows_per_read=6, read_size=64, seed=4
    )
    for window in sampler:
        assert shapely.contains(triangle, shapely.box(*window.grid.boundingbox))


@pytest.mark.parametrize(
    "options",
    [
        {"windows_per_read": 0},
        {"windows_per_read": 4, "read_size": 16},
        {"windows_per_read": 4, "shuffle_buffer": 0},
        {"windows_per_read": 4, "loader_batch_size": 0},
        {"windows_per_read": 4, "loader_workers": -1},
    ],
)
def test_chunk_options_out_of_range_are_config_errors(options: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        RandomGeoSampler([Region(grid31(100, 100))], 32, 10, **options)


def test_plain_sampler_ignores_read_size_for_windows_larger_than_it() -> None:
    sampler = RandomGeoSampler([Region(grid31(100, 2000))], (64, 1500), 3)
    assert len(list(sampler)) == 3
