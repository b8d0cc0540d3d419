"""Tiled prediction: seamless blending, no offset, nodata kept, a valid COG."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from rio_cogeo.cogeo import cog_validate
from tests.helpers import write_tif

from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.predict import OutputSpec, TilingOptions, predict_scene
from eoforge.predict.blend import ramp, tile_weights

T = Affine(10, 0, 600000, 0, -10, 5700000)


def test_ramp_is_positive_symmetric_and_one_inside() -> None:
    w = ramp(64, 16)
    assert (w > 0).all() and np.allclose(w, w[::-1]) and (w[16:48] == 1).all()
    assert w[0] < 0.01 and tile_weights(8, 8, 0).min() == 1


def _values(n: int) -> OutputSpec:
    return OutputSpec("values", names=tuple(f"b{i + 1}" for i in range(n)))


@pytest.mark.parametrize(
    ("tile", "overlap", "batch", "block"),
    [(128, 32, 3, 128), (96, 0, 2, 200), (256, 64, 8, 512), (64, 16, 3, 150)],
)
def test_identity_model_reproduces_the_scene(
    tmp_path: Path, tile: int, overlap: int, batch: int, block: int
) -> None:
    rows, cols = np.mgrid[0:300, 0:500].astype(np.float32)
    data = np.stack([rows * 1000 + cols, rows, cols, np.sin(rows / 7) * np.cos(cols / 11)])
    data[:, 40:60, 100:180] = -9999  # nodata block
    path = write_tif(
        tmp_path / "scene.tif",
        data.astype(np.float32),
        T,
        "EPSG:32631",
        nodata=-9999,
        descriptions=["b1", "b2", "b3", "b4"],
    )
    source = source_from_file(path)
    grid = make_grid((300, 500), T, "EPSG:32631")
    out = predict_scene(
        lambda x: x,
        source,
        grid,
        ["b1", "b2", "b3", "b4"],
        tmp_path / "out",
        spec=_values(4),
        options=TilingOptions(tile, overlap, batch, block, multiple=16),
    )["values"]
    assert out == tmp_path / "out_values.tif"
    assert cog_validate(str(out), quiet=True)[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out_values.tif", "scene.tif"]
    with rasterio.open(out) as ds:
        assert ds.crs == rasterio.crs.CRS.from_epsg(32631) and ds.transform == T
        assert ds.overviews(1) or max(ds.shape) <= 512  # no overview below one COG block
        got = ds.read()
    invalid = data[0] == -9999
    assert np.isnan(got[:, invalid]).all()
    np.testing.assert_allclose(got[:, ~invalid], data[:, ~invalid], rtol=1e-6, atol=1e-4)


def test_blend_of_two_models_in_overlap_is_weighted(tmp_path: Path) -> None:
    data = np.ones((1, 64, 200), np.float32)
    path = write_tif(tmp_path / "ones.tif", data, T, "EPSG:32631", descriptions=["b1"])
    grid = make_grid((64, 200), T, "EPSG:32631")
    calls = {"n": 0}

    def alternating(x: torch.Tensor) -> torch.Tensor:
        outs = []
        for item in x:  # tiles alternate between 0 and 1: overlaps must blend smoothly
            outs.append(item * (calls["n"] % 2))
            calls["n"] += 1
        return torch.stack(outs)

    out = predict_scene(
        alternating,
        source_from_file(path),
        grid,
        ["b1"],
        tmp_path / "o",
        spec=_values(1),
        options=TilingOptions(64, 32, 1),
    )
    with rasterio.open(out["values"]) as ds:
        row = ds.read(1)[32]
    assert row.min() >= 0 and row.max() <= 1
    assert np.abs(np.diff(row)).max() < 0.2  # no hard seams between tiles


def test_large_output_is_a_cog_with_overviews(tmp_path: Path) -> None:
    data = np.random.default_rng(0).random((2, 700, 1100), dtype=np.float32)
    path = write_tif(tmp_path / "big.tif", data, T, "EPSG:32631", descriptions=["b1", "b2"])
    grid = make_grid((700, 1100), T, "EPSG:32631")
    out = predict_scene(
        lambda x: x,
        source_from_file(path),
        grid,
        ["b1", "b2"],
        tmp_path / "big_out",
        spec=_values(2),
    )["values"]
    assert cog_validate(str(out), quiet=True)[0]
    with rasterio.open(out) as ds:
        assert ds.overviews(1)[:1] == [2]
        np.testing.assert_allclose(ds.read(), data, rtol=1e-6)


@pytest.mark.parametrize(
    ("length", "max_tile", "overlap"),
    [(2048, 1024, 32), (10_000, 1024, 32), (300, 128, 32), (97, 128, 8), (5000, 512, 64)],
)
def test_tile_layout_covers_overlaps_and_wastes_little(
    length: int, max_tile: int, overlap: int
) -> None:
    from eoforge.predict.tiling import axis_layout

    tile, starts = axis_layout(length, max_tile, overlap)
    assert tile <= max(max_tile, length) and starts[0] == 0 and starts[-1] + tile == length
    if len(starts) > 1:
        assert tile % 32 == 0
        assert max(b - a for a, b in itertools.pairwise(starts)) <= tile - overlap
    covered = len(starts) * tile
    fixed = (
        math.ceil((length - overlap) / (max_tile - overlap)) * max_tile
        if length > max_tile
        else length
    )
    assert covered <= fixed  # never more work than a fixed-stride layout
