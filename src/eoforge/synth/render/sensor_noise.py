"""Per-pixel sensor noise and speckle, drawn tile by tile from seeded generators.

Every ``tile`` x ``tile`` tile of an output grid has its own NumPy generator,
seeded from (scene seed, stream name, date index, tile row, tile column), and
always draws the whole tile; a pixel's draw therefore does not depend on which
block of the streamed generation asked for it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from eoforge.synth.world.noise import salt_of


def block_rng(seed: int, stream: str, index: int, row: int, col: int) -> np.random.Generator:
    """A NumPy generator for one output tile, independent of how tiles are batched.

    Args:
        seed: Scene seed.
        stream: Name of the quantity (e.g. ``"s2.noise.B04"``).
        index: Date index or other integer key.
        row: Tile row.
        col: Tile column.

    Returns:
        A ``numpy.random.Generator`` seeded from all the keys.
    """
    return np.random.default_rng([salt_of(seed, stream), index, row, col])


def tiled_draw(
    seed: int,
    stream: str,
    index: int,
    window: tuple[int, int, int, int],
    tile: int,
    draw: str = "normal",
    param: float = 1.0,
) -> npt.NDArray[np.float32]:
    """Independent per-pixel draws for an output window, generated tile by tile.

    Each ``tile`` x ``tile`` tile of the output grid has its own generator and
    always draws the whole tile, so a pixel's draw does not depend on the
    window that asked for it.

    Args:
        seed: Scene seed.
        stream: Name of the quantity.
        index: Date index or other key.
        window: (row0, col0, height, width) in output pixels.
        tile: Tile size in pixels.
        draw: ``"normal"`` (mean 0, sd 1) or ``"gamma"`` (shape ``param``, mean 1).
        param: Shape parameter for ``"gamma"`` (number of looks).

    Returns:
        float32 array of shape (height, width).
    """
    row0, col0, height, width = window
    out = np.empty((height, width), dtype=np.float32)
    for r in range(row0 // tile, (row0 + height + tile - 1) // tile):
        for c in range(col0 // tile, (col0 + width + tile - 1) // tile):
            rng = block_rng(seed, stream, index, r, c)
            if draw == "gamma":
                values = rng.gamma(param, 1.0 / param, size=(tile, tile))
            else:
                values = rng.standard_normal(size=(tile, tile))
            r0, c0 = r * tile - row0, c * tile - col0
            rs, cs = max(r0, 0), max(c0, 0)
            re, ce = min(r0 + tile, height), min(c0 + tile, width)
            out[rs:re, cs:ce] = values[rs - r0 : re - r0, cs - c0 : ce - c0]
    return out
