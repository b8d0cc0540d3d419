"""Plume detection scores: detected plumes, false positives per area, bins, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eoforge.errors import ConfigError, MetadataError
from eoforge.methane.plume_scores import (
    PlumeRule,
    detection_above,
    keep_components,
    load_plumes,
    score_granule,
    summarize,
)
from eoforge.synth.world.plumes import Plume

SIZE = 96
PIXEL_M2 = 900.0  # 30 m pixels


def _plumes() -> list[Plume]:
    return [
        Plume(1, "puff", 20.0, 20.0, 4.0, 3000.0, 0.0),
        Plume(2, "puff", 70.0, 70.0, 2.0, 1600.0, 0.0),
    ]


def _truth(plumes: list[Plume]) -> np.ndarray:
    rows = (np.arange(SIZE, dtype=np.float32) + 0.5)[:, None]
    cols = (np.arange(SIZE, dtype=np.float32) + 0.5)[None, :]
    return np.sum([p.render(rows, cols) for p in plumes], axis=0).astype(np.float32)


def test_the_truth_itself_finds_every_plume_without_false_positives() -> None:
    plumes = _plumes()
    truth = _truth(plumes)
    score = score_granule(truth >= 500.0, truth, plumes, PIXEL_M2)
    assert [h.detected for h in score.plumes] == [True, True]
    assert [h.cover for h in score.plumes] == [1.0, 1.0]
    assert score.false_positives == 0 and score.components == 2
    assert score.pixels_fp == score.pixels_fn == 0 and score.pixels_tp == (truth >= 500).sum()
    assert summarize([score])["pixel_iou"] == 1.0
    # puff of sigma 4 px, peak 3000: radius sqrt(2 * 16 * ln 6) = 7.5 px, ~177 px
    assert 160 <= score.plumes[0].pixels <= 190
    assert score.plumes[0].area_m2 == score.plumes[0].pixels * PIXEL_M2
    assert score.area_km2 == pytest.approx(SIZE * SIZE * PIXEL_M2 / 1e6)


def test_a_blob_away_from_plumes_is_a_false_positive_but_one_on_a_tail_is_not() -> None:
    plumes = _plumes()
    truth = _truth(plumes)
    predicted = truth >= 500.0
    predicted[80:85, 5:10] = True  # 25 px on empty ground
    ring = (truth >= 250.0) & (truth < 500.0)  # the faint tail of the plumes
    assert ring.sum() > 5
    predicted |= ring
    score = score_granule(predicted, truth, plumes, PIXEL_M2)
    assert score.false_positives == 1
    assert score.pixels_fp == 25 + ring.sum() and score.pixels_fn == 0
    summary = summarize([score])
    assert summary["fp_per_1000_km2"] == pytest.approx(1000.0 / (SIZE * SIZE * PIXEL_M2 / 1e6))


def test_small_components_are_dropped_and_partial_cover_decides_detection() -> None:
    plumes = _plumes()
    truth = _truth(plumes)
    predicted = np.zeros_like(truth, dtype=bool)
    predicted[50, 5:9] = True  # 4 px: below min_component_px 5
    big = plumes[0].render(
        (np.arange(SIZE, dtype=np.float32) + 0.5)[:, None],
        (np.arange(SIZE, dtype=np.float32) + 0.5)[None, :],
    )
    predicted |= big >= 2000.0  # the plume's core only
    score = score_granule(predicted, truth, plumes, PIXEL_M2)
    assert score.false_positives == 0 and score.components == 1
    core = score.plumes[0].cover
    assert 0.2 < core < 0.6
    assert score.plumes[0].detected and not score.plumes[1].detected
    strict = score_granule(predicted, truth, plumes, PIXEL_M2, PlumeRule(min_cover=0.8))
    assert not strict.plumes[0].detected
    assert keep_components(predicted, 5).sum() == (big >= 2000.0).sum()
    assert detection_above([score], 100) == 1.0  # only plume 1 is that large
    assert detection_above([score], 10) == 0.5
    assert detection_above([score], 10_000) is None


def test_summary_bins_by_size_and_peak() -> None:
    plumes = _plumes()
    truth = _truth(plumes)
    predicted = truth >= 2000.0  # finds the strong plume only
    summary = summarize([score_granule(predicted, truth, plumes, PIXEL_M2)], (0, 100), (0, 2000))
    assert (summary["plumes"], summary["detected"], summary["detection_rate"]) == (2, 1, 0.5)
    small, large = summary["by_size"]
    assert (small["plumes"], small["detected"], large["plumes"], large["detected"]) == (1, 0, 1, 1)
    assert large["high"] is None and small["rate"] == 0.0
    weak, strong = summary["by_peak"]
    assert (weak["rate"], strong["rate"]) == (0.0, 1.0)


def test_invalid_pixels_do_not_count_towards_the_area() -> None:
    plumes = _plumes()
    truth = _truth(plumes)
    valid = np.ones_like(truth, dtype=bool)
    valid[:, : SIZE // 2] = False
    score = score_granule(truth >= 500.0, truth, plumes, PIXEL_M2, valid=valid)
    assert score.area_km2 == pytest.approx(SIZE * SIZE / 2 * PIXEL_M2 / 1e6)
    assert not score.plumes[0].detected  # its pixels lie where nothing is valid


def test_bad_input_names_the_problem(tmp_path: Path) -> None:
    plumes = _plumes()
    truth = _truth(plumes)
    with pytest.raises(ConfigError, match="predict on the truth's grid"):
        score_granule(np.zeros((4, 4), bool), truth, plumes, PIXEL_M2)
    manifest = tmp_path / "hyperspectral.json"
    manifest.write_text(json.dumps({"options": {}}))
    with pytest.raises(MetadataError, match="plumes") as error:
        load_plumes(manifest)
    assert error.value.path == str(manifest)
    manifest.write_text(json.dumps({"plumes": [vars(p) for p in plumes]}))
    assert load_plumes(manifest) == plumes
