"""Whole-scene speckle filtering: the output and tiling that make the engine's seams exact.

A speckle filter (:class:`~eoforge.transforms.speckle.SpeckleFilter`) is a
local operator: a pixel's value depends on the pixels within its ``halo``. The
engine gives the filter tiles overlapping by twice the halo and blends them with
an :class:`~eoforge.predict.raster.OutputSpec` whose ``halo`` gives no weight to
the pixels within the halo of a tile edge inside the scene, so every output
pixel comes from tiles that saw its whole window: a tiled scene equals the
filter applied to the whole image.
"""

from __future__ import annotations

from collections.abc import Sequence

from eoforge.predict.engine import TilingOptions
from eoforge.predict.raster import OutputSpec
from eoforge.transforms.speckle import SpeckleFilter


def despeckle_spec(bands: Sequence[str], speckle: SpeckleFilter) -> OutputSpec:
    """Float32 values named after ``bands`` in ``<scene>_despeckled.tif``, blended without halos."""
    return OutputSpec("values", names=tuple(bands), halo=speckle.halo, product="despeckled")


def despeckle_tiling(speckle: SpeckleFilter, tile: int = 1024, block: int = 2048) -> TilingOptions:
    """Tiles of ``tile`` px overlapping by twice the filter's halo, one per batch, any size."""
    return TilingOptions(tile=tile, overlap=2 * speckle.halo, batch=1, block=block, multiple=1)
