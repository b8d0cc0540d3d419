"""Figures without pyplot, written atomically as PNGs (eoforge.evaluate.figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tests.evaluate.figure_checks import pixels_of, png_rgb, png_size

from eoforge.evaluate import figures


def test_new_figure_has_its_own_agg_canvas_and_size() -> None:
    fig = figures.new_figure(4.0, 2.5)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    assert tuple(fig.get_size_inches()) == (4.0, 2.5)
    assert fig.get_layout_engine() is not None


def test_save_png_writes_inches_times_dpi_into_a_new_folder(tmp_path: Path) -> None:
    fig = figures.new_figure(4.0, 2.0)
    fig.add_subplot().fill_between([0, 1], 0, 1, color="#d7191c")
    target = tmp_path / "deep" / "folder" / "f.png"
    assert figures.save_png(fig, target, dpi=50) == target
    assert png_size(target) == (200, 100)
    assert pixels_of(png_rgb(target), "#d7191c") > 1000
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.png"]


def test_save_png_replaces_an_existing_file_and_takes_foreign_figures(tmp_path: Path) -> None:
    target = tmp_path / "f.png"
    target.write_bytes(b"old")
    fig = Figure(figsize=(2, 2))  # no canvas of ours
    figures.save_png(fig, target, dpi=20)
    assert png_size(target) == (40, 40)


def test_failed_save_leaves_neither_png_nor_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fig = figures.new_figure(2.0, 2.0)

    def broken(path: Path, **_: Any) -> None:
        Path(path).write_bytes(b"\x89PNG half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        figures.save_png(fig, tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []


def test_finish_figure_writes_only_when_given_a_path(tmp_path: Path) -> None:
    fig = figures.new_figure(1.0, 1.0)
    assert figures.finish_figure(fig, None) is fig
    assert list(tmp_path.iterdir()) == []
    assert figures.finish_figure(fig, tmp_path / "f.png") is fig
    png_size(tmp_path / "f.png")
