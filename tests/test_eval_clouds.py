"""eval_clouds: the real sample's codes as clear/cloud/shadow, per-class scores, its GeoTIFF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from benchmarks.eval_clouds import SIX_BANDS, real_reference, scores, write_real_tif


def test_real_codes_map_shadow_cloud_and_the_clear_sub_classes() -> None:
    codes = np.array([[0, 1, 2], [3, 4, 4]], np.uint8)
    assert real_reference(codes).tolist() == [[2, 0, 0], [0, 1, 1]]


def test_per_class_f1_and_iou_from_one_confusion_matrix() -> None:
    reference = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2], np.uint8)
    predicted = np.array([0, 0, 0, 1, 1, 1, 0, 2, 2, 0], np.uint8)
    out = scores(reference, predicted)
    clear, cloud, shadow = (out["per_class"][k] for k in ("clear", "cloud", "cloud_shadow"))
    # clear: 3 hit, 1 missed, 2 false -> F1 6/9, IoU 3/6
    assert (clear["f1"], clear["iou"], clear["support"]) == (round(2 / 3, 4), 0.5, 4)
    assert (cloud["f1"], cloud["iou"]) == (round(4 / 6, 4), 0.5)  # 2 hit, 1 missed, 1 false
    assert (shadow["f1"], shadow["iou"], shadow["precision"]) == (0.8, round(2 / 3, 4), 1.0)
    assert out["overall_accuracy"] == 0.7
    assert out["cloud_binary_iou"] == 0.5 and out["invalid_binary_iou"] == round(4 / 7, 4)
    never = scores(reference, np.zeros_like(reference))  # a method that marks no cloud
    assert never["per_class"]["cloud"]["f1"] == 0.0 and never["per_class"]["cloud"]["iou"] == 0.0


def test_the_sample_is_written_with_band_names_on_a_30_m_grid(tmp_path: Path) -> None:
    image = np.random.default_rng(0).random((8, 12, 6), dtype=np.float32)
    path = write_real_tif(image, tmp_path / "x.tif")
    with rasterio.open(path) as src:
        assert src.descriptions == SIX_BANDS and src.res == (30.0, 30.0)
        assert np.array_equal(np.moveaxis(src.read(), 0, -1), image)
