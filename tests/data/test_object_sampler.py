"""Class-balanced windows around objects: balance by the binomial, containment, bounds, seeds."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox
from torch.utils.data import DataLoader, Dataset

from eoforge.data.object_sampler import ObjectGeoSampler, offsets_containing
from eoforge.data.windows import Region, Window
from eoforge.errors import ConfigError
from eoforge.geo.grid import make_grid

CRS = "EPSG:32631"
X0, Y0 = 500_000.0, 5_000_000.0  # top-left corner, 2 m pixels


def _grid(height: int = 400, width: int = 600, x0: float = X0) -> GeoBox:
    return make_grid((height, width), Affine(2.0, 0, x0, 0, -2.0, Y0), CRS)


def _frame(
    boxes_px: list[tuple[float, float, float, float]], labels: list[int]
) -> gpd.GeoDataFrame:
    """Rectangles given in pixels ``(col0, row0, col1, row1)`` of :func:`_grid`."""
    polygons = [
        shapely.box(X0 + 2 * c0, Y0 - 2 * r1, X0 + 2 * c1, Y0 - 2 * r0)
        for c0, r0, c1, r1 in boxes_px
    ]
    return gpd.GeoDataFrame({"label": labels}, geometry=polygons, crs=CRS)


def _scattered(counts: list[int], seed: int = 0) -> tuple[gpd.GeoDataFrame, list[int]]:
    rng = np.random.default_rng(seed)
    boxes, labels = [], []
    for cls, count in enumerate(counts):
        for _ in range(count):
            c, r = rng.uniform(0, 590), rng.uniform(0, 390)
            boxes.append((c, r, c + rng.uniform(2, 10), r + rng.uniform(2, 10)))
            labels.append(cls)
    return _frame(boxes, labels), labels


def _offset(window: Window, grid: GeoBox) -> tuple[int, int]:
    col, row = ~grid.affine @ (window.grid.affine.c, window.grid.affine.f)
    return round(row), round(col)


def test_each_class_is_the_target_of_an_equal_share_of_draws() -> None:
    frame, labels = _scattered([100, 10, 1])
    sampler = ObjectGeoSampler(
        [Region(_grid())], frame, labels, 3, 64, 6000, background=0.1, seed=3
    )
    draws = sampler.draws(0)
    background = int((draws.target_class == -1).sum())
    # background draws: Binomial(6000, 0.1), mean 600, sd 23.2; 4.5 sd either side
    assert abs(background - 600) < 4.5 * math.sqrt(6000 * 0.1 * 0.9)
    objects = 6000 - background
    per_class = np.bincount(draws.target_class[draws.target_class >= 0], minlength=3)
    sd = math.sqrt(objects * (1 / 3) * (2 / 3))  # about 21 for 5,400 draws
    for count in per_class:
        assert abs(count - objects / 3) < 4.5 * sd
    # the single object of class 2 is the target of a third of the draws; each of the
    # 100 of class 0 of about 1/300
    rare = draws.target[draws.target_class == 2]
    assert len(set(rare.tolist())) == 1 and len(rare) > objects / 3 - 4.5 * sd


def test_configured_weights_set_the_shares_and_empty_classes_are_never_drawn() -> None:
    frame, labels = _scattered([20, 20, 0])
    sampler = ObjectGeoSampler(
        [Region(_grid())], frame, labels, 3, 32, 4000,
        class_weights=[3, 1, 5], background=0.0, seed=1,
    )  # fmt: skip
    counts = np.bincount(sampler.draws(0).target_class, minlength=3)
    assert counts[2] == 0  # class 2 has no object: its weight is dropped, 3:1 remains
    assert abs(counts[0] - 3000) < 4.5 * math.sqrt(4000 * 0.75 * 0.25)


def test_every_object_window_contains_its_object_and_stays_in_the_scene() -> None:
    grid = _grid()
    # objects in corners and edges, one wider than the window (100 px > 64 px)
    edge = [(0, 0, 5, 5), (595, 395, 600, 400), (300, 0, 306, 3), (0, 200, 4, 208)]
    wide = [(200, 100, 300, 110)]
    frame, labels = _scattered([30, 30])
    frame = gpd.GeoDataFrame(
        pd.concat([frame, _frame(edge + wide, [0, 0, 1, 1, 1])], ignore_index=True), crs=CRS
    )
    labels = [*labels, 0, 0, 1, 1, 1]
    sampler = ObjectGeoSampler([Region(grid)], frame, labels, 2, 64, 2000, background=0.2)
    draws = sampler.draws(0)
    candidates = sampler.candidates
    for i in range(len(draws.windows)):
        window = draws.windows[i]
        row, col = _offset(window, grid)
        assert 0 <= row <= 400 - 64 and 0 <= col <= 600 - 64
        assert window.grid.shape == (64, 64)
        if draws.target[i] < 0:
            continue
        c0, r0, c1, r1 = candidates.bounds[draws.target[i]]
        if c1 - c0 <= 64:
            assert col <= math.floor(c0) + 1e-9 and col + 64 >= math.ceil(c1)
        else:  # wider than the window: the window lies inside the object's span
            assert c0 <= col and col + 64 <= c1
        assert row <= math.floor(r0) and row + 64 >= math.ceil(r1)
    # the offset inside the window varies: objects are not always centred
    wide_row = len(frame) - 1
    lefts = {
        _offset(draws.windows[i], grid)[1]
        for i in range(len(draws.windows))
        if draws.target[i] >= 0 and candidates.row[draws.target[i]] == 0
    }
    assert len(lefts) > 5 and wide_row in set(candidates.row.tolist())


def test_offsets_cover_every_position_that_contains_the_object() -> None:
    rng = np.random.default_rng(0)
    starts = offsets_containing(np.full(5000, 10.5), np.full(5000, 14.2), 8, 100, rng)
    # pixels 10..14 (ceil 15) must fit in [start, start + 8): start in 7..10
    assert set(starts.tolist()) == {7, 8, 9, 10}
    edge = offsets_containing(np.full(100, -3.0), np.full(100, 2.0), 8, 100, rng)
    assert set(edge.tolist()) == {0}


def test_objects_outside_the_scene_or_mostly_outside_do_not_count() -> None:
    grid = _grid()
    frame = _frame([(10, 10, 20, 20), (-8, 50, 2, 60), (700, 10, 710, 20)], [0, 0, 1])
    sampler = ObjectGeoSampler([Region(grid)], frame, [0, 0, 1], 2, 32, 100, min_visible=0.5)
    # the second shows 20 % inside the grid, the third none at all
    assert sampler.candidates.row.tolist() == [0]
    assert set(sampler.draws(0).target_class.tolist()) <= {-1, 0}


def test_labels_far_from_every_scene_are_a_clear_error(tmp_path: Any) -> None:
    frame = _frame([(10, 10, 20, 20)], [0]).set_crs("EPSG:4326", allow_override=True)
    frame.attrs["source"] = str(tmp_path / "objects.geojson")
    with pytest.raises(ConfigError, match="none of the 1 objects lies inside") as info:
        ObjectGeoSampler([Region(_grid())], frame, [0], 1, 32, 10)
    assert "objects.geojson" in str(info.value) and "CRS" in str(info.value)


def test_draws_depend_on_seed_and_epoch_only() -> None:
    frame, labels = _scattered([10, 5])
    regions = [Region(_grid()), Region(_grid(x0=X0 + 5000.0), source=1)]

    def grids(seed: int, epoch: int) -> list[tuple[float, ...]]:
        sampler = ObjectGeoSampler(regions, frame, labels, 2, 32, 50, seed=seed)
        sampler.set_epoch(epoch)
        return [tuple(w.grid.affine)[:6] for w in sampler]

    assert grids(0, 0) == grids(0, 0)
    assert grids(0, 0) != grids(0, 1) and grids(0, 0) != grids(1, 0)
    # DDP: two ranks split the same epoch's list
    halves = [
        list(ObjectGeoSampler(regions, frame, labels, 2, 32, 50, rank=r, world_size=2))
        for r in (0, 1)
    ]
    assert len(halves[0]) == len(halves[1]) == 25


class _Origins(Dataset[tuple[float, float]]):
    def __getitem__(self, window: Window) -> tuple[float, float]:  # type: ignore[override]
        return window.grid.affine.c, window.grid.affine.f


def test_loader_workers_receive_the_sampler_windows() -> None:
    frame, labels = _scattered([10, 5])
    sampler = ObjectGeoSampler([Region(_grid())], frame, labels, 2, 32, 24, seed=5)
    loader = DataLoader(_Origins(), sampler=sampler, batch_size=4, num_workers=2)
    got = [tuple(map(float, pair)) for batch in loader for pair in zip(*batch, strict=True)]
    expected = [(w.grid.affine.c, w.grid.affine.f) for w in sampler.epoch_windows(0)]
    assert got == expected
