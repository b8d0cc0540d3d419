"""Default tile and block sizes for an output scale, so memory stays bounded on finer grids.

The engine's defaults (:class:`~eoforge.predict.engine.TilingOptions`: 1,024-px tiles
in 2,048-px blocks) suit outputs on the input grid. A x4 super-resolution output has
16 times the pixels: a block's blended partial sums (``[K + 2, 8,192, 8,192]``
float32 for 2,048 input px) and one tile's output alone take gigabytes (3.6 GB peak
RSS with a tiny network). Here tiles and blocks shrink with the scale so that they
hold as many *output* pixels as the defaults do on the input grid (down to
:data:`MIN_TILE` input pixels per tile); the overlap shrinks less, since a
network's context is counted in input pixels.
"""

from __future__ import annotations

from eoforge.predict.bundle import BundleModel
from eoforge.predict.engine import TilingOptions

MIN_TILE = 128
"""Smallest default tile side, input pixels (smaller tiles recompute more overlap)."""

MIN_OVERLAP = 16
"""Smallest default overlap, input pixels (a residual SR network's context)."""


def scaled_tiling(
    up: int,
    *,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    block: int | None = None,
) -> TilingOptions:
    """Tiling options for an output ``up`` times finer than the input (1: the engine's).

    Per axis, a tile covers ``1024 / up`` input pixels (at least :data:`MIN_TILE`,
    a multiple of the default ``multiple``), a block two tiles, the overlap
    ``64 / up`` (at least :data:`MIN_OVERLAP`): x2 → 512 / 1,024 / 32, x4 → 256 /
    512 / 16, x8 → 128 / 256 / 16. Given values win.

    Args:
        up: Output pixels per input pixel along each axis (1 for outputs on the input
            grid or a coarser one).
        tile: Tile side, input pixels (None: the default for ``up``).
        overlap: Overlap, input pixels (None: the default for ``up``).
        batch: Tiles per forward pass (None: the engine's default).
        block: Block side, input pixels (None: the default for ``up``).

    Returns:
        The options.
    """
    base = TilingOptions()
    if up > 1:
        side = max(MIN_TILE, base.tile // up) // base.multiple * base.multiple
        defaults = TilingOptions(
            tile=side,
            overlap=max(MIN_OVERLAP, base.overlap // up),
            batch=base.batch,
            block=side * base.block // base.tile,
        )
    else:
        defaults = base
    return TilingOptions(
        tile=defaults.tile if tile is None else tile,
        overlap=defaults.overlap if overlap is None else overlap,
        batch=defaults.batch if batch is None else batch,
        block=defaults.block if block is None else block,
    )


def bundle_scale(model: BundleModel) -> int:
    """Output pixels per input pixel along each axis of a bundle's default output.

    Super-resolution bundles write ``scale`` times finer grids; every other task
    writes on the input grid (1).
    """
    info = model.load()[0].bundle
    return int(info.model.options["scale"]) if info.task == "super_resolution" else 1
