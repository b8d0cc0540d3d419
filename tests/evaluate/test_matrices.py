"""Confusion-matrix figure (eoforge.evaluate.matrices)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.evaluate.figure_checks import png_size

from eoforge.errors import ConfigError
from eoforge.evaluate import matrices

MATRIX = [[90, 10, 0], [5, 45, 0], [0, 0, 0]]
NAMES = ["water", "forest", "urban"]


def test_confusion_matrix_annotates_ratios_and_counts(tmp_path: Path) -> None:
    png = tmp_path / "cm.png"
    fig = matrices.confusion_matrix(MATRIX, NAMES, path=png)
    png_size(png)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "0.90\n90" in texts and "0.10\n10" in texts and "0.90\n45" in texts
    assert ax.get_xlabel() == "prediction" and ax.get_ylabel() == "reference"
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES
    ratios = matrices.normalized_matrix(MATRIX, "true")
    assert ratios.sum(axis=1) == pytest.approx([1.0, 1.0, 0.0])
    assert matrices.normalized_matrix(MATRIX, "pred")[:, 0] == pytest.approx([90 / 95, 5 / 95, 0])


def test_confusion_matrix_colours_the_row_shares() -> None:
    fig = matrices.confusion_matrix(MATRIX, NAMES)
    image = fig.axes[0].images[0]
    np.testing.assert_allclose(
        np.asarray(image.get_array()),
        [[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 0.0]],
    )
    assert image.get_clim() == (0.0, 1.0)
    assert "rows sum to 1" in fig.axes[1].get_ylabel()
    texts = {t.get_text(): t.get_color() for t in fig.axes[0].texts}
    assert texts["0.90\n90"] == "white" and texts["0.10\n10"] == "#222222"  # readable on blue


def test_confusion_matrix_of_counts_and_of_all_pixels() -> None:
    counts = matrices.confusion_matrix(MATRIX, NAMES, normalize=None)
    assert "5" in [t.get_text() for t in counts.axes[0].texts]
    assert counts.axes[0].images[0].get_clim() == (0.0, 90.0)
    everything = matrices.normalized_matrix(MATRIX, "all")
    assert everything.sum() == pytest.approx(1.0) and everything[0, 0] == pytest.approx(0.6)


def test_large_confusion_matrix_is_colour_only() -> None:
    k = matrices.MAX_ANNOTATED + 1
    fig = matrices.confusion_matrix(np.eye(k) * 10, [f"c{i}" for i in range(k)])
    assert len(fig.axes[0].texts) == 0


def test_confusion_matrix_rejects_mismatched_names() -> None:
    with pytest.raises(ConfigError, match="2 class names"):
        matrices.confusion_matrix(np.eye(3), ["a", "b"])
    with pytest.raises(ConfigError, match="normalize"):
        matrices.normalized_matrix(np.eye(2), "rows")
