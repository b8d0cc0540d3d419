"""eval_change_cross_sensor's scoring: IoU and F1 per class, means over the classes present."""

from __future__ import annotations

import math

import numpy as np
from benchmarks.eval_change_cross_sensor import VARIANTS, score

CLASSES = ["no_change", "flooded", "cleared", "building_change"]


def test_scores_per_class_and_means_over_classes_in_the_truth() -> None:
    truth = np.array([0, 0, 0, 1, 1, 2, -1])
    predicted = np.array([0, 0, 1, 1, 0, 3, 3])  # the unlabelled last pixel never counts
    scored = score(predicted, truth, CLASSES)
    assert scored["iou"]["no_change"] == 0.5 and scored["iou"]["flooded"] == round(1 / 3, 4)
    assert scored["f1"]["no_change"] == round(2 * 2 / 6, 4) and scored["f1"]["cleared"] == 0.0
    assert scored["iou"]["building_change"] == 0.0  # predicted only: a false alarm class
    assert scored["pixels"] == {"no_change": 3, "flooded": 2, "cleared": 1, "building_change": 0}
    assert scored["miou"] == round((0.5 + 1 / 3 + 0.0) / 3, 4)  # classes in the truth only
    assert scored["accuracy"] == round(3 / 6, 4)
    assert math.isnan(score(truth, truth, CLASSES)["f1"]["building_change"])


def test_the_same_sensor_reference_reads_one_sensor_on_two_days() -> None:
    pre, post = VARIANTS["optical_pre+optical_post"].values()
    assert pre["bands"] == post["bands"] and pre["dates"] != post["dates"]
    assert list(VARIANTS["sar_post"]) == ["post"]
    assert VARIANTS["optical_pre+sar_post"]["post"] == VARIANTS["sar_post"]["post"]
