"""The field watershed block by block against the whole-scene watershed: one block is the same
result, overlapping blocks agree on >= 99 % of the field pixels (what differs: the whole-scene
watershed's own thin, scattered instances along tracks, which no window holds whole), cut fields
are counted and their blocks grown, and field_polygons reads blocks from the maps' file."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pytest
import rasterio
from affine import Affine
from scipy import ndimage

from eoforge.errors import ConfigError
from eoforge.evaluate.field_objects import instance_agreement
from eoforge.predict.field_blocks import blockwise_instances
from eoforge.predict.fields import FieldPolygonOptions, field_instances, field_polygons
from eoforge.transforms.field_targets import field_targets

Maps = npt.NDArray[np.float32]


def _fields(shape: tuple[int, int], seed: int) -> npt.NDArray[np.int64]:
    """Rows of touching fields 10-40 px long, 8-20 px high, a 2 px track between some rows."""
    rng = np.random.default_rng(seed)
    ids = np.zeros(shape, np.int64)
    number, top = 0, 0
    while top < shape[0]:
        height = int(rng.integers(8, 21))
        left = -int(rng.integers(0, 20))
        while left < shape[1]:
            length = int(rng.integers(10, 41))
            number += 1
            ids[top : top + height, max(left, 0) : left + length] = number
            left += length
        top += height + (2 if rng.random() < 0.4 else 0)
    return ids


def _maps(shape: tuple[int, int], seed: int = 0) -> Maps:
    """The exact maps of :func:`_fields` with smooth noise, as a model would give them."""
    exact = field_targets(_fields(shape, seed)).stacked()
    noise = np.random.default_rng(seed + 1).normal(0, 0.6, exact.shape)
    return np.clip(exact + ndimage.gaussian_filter(noise, (0, 1.5, 1.5)), 0, 1).astype(np.float32)


def _run(maps: Maps, block: int, overlap: int, **kwargs: int) -> tuple[np.ndarray, int, int]:
    def read(window: tuple[slice, slice]) -> tuple[Maps, Maps, Maps]:
        return maps[0][window], maps[1][window], maps[2][window]

    run = blockwise_instances(
        read, maps.shape[1:], block, overlap, lambda *m: field_instances(*m), **kwargs
    )
    return run.instances, run.cut, run.grown


def test_one_block_over_the_scene_is_the_whole_scene_result() -> None:
    maps = _maps((96, 120))
    whole = field_instances(*maps)
    instances, cut, grown = _run(maps, 128, 16)
    assert whole.max() > 20
    assert np.array_equal(instances, whole) and cut == 0 and grown == 0


def test_overlapping_blocks_agree_with_the_whole_scene() -> None:
    maps = _maps((192, 224))
    whole = field_instances(*maps)
    instances, cut, _ = _run(maps, 64, 48)
    assert cut == 0
    assert instance_agreement(whole, instances) >= 0.99
    assert abs(int(instances.max()) - int(whole.max())) <= 0.02 * whole.max()
    # fields never overlap and every whole-scene field pixel is a field pixel here
    assert ((whole > 0) == (instances > 0)).mean() >= 0.995


def test_cut_fields_are_counted_and_their_blocks_grown() -> None:
    maps = _maps((128, 160))
    _, cut, grown = _run(maps, 32, 0, max_overlap=0)  # no overlap, never grown: fields cut
    assert cut > 10 and grown == 0
    instances, fewer, grown = _run(maps, 32, 8, max_overlap=64)
    assert grown > 0 and fewer < cut / 2
    assert instance_agreement(field_instances(*maps), instances) >= 0.95


def test_field_polygons_in_blocks_from_the_maps_file(tmp_path: Path) -> None:
    maps = _maps((160, 192))
    path = tmp_path / "maps.tif"
    transform = Affine(10.0, 0, 500_000.0, 0, -10.0, 4_000_000.0)
    profile = {"driver": "GTiff", "count": 3, "dtype": "float32", "crs": "EPSG:32633"}
    with rasterio.open(
        path, "w", height=160, width=192, transform=transform, tiled=True, **profile
    ) as dst:
        dst.write(maps)
    _, whole_count = field_polygons(path, tmp_path / "whole.parquet")
    options = FieldPolygonOptions(block=64, overlap=32)
    out, count = field_polygons(path, tmp_path / "blocks.parquet", options)
    assert abs(count - whole_count) <= 0.02 * whole_count
    whole = gpd.read_parquet(tmp_path / "whole.parquet")
    blocks = gpd.read_parquet(out)
    assert blocks.area.sum() == pytest.approx(whole.area.sum(), rel=0.01)
    assert not blocks.geometry.is_empty.any() and blocks["field"].tolist() == list(
        range(1, count + 1)
    )


def test_bad_blocks_are_refused() -> None:
    with pytest.raises(ConfigError, match="field blocks of 0 px"):
        FieldPolygonOptions(block=0)
    with pytest.raises(ConfigError, match="overlap of -1 px"):
        FieldPolygonOptions(block=256, overlap=-1)
    maps = _maps((32, 32))
    with pytest.raises(ConfigError, match="field blocks of 0 px"):
        _run(maps, 0, 8)
