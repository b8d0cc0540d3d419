"""Evaluation of the ground on the sub-pixel grid behind one block of an output raster.

An output pixel of size ``gsd`` is sampled ``factor`` x ``factor`` times (the
area average of a 30 m pixel is the mean of nine 10 m samples), with a halo of
``halo`` samples around the block so that blurs and slopes near the block edge
are exact. Nothing here depends on other blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.synth.world.landcover import Ground, ground
from eoforge.synth.world.layout import Layout

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Window:
    """A block of an output raster: (row0, col0, height, width) in pixels, and the pixel size."""

    row0: int
    col0: int
    height: int
    width: int
    gsd: float

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """(row0, col0, height, width)."""
        return (self.row0, self.col0, self.height, self.width)


@dataclass(frozen=True)
class Samples:
    """The ground on the sub-pixel grid of a window.

    Attributes:
        window: The output window.
        factor: Samples per output pixel along each axis.
        halo: Extra samples on each side.
        x: Sample eastings, metres, shape (1, W*factor + 2*halo).
        y: Sample southings, metres, shape (H*factor + 2*halo, 1).
        ground: The ground at the samples.
    """

    window: Window
    factor: int
    halo: int
    x: F64
    y: F64
    ground: Ground

    @property
    def spacing(self) -> float:
        """Distance between samples, metres."""
        return self.window.gsd / self.factor

    def reduce(self, values: npt.NDArray[np.floating]) -> F32:
        """Drop the halo and average each output pixel's samples.

        Args:
            values: Array (..., H*factor + 2*halo, W*factor + 2*halo).

        Returns:
            float32 array (..., H, W).
        """
        h, f = self.halo, self.factor
        core = values[..., h : values.shape[-2] - h, h : values.shape[-1] - h]
        win = self.window
        shaped = core.reshape(*core.shape[:-2], win.height, f, win.width, f)
        out: F32 = shaped.mean(axis=(-3, -1), dtype=np.float64).astype(np.float32)
        return out

    def view(self, window: Window, factor: int, halo: int) -> Samples:
        """The samples of another window (finer factor, smaller halo) within these.

        Args:
            window: Output window whose sub-pixel grid lies inside this one.
            factor: Samples per output pixel of ``window`` along each axis.
            halo: Halo of the view, in samples.

        Returns:
            A :class:`Samples` sharing this one's arrays.
        """
        if self.factor != 1:
            raise ValueError("views are taken from factor-1 samples")
        top = window.row0 * factor - halo - (self.window.row0 - self.halo)
        left = window.col0 * factor - halo - (self.window.col0 - self.halo)
        rows = slice(top, top + window.height * factor + 2 * halo)
        cols = slice(left, left + window.width * factor + 2 * halo)
        if top < 0 or left < 0 or rows.stop > self.y.shape[0] or cols.stop > self.x.shape[1]:
            raise ValueError(f"window {window} lies outside the samples of {self.window}")
        return Samples(
            window, factor, halo, self.x[:, cols], self.y[rows], self.ground.sub(rows, cols)
        )

    def centre(self, values: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        """Drop the halo of an array sampled with ``factor == 1``."""
        if self.factor != 1:
            raise ValueError("centre() needs factor 1")
        h = self.halo
        return values[..., h : values.shape[-2] - h, h : values.shape[-1] - h]


def axes(window: Window, factor: int, halo: int) -> tuple[F64, F64]:
    """Sample coordinates of a window's sub-pixel grid.

    Args:
        window: Output window.
        factor: Samples per pixel along each axis.
        halo: Extra samples on each side.

    Returns:
        (x of shape (1, W'), y of shape (H', 1)) in metres.
    """
    step = window.gsd / factor
    cols = window.col0 * factor - halo + np.arange(window.width * factor + 2 * halo)
    rows = window.row0 * factor - halo + np.arange(window.height * factor + 2 * halo)
    x: F64 = ((cols + 0.5) * step).astype(np.float64)[None, :]
    y: F64 = ((rows + 0.5) * step).astype(np.float64)[:, None]
    return x, y


def sample(
    layout: Layout, window: Window, factor: int, halo: int, date_index: int, n_dates: int
) -> Samples:
    """Evaluate the ground under a window.

    Args:
        layout: Calibrated scene plan.
        window: Output window.
        factor: Samples per pixel along each axis.
        halo: Extra samples on each side.
        date_index: Date index.
        n_dates: Number of dates.

    Returns:
        The :class:`Samples`.
    """
    x, y = axes(window, factor, halo)
    return Samples(window, factor, halo, x, y, ground(layout, x, y, date_index, n_dates))
