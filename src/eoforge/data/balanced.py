"""Class-balanced window sampling: oversample windows that hold rare classes.

A coarse pass reads the label layer once, at ``coarse_factor`` lattice pixels
per cell (nearest neighbour, so cells keep real class ids), in chunks so
memory stays bounded. Class frequencies are counted over all cells. Each
candidate window (top-left corners every ``coarse_factor`` pixels, inside the
grid and the footprint) gets the weight of the rarest class it contains,
``weight[c] = (1 / frequency[c]) ** power`` unless given, times its area so
regions still count by area. Epochs draw windows from these weights with
replacement.

Features smaller than a coarse cell may be missed by the coarse pass; pass
``coarse_factor=1`` for an exact (slower, larger) pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.data.placement import Lattice, PlacedWindows, Size, as_size, make_lattices
from eoforge.data.sharding import GeoSampler
from eoforge.data.windows import Region, Window
from eoforge.errors import ConfigError, OutsideSourcesError
from eoforge.geo.grid import AnyCRS, make_grid, tile_grid
from eoforge.io.reader import SourceLike, as_sources, read

LabelFn = Callable[[GeoBox], npt.NDArray[Any]]
"""Returns the class ids ``[H, W]`` of a grid; negative values mean unlabelled."""

_CHUNK = 512  # coarse cells per side read at once


def _label_reader(labels: SourceLike | Sequence[SourceLike] | LabelFn, band: str | None) -> LabelFn:
    """A function giving int64 class ids on a grid (-1 where the layer has no valid value)."""
    if callable(labels):
        return labels
    sources = as_sources(labels)
    name = band or sources[0].bands[0]

    def read_classes(grid: GeoBox) -> npt.NDArray[np.int64]:
        try:
            values, valid = read(sources, grid, [name], resampling="nearest")
        except OutsideSourcesError:
            return np.full((grid.shape.y, grid.shape.x), -1, np.int64)
        classes: npt.NDArray[np.int64] = values[0].astype(np.int64)
        classes[~valid] = -1
        return classes

    return read_classes


def coarse_classes(lattice: Lattice, labels: LabelFn, factor: int) -> npt.NDArray[np.int64]:
    """Class id per coarse cell of ``factor`` x ``factor`` lattice pixels; -1 where unlabelled."""
    grid = lattice.grid
    coarse = make_grid(
        (math.ceil(grid.shape.y / factor), math.ceil(grid.shape.x / factor)),
        grid.affine @ Affine.scale(factor),
        grid.crs,
    )
    out = np.full((coarse.shape.y, coarse.shape.x), -1, np.int64)
    for tile in tile_grid(coarse, _CHUNK):
        r, c, h, w = tile.window
        out[r : r + h, c : c + w] = np.asarray(labels(tile.grid), np.int64)
    return out


def _window_counts(
    presence: npt.NDArray[np.bool_], cells: Size, starts: Size
) -> npt.NDArray[np.int64]:
    """Per candidate window, how many of its coarse cells are set, via a summed-area table."""
    table = np.zeros((presence.shape[0] + 1, presence.shape[1] + 1), np.int64)
    table[1:, 1:] = presence.cumsum(0).cumsum(1)
    ch, cw = cells
    ni, nj = starts
    return (
        table[ch : ch + ni, cw : cw + nj]
        - table[:ni, cw : cw + nj]
        - table[ch : ch + ni, :nj]
        + table[:ni, :nj]
    )


class ClassBalancedSampler(GeoSampler):
    """Random windows drawn so that rare classes appear far more often than by area.

    Args:
        regions: Where to draw windows.
        labels: The label layer: a raster source or path (its ``label_band``,
            default the first band, holds integer class ids), or a function
            returning class ids ``[H, W]`` for a grid (e.g. a
            :func:`functools.partial` of ``eoforge.io.vector.rasterize_labels``),
            negative where unlabelled.
        size: Window ``(height, width)`` in pixels, or an int for squares.
        length: Windows per epoch over all ranks together.
        label_band: Band of a raster label layer holding the classes.
        class_weights: Weight per class id, replacing the inverse frequency
            (classes left out get weight 0).
        power: Exponent of the inverse frequency: 1 balances fully, 0.5
            softens, 0 is area-weighted sampling.
        coarse_factor: Lattice pixels per coarse cell side; default
            ``max(1, min(size) // 8)``.
        res: Window pixel size in CRS units; default the region's own.
        crs: Window CRS; default each region's own.
        seed: Seed of the draws.
        rank: DDP rank (default from ``torch.distributed``, else 0).
        world_size: DDP world size (default from ``torch.distributed``, else 1).

    Attributes:
        frequencies: Fraction of labelled coarse cells per class id.
        weights: Weight per class id used for the candidates.

    Raises:
        ConfigError: No window holds a labelled cell with positive weight.
    """

    def __init__(
        self,
        regions: Sequence[Region],
        labels: SourceLike | Sequence[SourceLike] | LabelFn,
        size: int | Size,
        length: int,
        *,
        label_band: str | None = None,
        class_weights: Mapping[int, float] | None = None,
        power: float = 1.0,
        coarse_factor: int | None = None,
        res: float | None = None,
        crs: AnyCRS | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__(seed=seed, rank=rank, world_size=world_size)
        if length < 1:
            raise ConfigError(f"length must be at least 1 window per epoch; got {length}.")
        self.size = as_size(size)
        self.length = int(length)
        self.factor = int(coarse_factor or max(1, min(self.size) // 8))
        self.lattices = make_lattices(regions, self.size, res, crs)
        reader = _label_reader(labels, label_band)
        maps = [coarse_classes(lat, reader, self.factor) for lat in self.lattices]
        self.frequencies = self._frequencies(maps)
        self.weights = self._class_weights(class_weights, power)
        self._candidates = self._weigh_candidates(maps)

    @staticmethod
    def _frequencies(maps: list[npt.NDArray[np.int64]]) -> dict[int, float]:
        labelled = np.concatenate([m[m >= 0] for m in maps])
        if labelled.size == 0:
            raise ConfigError(
                "the label layer has no valid class over any region.",
                fix="check that the labels overlap the regions (CRS, extent) and hold class ids.",
            )
        counts = np.bincount(labelled)
        return {int(c): float(n) / labelled.size for c, n in enumerate(counts) if n > 0}

    def _class_weights(self, given: Mapping[int, float] | None, power: float) -> dict[int, float]:
        if given is not None:
            return {int(c): float(w) for c, w in given.items()}
        return {c: (1.0 / f) ** power for c, f in self.frequencies.items()}

    def _weigh_candidates(
        self, maps: list[npt.NDArray[np.int64]]
    ) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]
    ]:
        """Candidate ``(lattice, row, col)`` arrays and their probabilities."""
        parts = [
            self._lattice_candidates(k, lat, m)
            for k, (lat, m) in enumerate(zip(self.lattices, maps, strict=True))
        ]
        which, rows, cols, weights = (np.concatenate(p) for p in zip(*parts, strict=True))
        total = weights.sum()
        if not total > 0:
            raise ConfigError(
                "no candidate window contains a class with positive weight.",
                fix="check class_weights and that the windows fit inside labelled areas.",
            )
        return which.astype(np.int64), rows.astype(np.int64), cols.astype(np.int64), weights / total

    def _lattice_candidates(
        self, k: int, lattice: Lattice, classes: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[Any], ...]:
        h, w = self.size
        f = self.factor
        starts = ((lattice.grid.shape.y - h) // f + 1, (lattice.grid.shape.x - w) // f + 1)
        cells = (math.ceil(h / f), math.ceil(w / f))
        best = np.zeros(starts, np.float64)
        for c, weight in self.weights.items():
            present = _window_counts(classes == c, cells, starts) > 0
            best = np.where(present, np.maximum(best, weight), best)
        rows, cols = (a.ravel() * f for a in np.indices(starts))
        weights = best.ravel() * self._cell_area(lattice)
        keep = (weights > 0) & lattice.inside(rows, cols, self.size)
        return np.full(int(keep.sum()), k), rows[keep], cols[keep], weights[keep]

    def _cell_area(self, lattice: Lattice) -> float:
        """Square metres of one coarse cell, so candidates weigh by area across regions."""
        pixels = (
            lattice.grid.shape.y * lattice.grid.shape.x
            if lattice.valid is None
            else lattice.valid.area
        )
        return lattice.area / pixels * self.factor**2

    @property
    def epoch_size(self) -> int:
        """Windows per epoch (``length``)."""
        return self.length

    def epoch_windows(self, epoch: int | None = None) -> Sequence[Window]:
        """Draw an epoch's windows from the candidate weights, with replacement."""
        which, rows, cols, probabilities = self._candidates
        picks = self.rng(epoch).choice(len(probabilities), size=self.length, p=probabilities)
        return PlacedWindows(self.lattices, self.size, which[picks], rows[picks], cols[picks])
