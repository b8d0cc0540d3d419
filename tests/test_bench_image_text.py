"""The pieces of bench_image_text and bench_closp on a tiny scene laid out as eoforge synth lays
scenes out: window truth, window cutting per sensor, zero-shot/retrieval scoring, optical -> SAR
scores against hand-computed values and chance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from affine import Affine
from benchmarks.bench_closp import chance, cross_scores, embed_windows, precision_at, scores_of
from benchmarks.bench_image_text import WINDOW, RandomText, score, truth, window_images
from tests.helpers import write_tif

from eoforge.text import SentenceTower

T = Affine(10, 0, 600_000, 0, -10, 5_700_000)
CRS = "EPSG:32631"
LEGEND = [{"value": v, "name": n} for v, n in ((1, "forest"), (2, "water"), (3, "cropland"))]


def tiny_scene(folder: Path) -> np.ndarray:
    """A 96 x 64 px scene (3 x 2 windows): labels, legend, S2 and S1 band files; returns labels."""
    labels = np.zeros((96, 64), np.uint8)
    blocks = np.array([[1, 2], [3, 1], [2, 2]])
    for r, c in np.ndindex(*blocks.shape):
        labels[r * 32 : (r + 1) * 32, c * 32 : (c + 1) * 32] = blocks[r, c]
    labels[0:10, 0:32] = 2  # window 0 keeps forest as its dominant class (22 of 32 rows)
    labels[32:52, 32:64] = 0  # window 3: 20 of 32 rows nodata, which never dominates
    (folder / "labels").mkdir(parents=True)
    write_tif(folder / "labels" / "landcover_2024.tif", labels[None], T, CRS)
    (folder / "legend.json").write_text(json.dumps({"landcover": LEGEND}))
    for sensor, bands, scale in (("s2", ["S2.B04", "S2.B08"], 0.1), ("s1", ["S1.VV"], -10.0)):
        day = folder / sensor / "20240701"
        day.mkdir(parents=True)
        for i, band in enumerate(bands):
            values = (labels.astype(np.float32) + i) * scale
            write_tif(day / f"{band}.tif", values[None], T, CRS, descriptions=[band])
    return labels


def test_truth_and_windows_follow_the_label_grid(tmp_path: Path) -> None:
    labels = tiny_scene(tmp_path)
    dominant, names, raster = truth(tmp_path)
    assert dominant.tolist() == [1, 2, 3, 1, 2, 2]
    assert names[1:] == ["forest", "water", "cropland"] and raster.name == "landcover_2024.tif"
    optical = window_images(tmp_path, raster, ["S2.B08", "S2.B04"])
    sar = window_images(tmp_path, raster, ["S1.VV"], sensor="s1")
    assert optical.shape == (6, 2, WINDOW, WINDOW) and sar.shape == (6, 1, WINDOW, WINDOW)
    # window 3 is row 1, column 1; bands in the asked order
    block = labels[32:64, 32:64].astype(np.float32)
    np.testing.assert_allclose(optical[3, 0].numpy(), (block + 1) * 0.1, rtol=1e-6)
    np.testing.assert_allclose(optical[3, 1].numpy(), block * 0.1, rtol=1e-6)
    np.testing.assert_allclose(sar[4, 0].numpy(), labels[64:96, 0:32] * -10.0, rtol=1e-6)


class ClassText:
    """Sentences -> one-hot vectors of the class name they contain (a perfect text side)."""

    def __init__(self, names: list[str]) -> None:
        self.names, self.dim, self.name = names, len(names), "one-hot"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            out[i, next(j for j, n in enumerate(self.names) if n in text)] = 1.0
        return out


def test_score_is_perfect_for_a_perfect_tower(tmp_path: Path) -> None:
    tiny_scene(tmp_path)
    dominant, names, raster = truth(tmp_path)
    images = window_images(tmp_path, raster, ["S2.B04"])

    # the tower reads the class off the (unnormalised) mean value: 0.1 x class
    def tower(x: torch.Tensor) -> torch.Tensor:
        ids = (x.mean(dim=(1, 2, 3)) * 10).round().clamp(1, 3).long() - 1
        return torch.nn.functional.one_hot(ids, 3).float()

    result = score(tower, ClassText(["forest", "water", "cropland"]), images,
                   ([0.0], [1.0]), dominant, names)  # fmt: skip
    assert result["classes"] == ["forest", "water", "cropland"]
    # window 0 (22 rows forest, 10 water): mean 0.1 * 42 / 32 = 0.13 -> forest; window 3
    # (12 rows forest, the rest nodata): 0.04 -> forest after the clamp
    assert result["zero_shot_accuracy"] == 1.0 and result["t2i_recall@1"] == 1.0
    assert result["confusion"] == [[2, 0, 0], [0, 3, 0], [0, 0, 1]]


def test_random_text_is_seeded_unit_vectors() -> None:
    tower = SentenceTower()
    a = RandomText(tower, 8).encode(["forest", "water"])
    b = RandomText(tower, 8).encode(["forest", "water"])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)


def test_closp_scores_against_hand_counts() -> None:
    dominant = np.array([0, 0, 1, 1, 1, 2])
    exact = np.eye(3)[dominant] + 0.01 * np.eye(6)[:, :3]  # same class, places told apart
    scores = cross_scores(exact, exact, dominant)
    assert scores["class_map"] == 1.0 and scores["class_recall@1"] == 1.0
    # top 10 of 6 candidates: every relevant one, so precision = mean class share
    assert scores["class_precision@10"] == pytest.approx(np.mean([2, 2, 3, 3, 3, 1]) / 6)
    similarity = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert precision_at(similarity, np.array([[1.0, 0.0], [1.0, 0.0]]), k=1) == 0.5
    flipped = scores_of(-np.eye(2), np.array([0, 1]))  # each finds the other place first
    assert flipped["place_recall@1"] == 0.0 and flipped["place_map"] == 0.5
    luck = chance(dominant, draws=200)
    # a random ranking puts the one same place at rank 1..6 evenly: mAP = mean(1/r)
    assert luck["place_map"] == pytest.approx(np.mean(1 / np.arange(1, 7)), abs=0.03)
    assert luck["place_recall@1"] == pytest.approx(1 / 6, abs=0.04)


def test_embed_windows_normalises_then_batches() -> None:
    images = torch.arange(300 * 2 * 2, dtype=torch.float32).reshape(300, 2, 1, 2)
    out = embed_windows(torch.nn.Flatten(), images, ([1.0, 2.0], [2.0, 4.0]))
    assert out.shape == (300, 4)  # two batches of 256 and 44 windows, in order
    expected = [(1196 - 1) / 2, (1197 - 1) / 2, (1198 - 2) / 4, (1199 - 2) / 4]
    np.testing.assert_allclose(out[299], expected)
