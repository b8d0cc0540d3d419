"""Weights that fall off towards tile edges.

Overlapping tiles are averaged with raised-cosine weights so tile borders,
where a network sees the least context, count least.
"""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=8)
def tile_weights(height: int, width: int, overlap: int) -> FloatArray:
    """2-D weights ``[height, width]``: the outer product of two :func:`ramp`s.

    A scene's tiles come in a few sizes: the weights of each are computed once and
    shared (read-only).
    """
    weights = np.outer(ramp(height, overlap), ramp(width, overlap))
    weights.flags.writeable = False
    return weights
