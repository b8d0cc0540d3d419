"""Overviews of a raster on a finer grid, averaged from its finished pieces as they are written.

GDAL's COG driver computes a COG's overviews by reading the whole raster once
more (besides the read it compresses), writing them to a scratch file and
reading that back, serially after the prediction. On a grid ``scale`` times
finer than the plan (super-resolution), every piece of finished pixels starts
and ends on multiples of ``scale`` output pixels, so its 2x, 4x, ... averages up
to ``scale`` (the powers of two dividing it) are computable from the piece
alone: the writer thread computes them beside the model from the values it
holds anyway (:mod:`.cog_tiles`). The deeper levels (whose pixels cross pieces)
are halved from the coarsest exact one, a ``scale²``-times smaller raster, when
publishing.

The levels are the ones GDAL's COG driver makes for the raster
(:func:`cog_overview_factors`) and their values are its ``average``: the mean of
the valid (non-NaN) pixels under each overview pixel, NaN where none is. Levels
deeper than ``scale`` average the coarsest exact level's valid pixels; where a
level has an odd number of rows or columns, its last overview row or column
averages the one left (GDAL weighs the source pixels by the exact ratio of the
sizes there instead).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from eoforge.predict.cog import COG_BLOCK

FloatArray = npt.NDArray[np.float32]


def cog_overview_factors(height: int, width: int, block: int = COG_BLOCK) -> list[int]:
    """Overview factors GDAL's COG driver makes for a ``height x width`` raster.

    Levels halve (rounding up) until both sides fit in one ``block``-px tile.

    Args:
        height: Rows of the full-resolution raster (pixels).
        width: Columns (pixels).
        block: The COG's tile side (pixels).

    Returns:
        Factors ``[2, 4, ...]`` (empty when the raster fits in one tile).
    """
    factors, h, w, f = [], height, width, 1
    while h > block or w > block:
        f *= 2
        h, w = -(-height // f), -(-width // f)
        factors.append(f)
    return factors


def exact_factors(factors: list[int], scale: int) -> list[int]:
    """The leading ``factors`` that divide ``scale`` (computable piece by piece)."""
    out = []
    for f in factors:
        if scale % f:
            break
        out.append(f)
    return out


def averages(values: FloatArray, levels: int) -> list[FloatArray]:
    """2x, 4x, ... averages of ``values`` over the valid (non-NaN) pixels.

    Args:
        values: ``[n, h, w]`` float32, ``h`` and ``w`` multiples of ``2**levels``.
        levels: How many halvings.

    Returns:
        ``levels`` arrays ``[n, h / 2**k, w / 2**k]`` (k = 1 ..), float32: the mean of
        the valid pixels of ``values`` under each pixel, NaN where none is valid.
    """
    out: list[FloatArray] = []
    missing = np.isnan(values)
    if not missing.any():  # the common case: means of means are the means
        level = values
        for _ in range(levels):
            level = _pair_sums(level) * np.float32(0.25)
            out.append(level)
        return out
    sums: FloatArray = np.where(missing, np.float32(0), values)
    counts: FloatArray = (~missing).astype(np.float32)
    for _ in range(levels):
        sums, counts = _pair_sums(sums), _pair_sums(counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append((sums / counts).astype(np.float32, copy=False))  # 0 / 0: NaN
    return out


def halve(values: FloatArray) -> FloatArray:
    """The 2x average of ``values`` ``[n, h, w]`` (any sizes) over its valid pixels.

    Returns:
        ``[n, ceil(h / 2), ceil(w / 2)]`` float32; an odd last row or column is
        averaged alone (padded with NaN).
    """
    n, h, w = values.shape
    if h % 2 or w % 2:
        padded = np.full((n, h + h % 2, w + w % 2), np.nan, np.float32)
        padded[:, :h, :w] = values
        values = padded
    return averages(values, 1)[0]


def _pair_sums(a: FloatArray) -> FloatArray:
    """Sums of the 2 x 2 pixel squares of ``a`` ``[n, h, w]`` (even ``h``, ``w``)."""
    rows = a[:, 0::2] + a[:, 1::2]
    out: FloatArray = rows[:, :, 0::2] + rows[:, :, 1::2]
    return out
