"""Tile layouts for prediction that recompute as little of the scene as possible.

A fixed stride (tile - overlap) plus a pulled-back last tile can run the model
over far more than the scene (3 x 3 tiles of 1024 px for a 2048-px scene with
32 px of overlap). Here the number of tiles per axis comes first, then the
smallest tile (a multiple of the model's stride) that covers the axis with at
least the requested overlap, spread evenly.

Window outputs (embeddings) need the opposite: every tile exactly one window
of the same size, on a regular lattice (:func:`lattice_starts`), so that the
windows form a grid of their own (one typology pixel per stride).
"""

from __future__ import annotations

import math

from odc.geo.geobox import GeoBox

from eoforge.geo.grid import Tile, sub_grid


def axis_layout(
    length: int, max_tile: int, overlap: int, multiple: int = 32
) -> tuple[int, list[int]]:
    """Tile size and start offsets along one axis.

    Args:
        length: Axis length in pixels.
        max_tile: Largest tile the model should see.
        overlap: Smallest overlap wanted between neighbours, pixels.
        multiple: Tile sizes are rounded up to a multiple of this (network stride).

    Returns:
        ``(tile, starts)``: every start in ``[0, length - tile]``, consecutive tiles
        overlapping by at least ``overlap`` (when there is more than one tile).
    """
    if length <= max_tile:
        return length, [0]
    count = math.ceil((length - overlap) / (max_tile - overlap))
    tile = math.ceil((length + (count - 1) * overlap) / count / multiple) * multiple
    tile = min(tile, max_tile, length)
    while count > 1 and (count * tile - length) / (count - 1) < overlap:
        count += 1  # rounding pushed the overlap below the request
        tile = min(
            math.ceil((length + (count - 1) * overlap) / count / multiple) * multiple, length
        )
    starts = [round(i * (length - tile) / (count - 1)) for i in range(count)] if count > 1 else [0]
    return tile, starts


def lattice_starts(length: int, window: int, stride: int) -> list[int]:
    """Starts of ``window``-px windows every ``stride`` px along an axis of ``length`` px.

    Windows start at ``0, stride, 2 * stride, ...`` while they fit, so the last
    ``(length - window) % stride`` pixels of the axis start no window (they lie in
    no window when ``stride > window``, fewer than ``stride`` pixels otherwise).

    Raises:
        ValueError: ``window`` or ``stride`` < 1, or the axis is shorter than a window.
    """
    if window < 1 or stride < 1:
        raise ValueError(f"windows need window >= 1 and stride >= 1 (got {window}, {stride})")
    if length < window:
        raise ValueError(f"an axis of {length} px is shorter than one {window}-px window")
    return list(range(0, length - window + 1, stride))


def plan_tiles(
    grid: GeoBox, max_tile: int, overlap: int, multiple: int = 32, stride: int | None = None
) -> list[Tile]:
    """Row-major tiles covering ``grid`` with at least ``overlap`` px between neighbours.

    With ``stride``, the tiles are instead ``max_tile`` x ``max_tile`` windows on a
    regular lattice every ``stride`` px (:func:`lattice_starts`; ``overlap`` and
    ``multiple`` are not used).
    """
    if stride is not None:
        th = tw = max_tile
        rows = lattice_starts(grid.shape.y, max_tile, stride)
        cols = lattice_starts(grid.shape.x, max_tile, stride)
    else:
        th, rows = axis_layout(grid.shape.y, max_tile, overlap, multiple)
        tw, cols = axis_layout(grid.shape.x, max_tile, overlap, multiple)
    return [
        Tile((i, j), (r, c, th, tw), sub_grid(grid, r, c, th, tw))
        for i, r in enumerate(rows)
        for j, c in enumerate(cols)
    ]
