"""Object-level field scores on hand-made polygons with known answers."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from eoforge.errors import ConfigError
from eoforge.evaluate.field_objects import instance_agreement, score_fields


def test_identical_fields_score_perfectly() -> None:
    fields = [box(0, 0, 4, 4), box(5, 0, 9, 4), box(0, 5, 9, 9)]
    s = score_fields(fields, fields)
    assert (s.matched, s.matched_iou, s.recovered, s.precision) == (3, 1.0, 1.0, 1.0)
    assert (s.over_segmentation, s.under_segmentation, s.total_error) == (0.0, 0.0, 0.0)
    assert (s.split, s.merged) == (0.0, 0.0)


def test_a_split_field_is_over_segmented() -> None:
    reference = [box(0, 0, 10, 4)]  # area 40
    predicted = [box(0, 0, 6, 4), box(6, 0, 10, 4)]  # 60 % and 40 % of it
    s = score_fields(predicted, reference)
    assert s.matched == 1 and s.matched_iou == pytest.approx(0.6)  # only the larger part
    assert s.recovered == 1.0 and s.precision == 0.5
    assert s.over_segmentation == pytest.approx(0.4) and s.under_segmentation == 0.0
    assert s.total_error == pytest.approx(math.sqrt(0.4**2 / 2))
    assert s.split == 1.0 and s.merged == 0.0


def test_merged_fields_are_under_segmented() -> None:
    reference = [box(0, 0, 6, 4), box(6, 0, 10, 4)]  # areas 24 and 16
    predicted = [box(0, 0, 10, 4)]  # both as one
    s = score_fields(predicted, reference)
    assert s.matched == 1 and s.matched_iou == pytest.approx(0.6)
    assert s.recovered == 0.5 and s.precision == 1.0
    assert s.over_segmentation == 0.0
    assert s.under_segmentation == pytest.approx((0.4 + 0.6) / 2)
    assert s.merged == 1.0 and s.split == 0.0


def test_missed_and_invented_fields() -> None:
    reference = [box(0, 0, 4, 4), box(10, 10, 14, 14)]
    predicted = [box(0, 0, 4, 4), box(20, 20, 22, 22)]
    s = score_fields(predicted, reference)
    assert (s.matched, s.recovered, s.precision) == (1, 0.5, 0.5)
    # the missed field counts OS = US = 1
    assert s.over_segmentation == 0.5 and s.under_segmentation == 0.5


def test_below_half_iou_is_no_match_and_one_to_one() -> None:
    reference = [box(0, 0, 4, 4)]
    s = score_fields([box(2, 0, 6, 4)], reference)  # IoU 8 / 24
    assert s.matched == 0 and math.isnan(s.matched_iou) and s.recovered == 0.0
    twice = score_fields([box(0, 0, 4, 4), box(0, 0, 4, 4)], reference)
    assert twice.matched == 1 and twice.precision == 0.5


def test_layers_in_other_crs_are_compared_in_the_reference_crs() -> None:
    reference = gpd.GeoDataFrame(geometry=[box(500_000, 0, 500_040, 40)], crs="EPSG:32631")
    predicted = reference.to_crs("EPSG:4326")
    s = score_fields(predicted, reference)
    assert s.matched == 1 and s.matched_iou == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ConfigError, match="one field layer has a CRS"):
        score_fields(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]), reference)
    empty = score_fields([], reference)
    assert empty.predicted_fields == 0 and empty.recovered == 0.0 and math.isnan(empty.precision)


def test_instance_agreement_pairs_fields_whatever_their_ids() -> None:
    a = np.zeros((4, 8), int)
    a[:, :4], a[:, 4:] = 1, 2
    assert instance_agreement(a, a) == 1.0
    assert instance_agreement(a, 3 - a) == 1.0  # ids swapped: the same fields
    merged = (a > 0).astype(int)  # one field where a has two: only one pair is mutual
    assert instance_agreement(a, merged) == 0.5
    assert instance_agreement(np.zeros((2, 2), int), np.zeros((2, 2), int)) == 0.0
    with pytest.raises(ConfigError, match="cannot be compared"):
        instance_agreement(a, a[:2])
