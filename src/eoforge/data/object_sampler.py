"""Class-balanced training windows around objects on georeferenced scenes.

Detection scenes are large and mostly empty (an xView3 Sentinel-1 scene is
about 29,400 x 24,400 px with a few hundred vessels), so random windows would
rarely show an object, and almost never one of a rare class.
:class:`ObjectGeoSampler` draws each training window in three steps:

1. a class, uniformly over the classes that have objects in the regions (or
   by given weights), so a class with 1 object is the target of as many
   draws as one with 100;
2. an object of that class, uniformly;
3. a whole-pixel window of the region's lattice that contains the object's
   pixel bounding box, at a uniformly random offset: the object may lie
   anywhere inside the window, and the window stays inside the lattice. An
   object wider (or taller) than the window gets a window inside its box
   instead.

A ``background`` share of draws are plain random windows (area-weighted over
the regions, inside their footprints, as
:class:`~eoforge.data.samplers.RandomGeoSampler` places them), so the detector
also sees scenes without objects. Objects count for a region when at least
``min_visible`` of their area lies inside its grid (the visibility rule of
:func:`~eoforge.data.detection_windows.boxes_for_window`). Draws depend only on
``(seed, epoch)``; windows are sharded across DDP ranks like every
:class:`~eoforge.data.sharding.GeoSampler`, and DataLoader workers receive the
windows from the main process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from odc.geo.geobox import GeoBox

from eoforge.data.detection_windows import visible_fractions
from eoforge.data.placement import Lattice, PlacedWindows, Size, as_size, make_lattices
from eoforge.data.sharding import GeoSampler
from eoforge.data.windows import Region
from eoforge.errors import ConfigError
from eoforge.io.vector.reading import source_of

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def pixel_bounds(frame: gpd.GeoDataFrame, positions: IntArray, grid: GeoBox) -> FloatArray:
    """Bounding boxes of whole features in a grid's pixel coordinates.

    Args:
        frame: Features with a CRS.
        positions: Row positions of the features to measure.
        grid: The grid (CRS and affine transform).

    Returns:
        float64 ``[M, 4]`` ``(col_min, row_min, col_max, row_max)`` in pixels
        (pixel edges, origin at the grid's top-left corner); they may reach
        beyond the grid.
    """
    if not len(positions):
        return np.empty((0, 4), np.float64)
    assert grid.crs is not None
    geoms = np.asarray(frame.geometry.iloc[positions].to_crs(grid.crs.to_wkt()).array, object)
    inverse = ~grid.affine

    def to_pixel(coords: FloatArray) -> FloatArray:
        x, y = coords[:, 0], coords[:, 1]
        return np.column_stack(
            [inverse.a * x + inverse.b * y + inverse.c, inverse.d * x + inverse.e * y + inverse.f]
        )

    return np.asarray(shapely.bounds(shapely.transform(geoms, to_pixel)), np.float64)


@dataclass(frozen=True)
class ObjectCandidates:
    """Objects a sampler can centre windows on: one entry per (region, object) pair.

    Attributes:
        lattice: Position of the entry's lattice in the sampler's list ``[M]``.
        row: Row position of the object in the label frame ``[M]``.
        label: Class id ``[M]``.
        bounds: Pixel bounding box in the lattice ``[M, 4]``
            ``(col_min, row_min, col_max, row_max)``.
    """

    lattice: IntArray
    row: IntArray
    label: IntArray
    bounds: FloatArray


@dataclass(frozen=True)
class ObjectDraws:
    """An epoch's draws: the windows and what each was drawn for.

    Attributes:
        windows: The windows, in draw order.
        target_class: Class id each window was drawn for, -1 for background draws ``[L]``.
        target: Candidate index (into :class:`ObjectCandidates`) each window
            contains, -1 for background draws ``[L]``.
    """

    windows: PlacedWindows
    target_class: IntArray
    target: IntArray


def find_candidates(
    lattices: Sequence[Lattice],
    frame: gpd.GeoDataFrame,
    labels: IntArray,
    min_visible: float,
    groups: tuple[IntArray, Sequence[int]] | None = None,
) -> ObjectCandidates:
    """The objects each lattice shows at least ``min_visible`` of (area inside its grid).

    ``groups`` (each object's group, each region's group) limits a lattice to
    the objects of its region's group.
    """
    parts: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    for k, lattice in enumerate(lattices):
        rows_of = np.arange(len(frame), dtype=np.int64)
        if groups is not None:
            rows_of = np.flatnonzero(groups[0] == groups[1][lattice.region]).astype(np.int64)
        subset = frame.iloc[rows_of]
        subset.attrs = dict(frame.attrs)
        positions, fraction = visible_fractions(subset, lattice.grid)
        rows = rows_of[positions[fraction >= min_visible - 1e-9]]
        bounds = pixel_bounds(frame, rows, lattice.grid)
        parts.append((np.full(len(rows), k, np.int64), rows, labels[rows], bounds))
    if not parts:
        empty = np.empty(0, np.int64)
        return ObjectCandidates(empty, empty, empty, np.empty((0, 4), np.float64))
    return ObjectCandidates(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )


def offsets_containing(
    low: FloatArray, high: FloatArray, side: int, extent: int, rng: np.random.Generator
) -> IntArray:
    """Random whole-pixel window starts along one axis that contain ``[low, high]``.

    The window ``[start, start + side)`` must hold the object's pixels
    (``floor(low)`` to ``ceil(high)``) and lie inside ``[0, extent)``; an
    object longer than ``side`` gets a window inside its span instead. Where
    the object reaches past the edge, the window keeps to the edge.

    Args:
        low: Objects' lower edges ``[N]``, pixels.
        high: Objects' upper edges ``[N]``, pixels.
        side: Window side, pixels.
        extent: Lattice side, pixels (at least ``side``).
        rng: Random generator.

    Returns:
        int64 ``[N]`` window starts in ``[0, extent - side]``.
    """
    first = np.floor(low).astype(np.int64)
    last = np.ceil(high).astype(np.int64)
    a = np.clip(last - side, 0, extent - side)
    b = np.clip(first, 0, extent - side)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return np.asarray(lo + rng.integers(0, hi - lo + 1), np.int64)


class ObjectGeoSampler(GeoSampler):
    """Training windows around objects, class-balanced, plus background windows.

    Args:
        regions: Where windows may go (e.g. one per scene).
        objects: The object polygons (a GeoDataFrame with a CRS).
        labels: Class id of each row of ``objects`` (0..num_classes-1) ``[N]``.
        num_classes: Number of classes.
        size: Window ``(height, width)`` in pixels, or an int for squares.
        length: Windows per epoch over all ranks together.
        class_weights: Relative share of draws per class (default equal);
            classes without objects in the regions are never drawn.
        background: Share of draws (0..1) that are random windows.
        min_visible: Least share of an object's area inside a region's grid
            for the object to count there.
        object_groups: Group of each object ``[N]`` (e.g. the scene it
            labels); with ``region_groups``, a region's windows are drawn only
            around the objects of its group (scenes of one place at other dates
            show other objects). None: every object counts in every region.
        region_groups: Group of each region (same order as ``regions``).
        seed: Seed of the draws.
        rank: DDP rank (default from ``torch.distributed``, else 0).
        world_size: DDP world size (default from ``torch.distributed``, else 1).

    Raises:
        ConfigError: ``labels`` does not match ``objects``, bad weights or
            shares, no region holds a window of ``size``, or no object lies
            inside the regions while ``background < 1`` (the message names
            the label file and its CRS).
    """

    def __init__(
        self,
        regions: Sequence[Region],
        objects: gpd.GeoDataFrame,
        labels: Sequence[int] | IntArray,
        num_classes: int,
        size: int | Size,
        length: int,
        *,
        class_weights: Sequence[float] | None = None,
        background: float = 0.1,
        min_visible: float = 0.5,
        object_groups: Sequence[int] | IntArray | None = None,
        region_groups: Sequence[int] | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__(seed=seed, rank=rank, world_size=world_size)
        ids = np.asarray(labels, np.int64)
        groups = None
        if object_groups is not None and region_groups is not None:
            if len(object_groups) != len(objects) or len(region_groups) != len(regions):
                raise ConfigError(
                    "object_groups needs one group per object and region_groups one per region.",
                    fix="pass both, aligned with objects and regions, or neither.",
                )
            groups = (np.asarray(object_groups, np.int64), list(region_groups))
        if len(ids) != len(objects) or (len(ids) and (ids.min() < 0 or ids.max() >= num_classes)):
            raise ConfigError(
                f"{len(ids)} class ids in 0..{num_classes - 1} expected for {len(objects)} "
                "objects.",
                fix="give one class id per object row.",
            )
        if length < 1 or not 0.0 <= background <= 1.0:
            raise ConfigError(
                f"length {length} and background {background}: need length >= 1 and a "
                "background share in [0, 1].",
                fix="correct the sampler settings.",
            )
        self.size, self.length, self.background = as_size(size), int(length), float(background)
        self.lattices = make_lattices(regions, self.size, None, None)
        areas = np.array([lat.area for lat in self.lattices], np.float64)
        self.area_probabilities = areas / areas.sum()
        self.candidates = find_candidates(self.lattices, objects, ids, min_visible, groups)
        self.per_class = [
            np.flatnonzero(self.candidates.label == c) for c in range(int(num_classes))
        ]
        self.class_probabilities = self._class_probabilities(class_weights, num_classes)
        if self.class_probabilities.sum() == 0 and self.background < 1.0:
            crs = objects.crs.to_string() if objects.crs is not None else "none"
            raise ConfigError(
                f"none of the {len(objects)} objects lies inside the scenes "
                f"(at least {min_visible:g} of its area; the labels' CRS is {crs}).",
                path=source_of(objects),
                fix="check that the labels cover these scenes and carry their true CRS "
                "(a GeoJSON without a CRS member is read as longitude/latitude).",
            )

    def _class_probabilities(self, weights: Sequence[float] | None, num_classes: int) -> FloatArray:
        given = np.ones(num_classes) if weights is None else np.asarray(weights, np.float64)
        if given.shape != (num_classes,) or (given < 0).any() or not np.isfinite(given).all():
            raise ConfigError(
                f"class weights {list(given)} are not {num_classes} non-negative numbers.",
                fix="give one weight per class, e.g. [1, 1, 2].",
            )
        present = np.array([len(p) > 0 for p in self.per_class])
        kept = np.where(present, given, 0.0)
        total = kept.sum()
        return kept / total if total > 0 else kept

    @property
    def epoch_size(self) -> int:
        """Windows per epoch (``length``)."""
        return self.length

    def draws(self, epoch: int | None = None) -> ObjectDraws:
        """Draw an epoch's windows with the class and object each was drawn for."""
        rng = self.rng(epoch)
        total = self.length
        is_object = rng.random(total) >= self.background
        if self.class_probabilities.sum() == 0:
            is_object[:] = False
        which = np.zeros(total, np.int64)
        rows = np.zeros(total, np.int64)
        cols = np.zeros(total, np.int64)
        target_class = np.full(total, -1, np.int64)
        target = np.full(total, -1, np.int64)
        slots = np.flatnonzero(is_object)
        if len(slots):
            classes = rng.choice(len(self.per_class), size=len(slots), p=self.class_probabilities)
            chosen = np.zeros(len(slots), np.int64)
            for c, members in enumerate(self.per_class):
                mine = np.flatnonzero(classes == c)
                if len(mine):
                    chosen[mine] = members[rng.integers(0, len(members), len(mine))]
            target_class[slots], target[slots] = classes, chosen
            which[slots] = self.candidates.lattice[chosen]
            self._place(rng, slots, chosen, which, rows, cols)
        background = np.flatnonzero(~is_object)
        if len(background):
            picked = rng.choice(len(self.lattices), size=len(background), p=self.area_probabilities)
            which[background] = picked
            for k, lattice in enumerate(self.lattices):
                mine = background[picked == k]
                rows[mine], cols[mine] = lattice.draw(rng, len(mine), self.size)
        windows = PlacedWindows(self.lattices, self.size, which, rows, cols)
        return ObjectDraws(windows, target_class, target)

    def _place(
        self,
        rng: np.random.Generator,
        slots: IntArray,
        chosen: IntArray,
        which: IntArray,
        rows: IntArray,
        cols: IntArray,
    ) -> None:
        height, width = self.size
        bounds = self.candidates.bounds[chosen]
        for k, lattice in enumerate(self.lattices):
            mine = np.flatnonzero(which[slots] == k)
            if not len(mine):
                continue
            box = bounds[mine]
            grid_h, grid_w = lattice.grid.shape.y, lattice.grid.shape.x
            cols[slots[mine]] = offsets_containing(box[:, 0], box[:, 2], width, grid_w, rng)
            rows[slots[mine]] = offsets_containing(box[:, 1], box[:, 3], height, grid_h, rng)

    def epoch_windows(self, epoch: int | None = None) -> PlacedWindows:
        """The windows of an epoch (see :meth:`draws`)."""
        return self.draws(epoch).windows
