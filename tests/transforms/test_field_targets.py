"""Field-boundary targets: polygons numbered per field, rasterised, turned into targets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import torch
from affine import Affine
from odc.geo.geobox import GeoBox
from shapely.geometry import box

from eoforge.errors import ConfigError
from eoforge.io.vector.fields import FIELD_NUMBER, number_fields, rasterize_fields
from eoforge.transforms.field_targets import batch_field_targets, field_targets

CRS = "EPSG:32631"
ORIGIN_X, ORIGIN_Y = 600_000.0, 5_000_000.0


def grid(height: int = 20, width: int = 30) -> GeoBox:
    return GeoBox((height, width), Affine(10.0, 0, ORIGIN_X, 0, -10.0, ORIGIN_Y), CRS)


def cell(row0: int, col0: int, row1: int, col1: int):  # pixel rows/cols -> map box
    return box(
        ORIGIN_X + 10 * col0, ORIGIN_Y - 10 * row1, ORIGIN_X + 10 * col1, ORIGIN_Y - 10 * row0
    )


def two_adjacent_fields() -> gpd.GeoDataFrame:
    """Fields a (rows 2-11, cols 2-11) and b (rows 2-11, cols 12-21) share an edge."""
    return gpd.GeoDataFrame(
        {"field_id": ["a", "b"]}, geometry=[cell(2, 2, 12, 12), cell(2, 12, 12, 22)], crs=CRS
    )


def test_adjacent_fields_get_a_boundary_between_them() -> None:
    numbers = rasterize_fields(number_fields(two_adjacent_fields(), "field_id"), grid())
    assert sorted(np.unique(numbers).tolist()) == [0, 1, 2]
    targets = field_targets(numbers, width=1)
    row = 6
    # the union would be one field with no edge at columns 11|12; per field, both rings
    assert targets.boundary[row, 11] and targets.boundary[row, 12]
    assert targets.extent[2:12, 2:22].all() and targets.extent.sum() == 200
    # each 10 x 10 field: ring of 36 pixels at width 1
    assert targets.boundary.sum() == 2 * 36
    wide = field_targets(numbers, width=2)
    assert wide.boundary.sum() == 2 * (100 - 36)  # the inner 6 x 6 stays out


def test_distance_is_zero_on_the_ring_and_one_at_the_centre() -> None:
    numbers = rasterize_fields(number_fields(two_adjacent_fields()), grid())
    distance = field_targets(numbers).distance
    assert distance[2, 2] == 0.0 and distance[2, 7] == 0.0  # outer ring
    # 10 x 10 field: edge distances 1..5, so the 2 x 2 core is 1 and the next ring 0.75
    assert np.allclose(distance[6:8, 6:8], 1.0)
    assert np.isclose(distance[5, 5], 0.75)
    assert distance[0].max() == 0.0 and distance.max() == 1.0


def test_window_edge_is_not_a_field_edge() -> None:
    numbers = np.zeros((6, 6), np.int32)
    numbers[:, :4] = 7  # a field cut by the top, bottom and left of the window
    targets = field_targets(numbers)
    assert targets.boundary[:, 3].all()  # its edge inside the window
    assert not targets.boundary[:, 0].any()  # the window's edge
    assert np.allclose(targets.distance[:, 0], 1.0)
    whole = field_targets(np.full((4, 4), 3, np.int32))  # a field filling the window
    assert not whole.boundary.any() and np.allclose(whole.distance, 1.0)


def test_same_identifier_is_one_field_and_numbers_are_integers() -> None:
    frame = gpd.GeoDataFrame(
        {"field_id": ["x", "y", "x"]},
        geometry=[cell(0, 0, 4, 4), cell(0, 5, 4, 9), cell(6, 0, 9, 4)],
        crs=CRS,
    )
    numbered = number_fields(frame, "field_id")
    assert numbered[FIELD_NUMBER].tolist() == [1, 2, 1]
    assert number_fields(frame)[FIELD_NUMBER].tolist() == [1, 2, 3]
    with pytest.raises(ConfigError, match="no field column 'parcel'"):
        number_fields(frame, "parcel")


def test_batch_targets_stack_extent_boundary_distance() -> None:
    numbers = rasterize_fields(number_fields(two_adjacent_fields()), grid())
    batch = torch.from_numpy(np.stack([numbers, np.zeros_like(numbers)])).long()
    out = batch_field_targets(batch, width=1)
    assert out.shape == (2, 3, 20, 30) and out.dtype == torch.float32
    single = field_targets(numbers)
    assert torch.equal(out[0, 1], torch.from_numpy(single.boundary.astype(np.float32)))
    assert out[1].abs().sum() == 0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="integer"):
        field_targets(np.zeros((3, 3), np.float32))
    with pytest.raises(ConfigError, match="below 1"):
        field_targets(np.zeros((3, 3), np.int32), width=0)
