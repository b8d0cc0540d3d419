"""Class-balanced sampler: rare classes are drawn far more often than by area."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

from eoforge.data import ClassBalancedSampler, RandomGeoSampler, Region, Window
from eoforge.geo.grid import is_pixel_aligned, make_grid, pixel_window
from eoforge.io.source import source_from_file

UTM31 = "EPSG:32631"
TRANSFORM = from_origin(500_000, 5_000_000, 10, 10)


@pytest.fixture()
def rare_labels() -> np.ndarray:
    """200 x 200 px of class 0 with four 10 x 10 px patches of class 1: 1 % of the pixels."""
    labels = np.zeros((200, 200), np.uint8)
    for r, c in ((20, 30), (60, 150), (130, 80), (170, 170)):
        labels[r : r + 10, c : c + 10] = 1
    return labels


def hit_rate(windows: list[Window], grid: GeoBox, labels: np.ndarray) -> float:
    hits = 0
    for window in windows:
        row, col, h, w = pixel_window(grid, window.grid)  # type: ignore[misc]
        hits += bool((labels[row : row + h, col : col + w] == 1).any())
    return hits / len(windows)


def test_rare_class_drawn_at_least_five_times_more_often(tif, rare_labels: np.ndarray) -> None:
    path: Path = tif("labels.tif", rare_labels, TRANSFORM, UTM31)
    label_source = source_from_file(path, bands=["class"])
    grid = label_source.grid()
    regions = [Region(grid)]
    balanced = ClassBalancedSampler(regions, label_source, 16, 2000, seed=0)
    uniform = RandomGeoSampler(regions, 16, 2000, seed=0)
    assert balanced.frequencies[1] == pytest.approx(0.01, abs=0.003)
    drawn = list(balanced)
    assert all(is_pixel_aligned(grid, w.grid) and w.grid.shape == (16, 16) for w in drawn)
    balanced_rate = hit_rate(drawn, grid, rare_labels)
    uniform_rate = hit_rate(list(uniform), grid, rare_labels)
    assert uniform_rate < 0.1
    assert balanced_rate >= 5 * uniform_rate


def test_label_function_and_power_zero_is_area_weighted(rare_labels: np.ndarray) -> None:
    grid = make_grid((200, 200), TRANSFORM, UTM31)

    def labels_on(target: GeoBox) -> np.ndarray:
        # Coarse cells: sample the top-left pixel of each cell of the target grid.
        col, row = ~grid.affine @ (target.affine.c, target.affine.f)
        step = round(target.resolution.x / 10)
        rows = np.clip(round(row) + step * np.arange(target.shape.y), 0, 199)
        cols = np.clip(round(col) + step * np.arange(target.shape.x), 0, 199)
        return rare_labels[np.ix_(rows, cols)].astype(np.int64)

    regions = [Region(grid)]
    flat = ClassBalancedSampler(regions, labels_on, 16, 2000, power=0.0, seed=1)
    boosted = ClassBalancedSampler(regions, labels_on, 16, 2000, seed=1)
    flat_rate = hit_rate(list(flat), grid, rare_labels)
    assert flat_rate < 0.1
    assert hit_rate(list(boosted), grid, rare_labels) >= 5 * flat_rate
    epoch0 = [w.grid.affine for w in boosted]
    boosted.set_epoch(1)
    assert epoch0 != [w.grid.affine for w in boosted]
