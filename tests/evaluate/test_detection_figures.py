"""Detection figures: PR curves with AP in the legend, example images with their boxes drawn
where they are (class colours; ground truth dashed, true positives solid, false positives dotted),
and which bands show an image."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from tests.evaluate.figure_checks import legend_texts, png_rgb, png_size

from eoforge.boxes import oriented_to_corners
from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError
from eoforge.evaluate.detection_curves import class_curves
from eoforge.evaluate.detection_figures import (
    Example,
    detection_examples,
    display_bands,
    display_image,
    pr_curves_figure,
)
from eoforge.evaluate.detection_metrics import detection_scores
from eoforge.evaluate.figures import save_png

CLASSES = [
    ClassInfo(id=0, name="ship", color="#e41a1c"),
    ClassInfo(id=1, name="tank", color="#4daf4a"),
]
RGB = ["RGB.red", "RGB.green", "RGB.blue"]


def _near(
    fig_png: np.ndarray, fig: Figure, ax_index: int, point: tuple[float, float], colour: str
) -> int:
    """Pixels of ``colour`` within 3 px of a data point of axes ``ax_index`` in the saved PNG."""
    fig.set_dpi(110)  # the dpi save_png wrote at, so data points land where they were drawn
    fig.canvas.draw()
    px, py = fig.axes[ax_index].transData.transform(point)
    row, col = round(fig_png.shape[0] - py), round(px)
    window = fig_png[max(row - 3, 0) : row + 4, max(col - 3, 0) : col + 4].astype(np.int16)
    target = np.round(np.asarray(to_rgb(colour)) * 255).astype(np.int16)
    return int((np.abs(window - target) <= 40).all(axis=-1).sum())


def _example(name: str, oriented: bool = False) -> Example:
    image = np.full((3, 64, 80), 20.0, np.float32)  # constant: stretched to black
    if oriented:
        truth = np.array([[40.0, 32.0, 30.0, 10.0, math.pi / 4]])
        boxes = np.array([[40.0, 32.0, 30.0, 10.0, math.pi / 4]])
        return Example(
            name, image, None, truth, np.array([0]), boxes, np.array([0.9]), np.array([0])
        )
    return Example(
        name,
        image,
        None,
        target_boxes=np.array([[10.0, 10.0, 40.0, 20.0], [50.0, 40.0, 60.0, 50.0]]),
        target_labels=np.array([0, 1]),
        boxes=np.array(
            [[10.0, 10.0, 40.0, 20.0], [5.0, 44.0, 25.0, 60.0], [30.0, 30.0, 45.0, 38.0]]
        ),
        scores=np.array([0.9, 0.8, 0.1]),  # a hit, a false positive, one below the threshold
        labels=np.array([0, 1, 0]),
    )


def test_examples_draw_each_box_where_it_is_in_its_class_colour(tmp_path: Path) -> None:
    fig = detection_examples(
        [_example("a.tif"), _example("b.tif", oriented=False)], RGB, CLASSES, score_threshold=0.5
    )
    png = save_png(fig, tmp_path / "examples.png")
    assert png_size(png) == (1100, 539)  # 2 panels: (2 x 4.2 + 1.6) x (4.3 + 0.6) inches at 110 dpi
    rgb = png_rgb(png)
    ship, tank = CLASSES[0].color, CLASSES[1].color
    assert _near(rgb, fig, 0, (25.0, 10.0), ship) > 0  # top edge of the ship (truth and hit)
    assert _near(rgb, fig, 0, (10.0, 15.0), ship) > 0  # its left edge
    assert _near(rgb, fig, 0, (5.0, 52.0), tank) > 0  # left edge of the false-positive tank
    assert _near(rgb, fig, 0, (60.0, 45.0), tank) > 0  # right edge of the missed tank (truth)
    assert _near(rgb, fig, 0, (45.0, 34.0), ship) == 0  # the 0.1 box is not drawn
    assert _near(rgb, fig, 0, (70.0, 25.0), ship) == _near(rgb, fig, 0, (70.0, 25.0), tank) == 0
    ax = fig.axes[0]
    styles = {
        (tuple(np.round(p.get_xy()[0], 3)), p.get_linestyle())
        for p in ax.patches
        if isinstance(p, Polygon)
    }
    assert ((10.0, 10.0), "--") in styles and ((10.0, 10.0), "-") in styles  # truth + hit
    assert ((5.0, 44.0), ":") in styles  # the false positive, dotted
    labels = [t.get_text() for t in ax.texts]
    assert sorted(labels) == ["FP tank 0.80", "ship 0.90"]
    assert "2 objects: 1 found, 1 false positives, 1 missed" in ax.get_title()
    assert legend_texts(fig) == ["ground truth", "true positive", "false positive", "ship", "tank"]


def test_oriented_boxes_are_drawn_as_their_four_corners(tmp_path: Path) -> None:
    fig = detection_examples([_example("o.tif", oriented=True)], RGB, CLASSES, oriented=True)
    png = save_png(fig, tmp_path / "oriented.png")
    rgb = png_rgb(png)
    half = np.array([math.cos(math.pi / 4), -math.sin(math.pi / 4)]) * 15  # half the w side
    end = (40.0 + half[0], 32.0 + half[1])  # middle of a short side: on the rotated outline
    assert _near(rgb, fig, 0, end, CLASSES[0].color) > 0
    assert _near(rgb, fig, 0, (40.0, 32.0), CLASSES[0].color) == 0  # the centre is not outline
    expected = oriented_to_corners(torch.tensor([[40.0, 32.0, 30.0, 10.0, math.pi / 4]]))[0]
    for patch in (p for p in fig.axes[0].patches if isinstance(p, Polygon)):  # truth and hit
        np.testing.assert_allclose(patch.get_xy()[:4], expected.numpy(), atol=1e-9)
    assert "1 objects: 1 found, 0 false positives, 0 missed" in fig.axes[0].get_title()


def test_pr_figure_has_a_curve_per_class_and_ap_in_the_legend() -> None:
    targets = [
        {"boxes": np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float), "labels": np.array([0, 1])}
    ]
    predictions = [
        {
            "boxes": np.array([[0, 0, 10, 10], [40, 0, 50, 10], [20, 0, 30, 10]], float),
            "scores": np.array([0.9, 0.8, 0.3]),
            "labels": np.array([0, 1, 1]),
        }
    ]
    scores = detection_scores(predictions, targets, 3)  # class 2 has no object
    curves = class_curves(scores, ["ship", "tank", "plane"], 0.5)
    fig = pr_curves_figure(curves, CLASSES)
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.lines) == 2
    assert legend_texts(fig) == ["ship: AP 1.000 (1 objects)", "tank: AP 0.500 (1 objects)"]
    assert [line.get_color() for line in ax.lines] == [CLASSES[0].color, CLASSES[1].color]
    recall, precision = ax.lines[1].get_data()
    np.testing.assert_allclose(recall, [0.0, 0.0, 1.0])
    np.testing.assert_allclose(precision, [0.5, 0.5, 0.5])
    assert "plane" in ax.get_title() and "mAP 0.750" in fig.get_suptitle()


def test_bands_shown_are_red_green_blue_else_the_first_band() -> None:
    assert display_bands(["S2.B02", "S2.B03", "S2.B04", "S2.B08"]) == ([2, 1, 0], "rgb")
    assert display_bands(RGB) == ([0, 1, 2], "rgb")
    assert display_bands(["S1.VV", "S1.VH"]) == ([0], "sar")
    assert display_bands(["band1", "band2"]) == ([0], "grey")
    assert display_bands(["S2.B08", "S2.B04"]) == ([0], "grey")


def test_sar_in_linear_power_is_shown_in_db() -> None:
    linear = np.array([[[0.001, 0.01], [0.1, 1.0]]] * 2, np.float32)  # -30, -20, -10, 0 dB
    shown, note = display_image(linear, None, ["S1.VV", "S1.VH"])
    assert shown.shape == (2, 2, 3) and "dB" in note
    db = np.array([-30.0, -20.0, -10.0, 0.0])
    low, high = np.percentile(db, [2, 98])
    # stretched in dB, the middle values sit a third of the way apart (linear: near 0 both)
    np.testing.assert_allclose(
        shown[..., 0].ravel(), np.clip((db - low) / (high - low), 0, 1), atol=1e-5
    )
    in_db = 10 * np.log10(linear)
    again, _ = display_image(in_db, None, ["S1.VV", "S1.VH"])  # already dB: left as is
    np.testing.assert_allclose(again, shown, atol=1e-6)
    masked, _ = display_image(linear, np.array([[True, True], [True, False]]), ["S1.VV", "S1.VH"])
    assert masked[1, 1].tolist() == [0.0, 0.0, 0.0]


def test_an_image_that_does_not_match_its_bands_is_refused() -> None:
    with pytest.raises(ConfigError, match="for 3 bands"):
        display_image(np.zeros((2, 4, 4)), None, RGB)
    with pytest.raises(ConfigError, match="no example"):
        detection_examples([], RGB)
