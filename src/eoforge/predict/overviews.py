"""Overviews of a raster on a finer grid, averaged from its finished pieces as they are written.

GDAL's COG driver computes a COG's overviews by reading the whole raster once
more (besides the read it compresses), writing them to a scratch file and
reading that back, serially after the prediction. On a grid ``scale`` times
finer than the plan (super-resolution), every piece of finished pixels starts
and ends on multiples of ``scale`` output pixels, so its 2x, 4x, ... averages up
to ``scale`` (the powers of two dividing it) are computable from the piece
alone: the writer thread computes them beside the model from the values it
holds anyway and writes them as small pieces of their own. Publishing mosaics
each level, lets GDAL average the deeper levels (whose pixels cross pieces)
from the coarsest exact one, a ``scale²``-times smaller raster, and hands the
levels to the COG driver as the source's overviews.

The levels are the ones GDAL's COG driver makes for the raster
(:func:`cog_overview_factors`) and their values are its ``average``: the mean of
the valid (non-NaN) pixels under each overview pixel, NaN where none is. Levels
deeper than ``scale`` average the coarsest exact level's valid pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.enums import Resampling

from eoforge.predict.cog import COG_BLOCK, PIECE_READS

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


def _pair_sums(a: FloatArray) -> FloatArray:
    """Sums of the 2 x 2 pixel squares of ``a`` ``[n, h, w]`` (even ``h``, ``w``)."""
    rows = a[:, 0::2] + a[:, 1::2]
    out: FloatArray = rows[:, :, 0::2] + rows[:, :, 1::2]
    return out


def deeper_levels(vrt: Path, factors: list[int]) -> list[str]:
    """Average ``vrt`` (the coarsest exact level's mosaic) by ``factors``; their GDAL names.

    GDAL writes the levels, uncompressed (they are read once, into the COG), to
    ``<vrt>.ovr`` beside it, streaming; each is opened as a directory of that file.

    Args:
        vrt: A raster GDAL can add external overviews to (a VRT mosaic).
        factors: Factors relative to ``vrt`` (e.g. ``[2, 4]``).

    Returns:
        One GDAL dataset name per factor, in order (``GTIFF_DIR:<n>:<vrt>.ovr``).
    """
    if not factors:
        return []
    ovr = vrt.with_name(vrt.name + ".ovr")
    ovr.unlink(missing_ok=True)  # a resumed run's publishing builds them anew
    with (
        rasterio.Env(COMPRESS_OVERVIEW="NONE", INTERLEAVE_OVERVIEW="BAND", **PIECE_READS),
        rasterio.open(vrt, "r+") as ds,
    ):
        ds.build_overviews(factors, Resampling.average)
    return [f"GTIFF_DIR:{n}:{ovr}" for n in range(1, len(factors) + 1)]
