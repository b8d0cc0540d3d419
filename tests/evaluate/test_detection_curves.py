"""Per-class PR curves as data: built from detection_scores, saved as JSON and CSV, read back,
and the AP they give recomputed with each style's interpolation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tests.evaluate.fixtures_detection import crowded_scene

from eoforge.errors import UnreadableFileError
from eoforge.evaluate.detection_curves import (
    CSV_COLUMNS,
    class_curves,
    curve_ap,
    envelope_points,
    read_curves,
    read_curves_csv,
    write_curves,
)
from eoforge.evaluate.detection_metrics import detection_scores, match_image, pr_curve_points

NAMES = ["plane", "ship", "tank", "bridge"]


@pytest.mark.parametrize("style", ["voc07", "voc12", "coco"])
def test_saved_curves_give_back_the_metric_ap(tmp_path: Path, style: str) -> None:
    predictions, targets = crowded_scene(seed=4, flood=120 if style == "coco" else 0)
    scores = detection_scores(predictions, targets, 4, style=style)  # type: ignore[arg-type]
    write_curves(class_curves(scores, NAMES, 0.5), tmp_path / "c.json", tmp_path / "c.csv")
    curves = read_curves(tmp_path / "c.json")
    assert curves.style == style and curves.iou_threshold == 0.5
    assert [c.name for c in curves.classes] == NAMES
    recomputed = {c.class_id: curve_ap(c, style) for c in curves.classes}
    if style == "coco":  # the curve is COCO's IoU-0.5 curve: its classes average to AP50
        assert scores.ap50 is not None
        assert np.nanmean(list(recomputed.values())) == pytest.approx(scores.ap50, abs=1e-9)
    else:
        for c, ap in scores.ap_per_class.items():
            if math.isnan(ap):
                assert math.isnan(recomputed[c])
            else:
                assert recomputed[c] == pytest.approx(ap, abs=1e-9)
    for curve in curves.classes:
        assert curve.positives == sum(int((t["labels"] == curve.class_id).sum()) for t in targets)
        if curve.positives == 0:  # the last class has only false positives
            assert curve.recall.size == 0 and math.isnan(curve.ap)
            continue
        assert np.all(np.diff(curve.recall) >= 0), "recall never decreases down the ranking"
        assert np.all(np.diff(curve.scores) <= 0), "points are in descending score order"
        assert curve.recall[-1] <= 1.0 and np.all((curve.precision >= 0) & (curve.precision <= 1))
    # the bridge class has predictions but no targets: no curve, NaN AP, null in the JSON
    raw = json.loads((tmp_path / "c.json").read_text())
    assert raw["classes"][3]["ap"] is None and raw["classes"][3]["recall"] == []


def test_curve_points_and_scores_follow_the_ranking_by_hand() -> None:
    # one image, one class, 3 targets; predictions by score: hit, miss, hit, duplicate of a hit
    targets = [{"boxes": np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], float),
                "labels": np.zeros(3, np.int64)}]  # fmt: skip
    predictions = [
        {
            "boxes": np.array([[0, 0, 10, 10], [60, 60, 70, 70], [20, 0, 30, 10], [0, 0, 10, 9]]),
            "scores": np.array([0.9, 0.8, 0.7, 0.6]),
            "labels": np.zeros(4, np.int64),
        }
    ]
    scores = detection_scores(predictions, targets, 1, style="voc12")
    (curve,) = class_curves(scores, ["ship"], 0.5).classes
    np.testing.assert_allclose(curve.scores, [0.9, 0.8, 0.7, 0.6])
    np.testing.assert_allclose(curve.recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(curve.precision, [1.0, 0.5, 2 / 3, 0.5])
    # all-point AP: 1/3 at precision 1, then 1/3 at the envelope 2/3
    assert curve_ap(curve, "voc12") == pytest.approx(1 / 3 + 2 / 9)
    assert scores.ap_per_class[0] == pytest.approx(1 / 3 + 2 / 9)
    recall, precision = envelope_points(curve)
    expected = pr_curve_points(scores, 0)
    np.testing.assert_allclose(recall, expected[0])
    np.testing.assert_allclose(precision, expected[1])
    # the same image matched at an operating point: the duplicate is a false positive
    positive, found = match_image(predictions[0], targets[0])
    assert positive.tolist() == [True, False, True, False] and found.tolist() == [True, True, False]


def test_csv_holds_one_row_per_curve_point(tmp_path: Path) -> None:
    predictions, targets = crowded_scene(seed=2)
    scores = detection_scores(predictions, targets, 4)
    curves = class_curves(scores, [f"class, {n}" for n in NAMES], 0.5)  # a comma in a name
    write_curves(curves, tmp_path / "c.json", tmp_path / "c.csv")
    header = (tmp_path / "c.csv").read_text().splitlines()[0]
    assert header == ",".join(CSV_COLUMNS)
    columns = read_curves_csv(tmp_path / "c.csv")
    for curve in curves.classes:
        rows = columns["class_id"] == curve.class_id
        assert int(rows.sum()) == len(curve.recall)
        np.testing.assert_array_equal(columns["recall"][rows], curve.recall)
        np.testing.assert_array_equal(columns["precision"][rows], curve.precision)
        np.testing.assert_array_equal(columns["score"][rows], curve.scores)
        np.testing.assert_array_equal(columns["rank"][rows], np.arange(1, rows.sum() + 1))


def test_a_file_that_is_not_curves_is_refused_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"style": "voc12", "classes": [{"id": 0}]}')
    with pytest.raises(UnreadableFileError, match="not a precision-recall curves file") as info:
        read_curves(path)
    assert "eoforge evaluate" in str(info.value)
