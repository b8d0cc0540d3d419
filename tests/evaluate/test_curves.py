"""Learning-curve figure (eoforge.evaluate.curves)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from tests.evaluate.figure_checks import png_size

from eoforge.errors import MissingFileError
from eoforge.evaluate import curves


def _write_metrics_csv(path: Path) -> Path:
    """Rows as Lightning's CSVLogger writes them: train and val logged on separate rows."""
    header = ["epoch", "step", "train/loss", "val/loss", "val/miou", "lr-AdamW"]
    rows = []
    step = 0
    for epoch in range(4):
        for part in range(2):
            rows.append([epoch, step, 1.0 / (epoch + 1) + 0.1 * part, "", "", 1e-3])
            step += 1
        rows.append([epoch, step, "", 1.2 / (epoch + 1), 0.4 + 0.1 * epoch, ""])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_learning_curves_from_lightning_csv(tmp_path: Path) -> None:
    csv_path = _write_metrics_csv(tmp_path / "metrics.csv")
    png = tmp_path / "lc.png"
    fig = curves.learning_curves(csv_path, path=png)
    width, height = png_size(png)
    assert width > height
    loss_ax, metric_ax = fig.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    assert set(lines) == {"train/loss", "val/loss"}
    train = lines["train/loss"]
    assert list(train.get_xdata()) == [0, 1, 2, 3]
    assert train.get_ydata()[0] == pytest.approx(1.05)  # mean of the epoch's step rows
    assert train.get_linestyle() == "--" and lines["val/loss"].get_linestyle() == "-"
    (miou,) = metric_ax.get_lines()
    assert miou.get_label() == "val/miou"
    assert list(miou.get_ydata()) == pytest.approx([0.4, 0.5, 0.6, 0.7])
    assert metric_ax.get_ylim() == (0.0, 1.0)
    assert loss_ax.get_xlabel() == "epoch"
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["train/loss", "val/loss"]


def test_learning_curves_from_mapping_without_metrics() -> None:
    columns = {
        "step": [0, 1, 2],
        "train/loss_step": [3.0, 2.0, 1.0],
        "train/loss_epoch": [math.nan, math.nan, 2.0],
    }
    fig = curves.learning_curves(columns)
    loss_ax, metric_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["train/loss_epoch"]
    assert "no metrics logged" in [t.get_text() for t in metric_ax.texts]
    assert loss_ax.get_xlabel() == "step"


def test_unbounded_metrics_keep_their_own_axis() -> None:
    fig = curves.learning_curves({"epoch": [0, 1], "val/mae": [3.5, 2.0]})
    assert fig.axes[1].get_ylim()[1] > 3.5


def test_curve_columns_keep_headline_metrics_when_per_class_ones_abound() -> None:
    per_class = [f"val/iou_class{i}" for i in range(curves.MAX_METRIC_CURVES)]
    names = ["epoch", "step", "lr-AdamW", "train/loss", "val/loss", "val/miou", *per_class]
    losses, metrics = curves.curve_columns(dict.fromkeys(names, np.zeros(1)), "epoch")
    assert losses == ["train/loss", "val/loss"]
    assert metrics == ["val/miou"]
    few = ["epoch", "val/miou", "val/iou_water"]
    assert curves.curve_columns(dict.fromkeys(few), "epoch")[1] == ["val/miou", "val/iou_water"]


def test_learning_curves_of_a_missing_log_say_so(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="does not exist"):
        curves.learning_curves(tmp_path / "missing.csv")
