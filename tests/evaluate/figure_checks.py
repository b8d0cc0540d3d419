"""Shared checks of the figure tests: a real scene, PNG decoding, legend texts and colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
"""10 m pixels in UTM zone 31N (EPSG:32631)."""


def date_folder(scene: Path, sensor: str) -> Path:
    """The one acquisition folder of ``sensor`` in a generated scene."""
    return next((scene / sensor).iterdir())


def png_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of a PNG, after checking it decodes completely."""
    with Image.open(path) as image:
        image.verify()  # raises on a truncated or corrupt PNG
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def png_rgb(path: Path) -> np.ndarray:
    """The rendered PNG as uint8 ``[H, W, 3]``."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def pixels_of(rgb: np.ndarray, colour: str, tolerance: int = 2) -> int:
    """How many pixels of ``rgb`` ``[H, W, 3]`` have ``colour`` (``#rrggbb``), ±tolerance."""
    target = np.round(np.asarray(to_rgb(colour)) * 255).astype(np.int16)
    return int((np.abs(rgb.astype(np.int16) - target) <= tolerance).all(axis=-1).sum())


def colours_at(fig: Figure, png: Path, points: list[tuple[float, float]]) -> list[str]:
    """``#rrggbb`` of the PNG that :func:`save_png` wrote of ``fig``, at data points of its map.

    Args:
        fig: The figure written, at the default 110 dpi.
        png: The PNG written.
        points: ``(x, y)`` in the data coordinates of the first axes (column and
            row for a map drawn without a grid).
    """
    fig.set_dpi(110)  # the layout save_png drew, so data points land where they were drawn
    fig.canvas.draw()
    rgb = png_rgb(png)
    out = []
    for x, y in points:
        px, py = fig.axes[0].transData.transform((x, y))
        pixel = rgb[int(rgb.shape[0] - py), int(px)]
        out.append("#{:02x}{:02x}{:02x}".format(*(int(v) for v in pixel)))
    return out


def legend_texts(fig: Figure) -> list[str]:
    """Every legend entry of a figure (figure legends first, then axes legends)."""
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def legend_names(fig: Figure) -> list[str]:
    """Legend entries without their ``" (share %)"`` suffix."""
    return [t.split(" (")[0] for t in legend_texts(fig)]
