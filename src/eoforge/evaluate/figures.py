"""Figures without ``pyplot``: a figure on its own Agg canvas, written atomically as a PNG.

Every figure of :mod:`eoforge.evaluate` is built with :func:`new_figure` (no
global figure state, no display needed) and written with :func:`save_png`,
which writes to a temporary name and renames, so a failed run never leaves a
half-written image.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PathLike = str | os.PathLike[str]


def new_figure(
    width: float, height: float, *, layout: Literal["constrained", "compressed"] = "constrained"
) -> Figure:
    """A figure on its own Agg canvas (no pyplot state).

    Args:
        width: Width in inches.
        height: Height in inches.
        layout: ``"compressed"`` suits maps (fixed-aspect axes), ``"constrained"`` charts.

    Returns:
        The empty figure.
    """
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: PathLike, *, dpi: int = 110) -> Path:
    """Write a figure as a PNG atomically (temporary name in the same folder, then rename).

    Args:
        fig: The figure.
        path: Final PNG path; its folder is created.
        dpi: Dots per inch (the figure's inches times this give the size in pixels).

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def finish_figure(fig: Figure, path: PathLike | None) -> Figure:
    """Write ``fig`` with :func:`save_png` when ``path`` is given; return it either way.

    Args:
        fig: The finished figure.
        path: PNG path, or None to only return the figure.

    Returns:
        ``fig``.
    """
    if path is not None:
        save_png(fig, path)
    return fig


__all__ = ["PathLike", "finish_figure", "new_figure", "save_png"]
