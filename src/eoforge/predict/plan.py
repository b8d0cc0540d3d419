"""Blocks of tiles: the unit of work, of resumption and of Dask tasks.

The scene's tiles (:func:`.tiling.plan_tiles`) are grouped into rectangular
blocks of neighbouring tiles. A block's *extent* is the union of its tiles;
its *own* region is the part of the output grid it publishes: from the top of
its extent down to the top of the next block row's extent (likewise for
columns), so own regions partition the scene. Tiles overlap, so a block's
extent spills past its own region into the blocks below and to the right,
and the top and left edges of its own region receive spills from the blocks
above and to the left. A block can therefore be finalised once it and the
blocks above/left of it are computed; row-major order always satisfies that.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property

from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.geo.grid import Tile, make_grid
from eoforge.predict.tiling import plan_tiles

Rect = tuple[int, int, int, int]
"""``(row0, col0, row1, col1)`` in output pixels, end-exclusive."""


def scale_rect(rect: Rect, factor: int) -> Rect:
    """``rect`` in units ``factor`` times finer."""
    return (rect[0] * factor, rect[1] * factor, rect[2] * factor, rect[3] * factor)


def intersect(a: Rect, b: Rect) -> Rect | None:
    """The overlap of two rectangles, or None when they do not overlap."""
    r0, c0 = max(a[0], b[0]), max(a[1], b[1])
    r1, c1 = min(a[2], b[2]), min(a[3], b[3])
    return (r0, c0, r1, c1) if r0 < r1 and c0 < c1 else None


@dataclass(frozen=True)
class Scaling:
    """How the plan's pixels relate to the pixels read and the pixels written.

    Blocks and tiles are planned on the coarser of the input and output grids,
    whose pixels map onto whole blocks of the finer one: ``down`` input pixels
    per plan pixel (a coarser output), ``up`` output pixels per plan pixel (a
    finer output, e.g. x4 super-resolution). At most one of them exceeds 1.

    Attributes:
        up: Output pixels per plan pixel, per axis.
        down: Input pixels per plan pixel, per axis.
    """

    up: int = 1
    down: int = 1

    def __post_init__(self) -> None:
        if self.up < 1 or self.down < 1 or (self.up > 1 and self.down > 1):
            raise ValueError(f"scaling needs up >= 1, down >= 1, not both > 1 (got {self})")

    def plan_grid(self, grid: GeoBox) -> GeoBox:
        """The grid blocks are planned on, for an input ``grid`` (partial edge pixels dropped)."""
        if self.down == 1:
            return grid
        shape = (grid.shape.y // self.down, grid.shape.x // self.down)
        if min(shape) < 1:
            raise ValueError(f"a {grid.shape.y}x{grid.shape.x} grid is smaller than 1/{self.down}")
        return make_grid(shape, grid.affine @ Affine.scale(self.down), grid.crs)

    def output_grid(self, grid: GeoBox) -> GeoBox:
        """The output grid for an input ``grid``."""
        plan = self.plan_grid(grid)
        if self.up == 1:
            return plan
        shape = (plan.shape.y * self.up, plan.shape.x * self.up)
        return make_grid(shape, plan.affine @ Affine.scale(1 / self.up), plan.crs)

    def to_plan(self, pixels: int, *, round_up: bool = False) -> int:
        """A length in input pixels (tile, overlap, block) in plan pixels."""
        return -(-pixels // self.down) if round_up else max(1, pixels // self.down)


@dataclass(frozen=True)
class Block:
    """One block of tiles.

    Attributes:
        index: ``(block_row, block_col)``.
        tiles: The block's tiles, row-major.
        extent: Union of the tiles (``Rect``).
        own: The region this block publishes (``Rect``); own regions partition the grid.
    """

    index: tuple[int, int]
    tiles: tuple[Tile, ...]
    extent: Rect
    own: Rect

    @property
    def name(self) -> str:
        """``"<row>_<col>"``, used for store paths and the journal."""
        return f"{self.index[0]}_{self.index[1]}"

    def spills(self) -> list[Rect]:
        """Parts of the extent outside the own region (below it, then right of it)."""
        (er0, ec0, er1, ec1), (_, _, or1, oc1) = self.extent, self.own
        parts = [(or1, ec0, er1, ec1), (er0, oc1, or1, ec1)]
        return [p for p in parts if p[0] < p[2] and p[1] < p[3]]


@dataclass(frozen=True)
class BlockPlan:
    """Tiles of a grid grouped into blocks.

    Attributes:
        grid: The output grid.
        tile: Largest tile side, pixels.
        overlap: Smallest overlap between neighbouring tiles, pixels.
        block: Target block side, pixels (rounded to whole tiles).
        multiple: Tile sides are multiples of this (the network's stride).
        stride: Window outputs: tiles are ``tile``-px windows every ``stride`` px on a
            regular lattice instead (``overlap`` and ``multiple`` unused); None: tiles
            spread evenly.
    """

    grid: GeoBox
    tile: int
    overlap: int
    block: int = 2048
    multiple: int = 32
    stride: int | None = None

    @cached_property
    def tiles(self) -> list[Tile]:
        """All tiles, row-major."""
        return plan_tiles(self.grid, self.tile, self.overlap, self.multiple, self.stride)

    @cached_property
    def blocks(self) -> list[Block]:
        """All blocks, row-major (the order in which they can be finalised)."""
        tiles = self.tiles
        rows = sorted({t.window[0] for t in tiles})
        cols = sorted({t.window[1] for t in tiles})
        th, tw = tiles[0].window[2], tiles[0].window[3]
        by = _tiles_per_block(rows, th, self.block)
        bx = _tiles_per_block(cols, tw, self.block)
        row_groups = [rows[i : i + by] for i in range(0, len(rows), by)]
        col_groups = [cols[j : j + bx] for j in range(0, len(cols), bx)]
        height, width = self.grid.shape.y, self.grid.shape.x
        own_r = [g[0] for g in row_groups] + [height]
        own_c = [g[0] for g in col_groups] + [width]
        by_start = {t.window[:2]: t for t in tiles}
        out = []
        for i, rg in enumerate(row_groups):
            for j, cg in enumerate(col_groups):
                members = tuple(by_start[(r, c)] for r in rg for c in cg)
                extent = (rg[0], cg[0], rg[-1] + th, cg[-1] + tw)
                own = (own_r[i], own_c[j], own_r[i + 1], own_c[j + 1])
                out.append(Block((i, j), members, extent, own))
        return out

    def contributors(self, block: Block) -> list[Block]:
        """Blocks whose extents reach into ``block``'s own region, row-major, itself last."""
        return [
            b
            for b in self.blocks
            if b.index[0] <= block.index[0]
            and b.index[1] <= block.index[1]
            and intersect(b.extent, block.own) is not None
        ]

    def consumers(self, block: Block) -> list[Block]:
        """Blocks whose own regions ``block``'s extent reaches into (itself included)."""
        return [b for b in self.blocks if intersect(block.extent, b.own) is not None]

    def fingerprint(self) -> str:
        """A digest of the grid and the tiling, to refuse resuming a different plan."""
        desc = {
            "crs": str(self.grid.crs),
            "affine": list(self.grid.affine)[:6],
            "shape": [self.grid.shape.y, self.grid.shape.x],
            "tile": self.tile,
            "overlap": self.overlap,
            "block": self.block,
            "multiple": self.multiple,
        }
        if self.stride is not None:
            desc["stride"] = self.stride
        return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16]


def _tiles_per_block(starts: list[int], tile: int, block: int) -> int:
    if len(starts) < 2:
        return 1
    stride = starts[1] - starts[0]
    return max(1, math.floor((block - tile) / max(stride, 1)) + 1)
