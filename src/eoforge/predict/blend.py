"""Weights that fall off towards tile edges, and a row-streaming blender.

Overlapping tiles are averaged with raised-cosine weights so tile borders,
where a network sees the least context, count least. The blender keeps only
the rows that tiles still being predicted can touch, so memory depends on the
tile size and the scene width, never on the scene height.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def ramp(length: int, overlap: int) -> FloatArray:
    """1-D weights: a raised-cosine rise over ``overlap`` pixels at both ends, 1 inside.

    Weights stay strictly positive (the first pixel gets ``sin²(π/(4·overlap))``-like
    small values, not 0), so a pixel covered by a single tile keeps its value.

    Args:
        length: Tile length in pixels.
        overlap: Pixels over which the weight rises; 0 gives all ones.

    Returns:
        float32 ``[length]``.
    """
    weights = np.ones(length, np.float32)
    n = min(overlap, length // 2)
    if n > 0:
        rise = np.sin(0.5 * np.pi * (np.arange(n, dtype=np.float64) + 0.5) / n) ** 2
        weights[:n] = rise
        weights[length - n :] = rise[::-1]
    return weights


def tile_weights(height: int, width: int, overlap: int) -> FloatArray:
    """2-D weights ``[height, width]``: the outer product of two :func:`ramp`s."""
    return np.outer(ramp(height, overlap), ramp(width, overlap)).astype(np.float32)


class RowBlender:
    """Accumulates weighted tile predictions and releases rows once no tile can touch them.

    The row buffer is allocated once (``capacity`` rows, grown only if a tile row needs
    more) and rows still in use are moved to its top on release, so streaming a scene
    costs no allocation per tile row.

    Args:
        channels: Output channels (e.g. class probabilities).
        width: Scene width in pixels.
        height: Scene height in pixels.
        capacity: Rows to allocate up front (about twice the tile height).
    """

    def __init__(self, channels: int, width: int, height: int, capacity: int = 1024) -> None:
        self.channels, self.width, self.height = channels, width, height
        self.top = 0  # scene row of the first buffered row
        self.rows = 0  # buffered rows in use
        rows = max(1, min(capacity, height))
        self.acc = np.zeros((channels, rows, width), np.float32)
        self.wsum = np.zeros((rows, width), np.float32)

    def _grow(self, bottom: int) -> None:
        need = bottom - self.top
        if need > self.acc.shape[1]:
            extra = need - self.acc.shape[1]
            self.acc = np.concatenate(
                [self.acc, np.zeros((self.channels, extra, self.width), np.float32)], axis=1
            )
            self.wsum = np.concatenate([self.wsum, np.zeros((extra, self.width), np.float32)])
        self.rows = max(self.rows, need)

    def add(
        self, values: FloatArray, window: tuple[int, int, int, int], weights: FloatArray
    ) -> None:
        """Add one tile's prediction ``[C, h, w]`` at ``window`` (row, col, h, w)."""
        row, col, h, w = window
        if row < self.top:
            raise ValueError(f"tile at row {row} arrives after rows up to {self.top} were released")
        self._grow(row + h)
        r0 = row - self.top
        self.acc[:, r0 : r0 + h, col : col + w] += values * weights
        self.wsum[r0 : r0 + h, col : col + w] += weights

    def release(self, until: int) -> Iterator[tuple[int, FloatArray]]:
        """Yield ``(first_row, blended [C, rows, W])`` for rows above ``until``; drop them."""
        n = min(until - self.top, self.rows)
        if n <= 0:
            return
        with np.errstate(invalid="ignore", divide="ignore"):
            blended = self.acc[:, :n] / self.wsum[:n]
        yield self.top, blended
        keep = self.rows - n
        self.acc[:, :keep] = self.acc[:, n : self.rows]  # numpy copies overlapping ranges safely
        self.wsum[:keep] = self.wsum[n : self.rows]
        self.acc[:, keep : self.rows] = 0.0
        self.wsum[keep : self.rows] = 0.0
        self.rows = keep
        self.top += n
