"""Random, grid and time-series samplers: determinism, sharding, alignment, area, footprints."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.data import (
    GridGeoSampler,
    RandomGeoSampler,
    Region,
    TimeSeriesSampler,
    Window,
    shard_positions,
)
from eoforge.errors import ConfigError
from eoforge.geo.grid import is_pixel_aligned, make_grid, pixel_window

UTM31 = "EPSG:32631"


def grid31(height: int, width: int, x0: float = 500_000.0, y0: float = 5_000_000.0) -> GeoBox:
    return make_grid((height, width), Affine(10, 0, x0, 0, -10, y0), UTM31)


def key(window: Window) -> tuple[float, ...]:
    a = window.grid.affine
    return (a.c, a.f, window.grid.shape.y, window.grid.shape.x, *window.sources)


def test_random_is_deterministic_per_seed_and_differs_per_epoch() -> None:
    regions = [Region(grid31(100, 120))]
    first = RandomGeoSampler(regions, 16, 50, seed=7)
    again = RandomGeoSampler(regions, 16, 50, seed=7)
    assert [key(w) for w in first] == [key(w) for w in again]
    other_seed = RandomGeoSampler(regions, 16, 50, seed=8)
    assert [key(w) for w in first] != [key(w) for w in other_seed]
    epoch0 = [key(w) for w in first]
    first.set_epoch(1)
    epoch1 = [key(w) for w in first]
    assert epoch0 != epoch1
    assert len(set(epoch0) & set(epoch1)) < 10
    first.set_epoch(0)
    assert [key(w) for w in first] == epoch0


@pytest.mark.parametrize("length", [100, 101])
def test_random_shards_are_disjoint_and_cover_the_epoch(length: int) -> None:
    regions = [Region(grid31(100, 120))]
    ranks = [RandomGeoSampler(regions, 16, length, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for sampler in ranks:
        sampler.set_epoch(4)
    epoch = [key(w) for w in ranks[0].epoch_windows()]
    assert epoch == [key(w) for w in ranks[1].epoch_windows()]  # same draw on every rank
    assert len(set(epoch)) > 0.9 * length
    positions = [shard_positions(length, r, 2) for r in (0, 1)]
    assert (
        len(ranks[0])
        == len(ranks[1])
        == len(positions[0])
        == len(positions[1])
        == 51 - (length == 100)
    )
    assert set(positions[0]) | set(positions[1]) == set(range(length))
    assert len(set(positions[0]) & set(positions[1])) == length % 2  # only the wrapped pad repeats
    for sampler, shard in zip(ranks, positions, strict=True):
        assert [key(w) for w in sampler] == [epoch[p] for p in shard]


def test_random_windows_are_pixel_aligned_inside_the_grid() -> None:
    grid = grid31(90, 130)
    sampler = RandomGeoSampler([Region(grid)], (12, 20), 500, seed=1)
    for window in sampler:
        assert is_pixel_aligned(grid, window.grid)
        win = pixel_window(grid, window.grid)
        assert win is not None
        row, col, h, w = win
        assert (h, w) == (12, 20)
        assert 0 <= row <= 90 - 12 and 0 <= col <= 130 - 20


def test_random_is_area_weighted() -> None:
    small = Region(grid31(100, 100), source=0)
    large = Region(grid31(200, 100, x0=520_000.0), source=1)  # twice the area
    sampler = RandomGeoSampler([small, large], 8, 4000, seed=0)
    counts = Counter(w.sources[0] for w in sampler)
    assert counts[1] / counts[0] == pytest.approx(2.0, rel=0.1)


def test_footprint_half_the_grid_is_never_left() -> None:
    grid = grid31(100, 100)
    left_half = shapely.box(500_000, 4_999_000, 500_500, 5_000_000)
    sampler = RandomGeoSampler([Region(grid, left_half)], 16, 1000, seed=2)
    cols = []
    for window in sampler:
        b = window.grid.boundingbox
        assert left_half.contains(shapely.box(b.left, b.bottom, b.right, b.top))
        cols.append(pixel_window(grid, window.grid)[1])  # type: ignore[index]
    assert max(cols) == 50 - 16  # the whole half is reachable, up to its edge


def test_random_with_footprint_of_another_region_keeps_area_weighting() -> None:
    half = Region(grid31(100, 200), shapely.box(500_000, 4_999_000, 501_000, 5_000_000), source=0)
    full = Region(grid31(100, 100, x0=600_000.0), source=1)
    counts = Counter(w.sources[0] for w in RandomGeoSampler([half, full], 8, 4000, seed=5))
    assert counts[0] / counts[1] == pytest.approx(1.0, rel=0.1)


def test_random_rejects_a_window_larger_than_every_region() -> None:
    with pytest.raises(ConfigError, match="no region can hold"):
        RandomGeoSampler([Region(grid31(10, 10))], 16, 10)


def test_random_with_coarser_res_snaps_to_a_scaled_lattice() -> None:
    grid = grid31(100, 100)
    sampler = RandomGeoSampler([Region(grid)], 10, 200, res=20.0, seed=0)
    for window in sampler:
        assert window.grid.resolution.x == 20.0
        col, row = ~grid.affine @ (window.grid.affine.c, window.grid.affine.f)
        assert col % 2 == 0 and row % 2 == 0  # corners on the file's pixel edges
        assert 0 <= row <= 80 and 0 <= col <= 80


def test_grid_covers_every_pixel_with_the_overlap() -> None:
    grid = grid31(100, 70)
    sampler = GridGeoSampler([Region(grid)], 32, overlap=8)
    cover = np.zeros((100, 70), int)
    starts = set()
    for window in sampler:
        row, col, h, w = pixel_window(grid, window.grid)  # type: ignore[misc]
        assert (h, w) == (32, 32) and row + h <= 100 and col + w <= 70
        cover[row : row + h, col : col + w] += 1
        starts.add((row, col))
    assert cover.min() >= 1
    rows = sorted({r for r, _ in starts})
    cols = sorted({c for _, c in starts})
    assert rows == [0, 24, 48, 68] and cols == [0, 24, 38]
    assert cover[0:24, 0:24].max() == 1 and cover[24:32, 0:24].min() == 2  # overlap of 8 rows
    assert len(sampler) == 12


def test_grid_shards_and_skips_tiles_outside_the_footprint() -> None:
    grid = grid31(64, 64)
    top_left = shapely.box(500_000, 4_999_680, 500_320, 5_000_000)  # 32 x 32 px
    assert len(GridGeoSampler([Region(grid, top_left)], 16)) == 4
    regions = [Region(grid)]
    halves = [GridGeoSampler(regions, 16, rank=r, world_size=2) for r in (0, 1)]
    keys = [[key(w) for w in s] for s in halves]
    assert len(keys[0]) == len(keys[1]) == 8 and not set(keys[0]) & set(keys[1])


def test_grid_pads_a_region_smaller_than_the_tile() -> None:
    windows = list(GridGeoSampler([Region(grid31(10, 12))], 16))
    assert len(windows) == 1 and windows[0].grid.shape == (16, 16)


def test_time_series_windows_lie_in_the_common_area_ordered_by_time() -> None:
    t = [datetime(2021, m, 1, tzinfo=UTC) for m in (5, 1, 3)]
    grids = [grid31(60, 60), grid31(60, 60, x0=500_200.0), grid31(60, 60, y0=4_999_800.0)]
    regions = [
        Region(g, source=i, datetime=d) for i, (g, d) in enumerate(zip(grids, t, strict=True))
    ]
    sampler = TimeSeriesSampler(regions, 8, 300, seed=0)
    common = shapely.box(500_200, 4_999_400, 500_600, 4_999_800)
    assert sampler.steps == 3
    for window in sampler:
        assert window.sources == (1, 2, 0)
        assert window.datetimes == (t[1], t[2], t[0])
        b = window.grid.boundingbox
        assert common.contains(shapely.box(b.left, b.bottom, b.right, b.top))
        assert all(is_pixel_aligned(g, window.grid) for g in grids)
    tiles = TimeSeriesSampler(regions, 16, overlap=0)
    starts = {pixel_window(grids[0], w.grid)[:2] for w in tiles}  # type: ignore[index]
    assert starts == {(r, c) for r in (20, 36, 44) for c in (20, 36, 44)}  # 40 x 40 px in common


def test_time_series_without_common_area_fails_clearly() -> None:
    regions = [Region(grid31(10, 10)), Region(grid31(10, 10, x0=600_000.0))]
    with pytest.raises(ConfigError, match="no area in common"):
        TimeSeriesSampler(regions, 4, 10)
