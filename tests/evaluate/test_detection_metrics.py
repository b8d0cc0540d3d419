"""Detection AP: hand-computed VOC/DOTA cases, rotated IoU, and agreement with pycocotools."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pytest
import shapely
import torch
from affine import Affine
from odc.geo.geobox import GeoBox
from tests.evaluate.fixtures_detection import crowded_scene, to_coco

from eoforge.boxes import oriented_to_corners
from eoforge.errors import ConfigError
from eoforge.evaluate.detection_metrics import (
    COCO_IOUS,
    COCO_RECALLS,
    detection_scores,
    pairwise_iou,
    pr_curve_points,
    voc_ap,
)
from eoforge.io.vector.boxes import boxes_in_pixels
from eoforge.predict.detections import corners

F32 = np.float32
rotated_iou = axis_aligned_iou = pairwise_iou  # the metrics' IoU, by box width


def oriented_corners(boxes: np.ndarray) -> np.ndarray:
    """``[N, 4, 2]`` corners of ``[N, 5]`` boxes (eoforge.boxes, as numpy)."""
    return oriented_to_corners(torch.as_tensor(np.asarray(boxes, np.float64))).numpy()


def _target(
    boxes: list[list[float]], labels: list[int], difficult: list[bool] | None = None
) -> Any:
    out: dict[str, Any] = {
        "boxes": np.asarray(boxes, F32),
        "labels": np.asarray(labels, np.int64),
    }
    if difficult is not None:
        out["difficult"] = np.asarray(difficult, bool)
    return out


def _found(boxes: list[list[float]], scores: list[float], labels: list[int]) -> Any:
    return {
        "boxes": np.asarray(boxes, F32),
        "scores": np.asarray(scores, F32),
        "labels": np.asarray(labels, np.int64),
    }


# --------------------------------------------------------------------------- IoU


def test_rotated_iou_of_unit_squares_offset_by_half() -> None:
    a = np.array([[0.5, 0.5, 1.0, 1.0, 0.0]])
    b = np.array([[1.0, 0.5, 1.0, 1.0, 0.0]])
    assert rotated_iou(a, b)[0, 0] == pytest.approx(1 / 3, abs=1e-12)


def test_rotated_iou_of_a_square_and_itself_turned_45_degrees() -> None:
    # The overlap is the square less four corner triangles with legs (sqrt2 - 1) / 2:
    # 1 - 4 * ((sqrt2 - 1) / 2) ** 2 = 2 (sqrt2 - 1); union = 2 - 2 (sqrt2 - 1).
    square = np.array([[5.0, 5.0, 1.0, 1.0, 0.0]])
    turned = np.array([[5.0, 5.0, 1.0, 1.0, -math.pi / 4]])
    overlap = 2 * (math.sqrt(2) - 1)
    expected = overlap / (2 - overlap)
    assert expected == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    assert rotated_iou(square, turned)[0, 0] == pytest.approx(expected, abs=1e-12)


def test_rotated_iou_identical_disjoint_and_crossed_boxes() -> None:
    boxes = np.array(
        [
            [10.0, 10.0, 6.0, 2.0, 0.3],
            [50.0, 50.0, 4.0, 4.0, 0.0],
            [0.0, 0.0, 2.0, 1.0, 0.0],
            [0.0, 0.0, 2.0, 1.0, -math.pi / 2],  # the same rectangle standing up
        ]
    )
    iou = rotated_iou(boxes, boxes)
    assert np.diag(iou) == pytest.approx([1.0, 1.0, 1.0, 1.0], abs=1e-12)
    assert iou[0, 1] == 0.0 and iou[1, 0] == 0.0
    # crossed 2 x 1 rectangles share a 1 x 1 square: 1 / (2 + 2 - 1)
    assert iou[2, 3] == pytest.approx(1 / 3, abs=1e-12)
    assert rotated_iou(boxes[:0], boxes).shape == (0, 4)


def test_unrotated_boxes_overlap_as_axis_aligned_boxes() -> None:
    rng = np.random.default_rng(0)
    low = rng.uniform(0, 50, (30, 2))
    aligned = np.concatenate([low, low + rng.uniform(1, 30, (30, 2))], axis=1)
    oriented = np.column_stack(
        [(aligned[:, :2] + aligned[:, 2:]) / 2, aligned[:, 2:] - aligned[:, :2], np.zeros(30)]
    )
    expected = axis_aligned_iou(aligned, aligned)
    assert (expected > 0).sum() > 60  # the check covers many overlapping pairs
    np.testing.assert_allclose(rotated_iou(oriented, oriented), expected, atol=1e-9)
    # two 10 x 10 boxes sharing 5 x 10: 50 / 150
    assert pairwise_iou(np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 0, 15, 10]]))[
        0, 0
    ] == pytest.approx(1 / 3)


def test_rotated_iou_agrees_with_shapely() -> None:
    # eoforge.boxes clips the polygons itself (torch); shapely here: two implementations.
    rng = np.random.default_rng(1)
    sides = np.sort(rng.uniform(2, 20, (40, 2)), axis=1)[:, ::-1]
    boxes = np.c_[rng.uniform(0, 40, (40, 2)), sides, rng.uniform(-math.pi / 2, math.pi / 2, 40)]
    ours = rotated_iou(boxes, boxes)
    assert ((ours > 0) & (ours < 1)).sum() > 100  # many partial overlaps
    polygons = shapely.polygons(oriented_corners(boxes))
    inter = shapely.area(shapely.intersection(polygons[:, None], polygons[None, :]))
    union = shapely.area(shapely.union(polygons[:, None], polygons[None, :]))
    np.testing.assert_allclose(ours, inter / union, atol=1e-9)


def test_corners_follow_the_convention_of_predicted_detections() -> None:
    boxes = np.array([[10.0, 20.0, 8.0, 2.0, 0.4], [3.0, 4.0, 5.0, 5.0, -1.2]])
    np.testing.assert_allclose(oriented_corners(boxes), corners(boxes), atol=1e-12)
    # angle pi/2 - small: the w side points up the image (y decreasing)
    up = oriented_corners(np.array([[0.0, 0.0, 2.0, 0.0, math.pi / 2 - 1e-9]]))[0]
    assert up[1] - up[0] == pytest.approx([0.0, -2.0], abs=1e-6)


# --------------------------------------------------------------------------- VOC


def _three_targets_five_predictions() -> tuple[list[Any], list[Any]]:
    """TP, FP, TP, FP (duplicate), TP in descending score order, 3 targets."""
    targets = [_target([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], [0, 0, 0])]
    predictions = [
        _found(
            [
                [0, 0, 10, 10],
                [100, 100, 110, 110],
                [20, 0, 30, 10],
                [0, 0, 10, 10],
                [41, 0, 51, 10],
            ],
            [0.9, 0.8, 0.7, 0.6, 0.5],
            [0, 0, 0, 0, 0],
        )
    ]
    return predictions, targets


def test_voc12_all_point_ap_by_hand() -> None:
    predictions, targets = _three_targets_five_predictions()
    scores = detection_scores(predictions, targets, 1, style="voc12")
    # precision 1, 1/2, 2/3, 1/2, 3/5 at recall 1/3, 1/3, 2/3, 2/3, 1; envelope 1, 2/3, 3/5
    np.testing.assert_allclose(scores.precision[0], [1, 1 / 2, 2 / 3, 1 / 2, 3 / 5])
    np.testing.assert_allclose(scores.recall[0], [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    assert scores.ap_per_class[0] == pytest.approx(1 / 3 + 2 / 9 + 1 / 5)  # 34/45
    assert scores.map == pytest.approx(34 / 45)
    assert scores.style == "voc12" and scores.ap50 is None and scores.ap75 is None


def test_voc07_eleven_point_ap_by_hand() -> None:
    predictions, targets = _three_targets_five_predictions()
    scores = detection_scores(predictions, targets, 1, style="voc07")
    # recall >= 0..0.3: 1 (4 points); >= 0.4..0.6: 2/3 (3); >= 0.7..1: 3/5 (4)
    assert scores.map == pytest.approx((4 * 1 + 3 * 2 / 3 + 4 * 3 / 5) / 11)


def test_voc_iou_threshold_is_strict() -> None:
    # IoU 90 / 110 = 0.818: a match must exceed the threshold, reaching it is not enough
    targets = [_target([[0, 0, 10, 10]], [0])]
    predictions = [_found([[1, 0, 11, 10]], [0.9], [0])]
    assert detection_scores(predictions, targets, 1, iou_threshold=0.8).map == 1.0
    assert detection_scores(predictions, targets, 1, iou_threshold=90 / 110).map == 0.0


def test_prediction_on_a_difficult_target_is_ignored() -> None:
    targets = [_target([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0], difficult=[False, True])]
    predictions = [
        _found([[100, 0, 110, 10], [50, 50, 60, 60], [0, 0, 10, 10]], [0.9, 0.8, 0.7], [0, 0, 0])
    ]
    scores = detection_scores(predictions, targets, 1)
    # counted: FP, TP (the difficult match drops out); one target counts
    np.testing.assert_allclose(scores.precision[0], [0.0, 0.5])
    np.testing.assert_allclose(scores.recall[0], [0.0, 1.0])
    assert scores.map == pytest.approx(0.5)
    # without the flag: FP, TP, TP over two targets -> precision envelope 2/3 all along
    plain = [_target([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0])]
    assert detection_scores(predictions, plain, 1).map == pytest.approx(2 / 3)
    # a difficult target nobody finds is not missed
    alone = [_found([[0, 0, 10, 10]], [0.9], [0])]
    assert detection_scores(alone, targets, 1).map == 1.0


def test_duplicates_of_one_target_are_one_tp_and_false_positives() -> None:
    targets = [_target([[0, 0, 10, 10]], [0])]
    predictions = [
        _found([[0, 0, 10, 10], [0.5, 0, 10.5, 10], [0, 0.5, 10, 10.5]], [0.9, 0.8, 0.7], [0, 0, 0])
    ]
    scores = detection_scores(predictions, targets, 1)
    np.testing.assert_allclose(scores.precision[0], [1, 1 / 2, 1 / 3])
    np.testing.assert_allclose(scores.recall[0], [1, 1, 1])
    assert scores.map == 1.0
    # a low-scoring lone hit after a high-scoring false positive halves the AP
    late = [_found([[0, 0, 10, 10], [80, 80, 90, 90]], [0.1, 0.9], [0, 0])]
    assert detection_scores(late, targets, 1).map == pytest.approx(0.5)


def test_voc_matches_the_best_target_only_where_coco_takes_the_next() -> None:
    # A and B overlap (IoU 2/3). The second prediction overlaps A most (0.905, taken
    # already) and B by 85/115 = 0.739: VOC counts a false positive, COCO matches B
    # at IoU 0.50..0.70 and not at 0.75..0.95.
    targets = [_target([[0, 0, 10, 10], [2, 0, 12, 10]], [0, 0])]
    predictions = [_found([[0, 0, 10, 10], [0.5, 0, 10.5, 10]], [0.9, 0.8], [0, 0])]
    voc = detection_scores(predictions, targets, 1, style="voc12")
    assert voc.map == pytest.approx(0.5)
    coco = detection_scores(predictions, targets, 1, style="coco")
    assert coco.ap50 == pytest.approx(1.0)
    assert coco.ap75 == pytest.approx(51 / 101)  # precision 1 up to recall 0.5: 51 of 101
    assert coco.map == pytest.approx((5 * 1 + 5 * 51 / 101) / 10)
    assert coco.style == "coco"


def test_coco_ignores_predictions_on_difficult_targets() -> None:
    targets = [_target([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0], difficult=[False, True])]
    predictions = [
        _found([[50, 50, 60, 60], [100, 0, 110, 10], [0, 0, 10, 10]], [0.9, 0.8, 0.7], [0, 0, 0])
    ]
    # counted: FP, TP over one target -> precision 1/2 at every recall point, every IoU
    assert detection_scores(predictions, targets, 1, style="coco").map == pytest.approx(0.5)
    # all count: TP, FP, TP over two -> precision 1 up to recall 0.5 (51 points), then 2/3
    plain = [_target([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0])]
    expected = (51 + 50 * 2 / 3) / 101
    assert detection_scores(predictions, plain, 1, style="coco").map == pytest.approx(expected)


def test_coco_prefers_a_target_that_counts_where_voc_takes_the_best_overlap() -> None:
    # B (difficult) is the prediction itself; A, which counts, overlaps it by 90/110 = 0.818.
    targets = [_target([[0, 0, 10, 10], [1, 0, 11, 10]], [0, 0], difficult=[False, True])]
    predictions = [_found([[1, 0, 11, 10]], [0.9], [0])]
    # COCO matches A at IoU 0.50..0.80 (7 thresholds: AP 1), B at 0.85..0.95 (ignored: AP 0)
    coco = detection_scores(predictions, targets, 1, style="coco")
    assert coco.map == pytest.approx(0.7)
    assert coco.ap50 == pytest.approx(1.0) and coco.ap75 == pytest.approx(1.0)
    # VOC takes B, the best overlap, and ignores the prediction: A is missed
    assert detection_scores(predictions, targets, 1, style="voc12").map == 0.0


def test_classes_without_targets_are_nan_and_left_out_of_the_mean() -> None:
    targets = [_target([[0, 0, 10, 10]], [1]), _target([], [])]
    predictions = [
        _found([[0, 0, 10, 10], [30, 30, 40, 40]], [0.9, 0.8], [1, 2]),
        _found([], [], []),
    ]
    for style in ("voc07", "voc12", "coco"):
        scores = detection_scores(predictions, targets, 3, style=style)  # type: ignore[arg-type]
        assert math.isnan(scores.ap_per_class[0]) and math.isnan(scores.ap_per_class[2])
        assert scores.ap_per_class[1] == pytest.approx(1.0)
        assert scores.map == pytest.approx(1.0)
        assert scores.recall[2].size == 0
    none = detection_scores([_found([], [], [])], [_target([], [])], 2)
    assert math.isnan(none.map)
    missed = detection_scores([_found([], [], [])], [_target([[0, 0, 4, 4]], [0])], 1)
    assert missed.map == 0.0


def test_torch_tensors_give_the_same_scores_as_numpy() -> None:
    predictions, targets = _three_targets_five_predictions()
    as_torch = [{k: torch.from_numpy(v) for k, v in p.items()} for p in predictions]
    targets_torch = [{k: torch.from_numpy(v) for k, v in t.items()} for t in targets]
    scores = detection_scores(as_torch, targets_torch, 1)
    assert scores.map == pytest.approx(34 / 45)
    empty = {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0)}
    assert detection_scores([empty], targets_torch, 1).map == 0.0


def test_oriented_boxes_score_as_dota() -> None:
    targets = [_target([[20, 20, 10, 10, 0.0], [60, 20, 8, 4, 0.5]], [0, 1])]
    # the first turned 45 degrees (IoU 0.707), the second found exactly
    predictions = [
        _found([[20, 20, 10, 10, -math.pi / 4], [60, 20, 8, 4, 0.5]], [0.9, 0.8], [0, 1])
    ]
    loose = detection_scores(predictions, targets, 2, style="voc12", oriented=True)
    assert loose.style == "dota12" and loose.map == 1.0
    strict = detection_scores(
        predictions, targets, 2, style="voc07", oriented=True, iou_threshold=0.75
    )
    assert strict.style == "dota07"
    assert strict.ap_per_class == {0: 0.0, 1: pytest.approx(1.0)}
    # the same boxes read as axis-aligned would be refused
    with pytest.raises(ConfigError, match=r"expected \[N, 4\]"):
        detection_scores(predictions, targets, 2)


def test_voc_ap_of_a_curve() -> None:
    recall = np.array([0.5, 1.0])
    precision = np.array([1.0, 0.5])
    assert voc_ap(recall, precision, eleven_points=False) == pytest.approx(0.75)
    # 0..0.5: 1 (6 points), 0.6..1: 0.5 (5 points)
    assert voc_ap(recall, precision, eleven_points=True) == pytest.approx((6 + 2.5) / 11)
    assert voc_ap(np.zeros(0), np.zeros(0), eleven_points=False) == 0.0


def test_pr_curve_points_start_at_recall_zero_with_the_envelope() -> None:
    predictions, targets = _three_targets_five_predictions()
    scores = detection_scores(predictions, targets, 2)
    recall, precision = pr_curve_points(scores, 0)
    np.testing.assert_allclose(recall, [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    np.testing.assert_allclose(precision, [1, 1, 2 / 3, 2 / 3, 3 / 5, 3 / 5])
    assert pr_curve_points(scores, 1)[0].size == 0
    with pytest.raises(ConfigError, match="class 5"):
        pr_curve_points(scores, 5)


def test_bad_inputs_name_the_fix() -> None:
    predictions, targets = _three_targets_five_predictions()
    with pytest.raises(ConfigError, match="1 images of predictions for 2"):
        detection_scores(predictions, targets * 2, 1)
    with pytest.raises(ConfigError, match="num_classes=0"):
        detection_scores(predictions, targets, 0)
    with pytest.raises(ConfigError, match=r"label 3 outside the classes 0\.\.1"):
        detection_scores(predictions, [_target([[0, 0, 1, 1]], [3])], 2)
    with pytest.raises(ConfigError, match="have no 'scores'"):
        detection_scores([{"boxes": np.zeros((0, 4)), "labels": np.zeros(0)}], targets, 1)
    with pytest.raises(ConfigError, match="5 predictions boxes but 4 scores"):
        bad = dict(predictions[0], scores=np.ones(4, F32))
        detection_scores([bad], targets, 1)
    with pytest.raises(ConfigError, match=r"iou_threshold=1\.0"):
        detection_scores(predictions, targets, 1, iou_threshold=1.0)
    with pytest.raises(ConfigError, match="unknown detection style 'map'"):
        detection_scores(predictions, targets, 1, style="map")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- COCO


def _pycocotools(predictions: list[Any], targets: list[Any], num_classes: int) -> Any:
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    dataset, results = to_coco(predictions, targets, num_classes)
    with contextlib.redirect_stdout(io.StringIO()):  # COCO prints progress
        truth = COCO()
        truth.dataset = dataset
        truth.createIndex()
        found = truth.loadRes(results)
        evaluation = COCOeval(truth, found, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


@pytest.mark.parametrize(("seed", "flood"), [(0, 0), (1, 0), (2, 120)])
def test_coco_agrees_with_pycocotools(seed: int, flood: int) -> None:
    num_classes = 4
    predictions, targets = crowded_scene(seed, num_classes=num_classes, flood=flood)
    assert len(targets[-1]["boxes"]) == 0  # an image without objects
    evaluation = _pycocotools(predictions, targets, num_classes)
    scores = detection_scores(predictions, targets, num_classes, style="coco")
    assert scores.map == pytest.approx(evaluation.stats[0], abs=1e-4)
    assert scores.ap50 == pytest.approx(evaluation.stats[1], abs=1e-4)
    assert scores.ap75 == pytest.approx(evaluation.stats[2], abs=1e-4)
    # per class: area "all", maxDets 100
    table = evaluation.eval["precision"][:, :, :, 0, -1]
    assert table.shape == (len(COCO_IOUS), len(COCO_RECALLS), num_classes)
    for c in range(num_classes):
        counted = table[:, :, c][table[:, :, c] > -1]
        if counted.size:
            assert scores.ap_per_class[c] == pytest.approx(counted.mean(), abs=1e-4)
        else:
            assert math.isnan(scores.ap_per_class[c])
    assert 0.1 < scores.map < 0.9  # the fixture is neither trivial nor hopeless


# --------------------------------------------------------------------------- real DOTA labels


def _dota_objects(path: Path) -> tuple[npt.NDArray[np.float64], list[str], list[bool]]:
    """Quadrilaterals ``[N, 4, 2]``, class names and difficult flags of a DOTA label file."""
    quads, names, difficult = [], [], []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 10 or ":" in parts[0]:
            continue  # imagesource:/gsd: header lines
        quads.append(np.array(parts[:8], dtype=float).reshape(4, 2))
        names.append(parts[8])
        difficult.append(parts[9] == "1")
    return np.stack(quads), names, difficult


def test_real_dota_objects_as_oriented_boxes(real_data: Path) -> None:
    quads, names, difficult = _dota_objects(real_data / "dota" / "labelTxt" / "P1888.txt")
    assert len(quads) == 64
    classes = {name: i for i, name in enumerate(sorted(set(names)))}
    # the image's pixel grid (712 x 557, y down): boxes_in_pixels gives the shared convention
    grid = GeoBox((557, 712), Affine.identity(), "EPSG:32631")
    layer = gpd.GeoDataFrame(
        {"kind": names}, geometry=[shapely.Polygon(q) for q in quads], crs="EPSG:32631"
    )
    boxes, labels = boxes_in_pixels(layer, grid, "kind", oriented=True, classes=classes)
    assert boxes.shape == (64, 5)

    # Each box's corners cover its published quadrilateral (a wrong angle sign would not).
    rectangles = shapely.polygons(oriented_corners(boxes))
    published = shapely.polygons(quads)
    overlap = shapely.area(shapely.intersection(rectangles, published))
    assert (overlap / shapely.area(shapely.union(rectangles, published)) > 0.85).all()

    # The vectorised IoU equals a plain pair-by-pair shapely loop on these crowded boxes.
    iou = rotated_iou(boxes, boxes)
    loop = np.array(
        [[a.intersection(b).area / a.union(b).area for b in rectangles] for a in rectangles]
    )
    np.testing.assert_allclose(iou, loop, atol=1e-9)
    assert ((iou > 0) & (iou < 1)).sum() >= 2  # some neighbours touch or overlap

    # Found exactly: DOTA AP 1 for both classes.
    targets = [{"boxes": boxes, "labels": labels, "difficult": np.array(difficult)}]
    scores = np.linspace(1.0, 0.5, 64, dtype=F32)
    exact = [{"boxes": boxes, "scores": scores, "labels": labels}]
    assert detection_scores(exact, targets, 2, oriented=True).ap_per_class == {0: 1.0, 1: 1.0}
    # Every box moved 8 px along its w side overlaps its object by (w - 8) / (w + 8):
    # below 0.5 for every small vehicle (w <= 22 px), above for every large one (w >= 35 px).
    moved = boxes.copy()
    moved[:, 0] += 8 * np.cos(boxes[:, 4])
    moved[:, 1] -= 8 * np.sin(boxes[:, 4])
    width = boxes[:, 2].astype(np.float64)
    expected = (width - 8) / (width + 8)
    np.testing.assert_allclose(np.diag(rotated_iou(moved, boxes)), expected, atol=1e-5)
    assert width[labels == classes["small-vehicle"]].max() < 24
    assert width[labels == classes["large-vehicle"]].min() > 24
    found = [{"boxes": moved, "scores": scores, "labels": labels}]
    result = detection_scores(found, targets, 2, style="voc07", oriented=True)
    assert result.style == "dota07"
    assert result.ap_per_class == {classes["large-vehicle"]: 1.0, classes["small-vehicle"]: 0.0}
    assert result.map == 0.5


def test_boxes_of_different_widths_are_refused() -> None:
    with pytest.raises(ValueError, match=r"expected \[N, 4\] or \[N, 5\]"):
        pairwise_iou(np.zeros((1, 4)), np.zeros((1, 5)))
