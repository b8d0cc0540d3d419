"""Geo data for training and evaluation: datasets on windows, samplers, hold-out split.

Training draws random windows (:class:`~eoforge.data.RandomGeoSampler`; for
detection, windows around objects, :func:`object_sampler`), validation tiles
its scenes (:class:`~eoforge.data.GridGeoSampler`); without
separate validation scenes the last rows of each training scene are held out
(a spatial split: no training window touches them). Pixel-regression targets
are read onto each window's grid and thinned to sparse "footprints" fixed in
map coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from odc.geo.geobox import GeoBox

from eoforge.data import GeoDataset, GridGeoSampler, RandomGeoSampler, Region
from eoforge.data.cloud_filter import CloudFilteredSampler
from eoforge.data.detection_windows import CLASS_ID, GROUP, DetectionWindows
from eoforge.data.object_sampler import ObjectGeoSampler
from eoforge.data.sharding import GeoSampler
from eoforge.data.windows import regions_from_sources
from eoforge.errors import ConfigError
from eoforge.experiment.config import (
    CloudFilter,
    GeoData,
    LabelLayer,
    ObjectLayer,
    SceneSet,
    TargetLayer,
)
from eoforge.experiment.scenes import SceneSources, label_band_of, scene_sources
from eoforge.geo.grid import crs_of, grid_from_sample
from eoforge.io.reader import read
from eoforge.io.source import RasterSource, source_from_file

Sample = dict[str, Any]
Transform = Callable[[Sample], Sample]


class Compose:
    """Apply sample transforms in order (picklable, for loader workers)."""

    def __init__(self, steps: Sequence[Transform]) -> None:
        self.steps = list(steps)

    def __call__(self, sample: Sample) -> Sample:
        """Return the transformed sample."""
        for step in self.steps:
            sample = step(sample)
        return sample


def sample_grid(sample: Sample) -> GeoBox:
    """The grid of a single sample (from its ``crs``, ``transform`` and image size)."""
    height, width = sample["image"].shape[-2:]
    return grid_from_sample(sample["crs"], sample["transform"], (int(height), int(width)))


def footprint_mask(grid: GeoBox, fraction: float, seed: int) -> np.ndarray[Any, Any]:
    """Pixels of ``grid`` that carry a sparse label, fixed by their map position.

    A pixel is kept when a hash of its global column and row (map coordinate
    divided by the pixel size) and ``seed`` falls below ``fraction``, so
    overlapping windows agree on which pixels are labelled.
    """
    a = grid.affine
    cols = np.floor(a.c / a.a).astype(np.int64) + np.arange(grid.shape.x, dtype=np.int64)
    rows = np.floor(a.f / a.e).astype(np.int64) + np.arange(grid.shape.y, dtype=np.int64)
    key = (rows[:, None] * 73856093) ^ (cols[None, :] * 19349663) ^ (seed * 83492791)
    mixed = (key * 2654435761) % 4294967296
    return np.asarray(mixed < fraction * 4294967296)


class ReadTarget:
    """Sample transform adding ``target`` float32 ``[H, W]`` (NaN: unlabelled).

    Args:
        sources: Sources of the target band.
        layer: The configured target (band, footprint fraction and seed).
    """

    def __init__(self, sources: list[RasterSource], layer: TargetLayer) -> None:
        self.sources, self.layer = sources, layer

    def __call__(self, sample: Sample) -> Sample:
        """Return ``sample`` with its ``target``."""
        grid = sample_grid(sample)
        values, valid = read(self.sources, grid, [self.layer.band], resampling="nearest")
        keep = valid & footprint_mask(
            grid, self.layer.footprint_fraction, self.layer.footprint_seed
        )
        sample["target"] = torch.from_numpy(np.where(keep, values[0], np.nan).astype(np.float32))
        return sample


class ReadTargetBands:
    """Sample transform adding ``target`` float32 ``[K, H, W]`` (NaN: no target there).

    The target bands of image-to-image translation, read on the sample's grid
    in physical units (bilinear where the target's pixels do not align with
    the grid, e.g. 20 m bands on a 10 m grid).

    Args:
        sources: Sources holding the bands (e.g. the cloud-free rendering).
        bands: Target band names, in output channel order.
    """

    def __init__(self, sources: list[RasterSource], bands: list[str]) -> None:
        self.sources, self.bands = sources, list(bands)

    def __call__(self, sample: Sample) -> Sample:
        """Return ``sample`` with its ``target``."""
        values, valid = read(self.sources, sample_grid(sample), self.bands)
        values[:, ~valid] = np.nan
        sample["target"] = torch.from_numpy(values)
        return sample


class LabelFractions:
    """Sample transform: the label ``mask`` -> ``fractions`` float32 ``[K]`` (SoftCon's targets).

    ``fractions[k]`` is the share of the window's labelled pixels (class ids
    in ``[0, K)``; the ignore index, nodata and unlabelled pixels do not
    count) that hold class ``k``; all zeros when no pixel is labelled. The
    mask itself is dropped (pretraining needs only the vector).

    Args:
        num_classes: ``K``.
    """

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def __call__(self, sample: Sample) -> Sample:
        """Return ``sample`` with ``fractions`` and without ``mask``."""
        mask = sample.pop("mask").long()
        counted = mask[(mask >= 0) & (mask < self.num_classes)]
        counts = torch.bincount(counted, minlength=self.num_classes).to(torch.float32)
        total = counts.sum()
        sample["fractions"] = counts / total if total > 0 else counts
        return sample


Rect = tuple[int, int, int, int]


def _bounds(grid: GeoBox) -> tuple[float, float, float, float]:
    box = grid.boundingbox
    return box.left, box.bottom, box.right, box.top


def _key(
    crs: str, x: float, y: float, height: int, width: int
) -> tuple[str, float, float, int, int]:
    return crs, round(x, 6), round(y, 6), height, width


class OwnedPixels:
    """Sample transform keeping ``valid`` only on pixels no earlier tile covered.

    Grid tiling pulls the last row and column of tiles back inside the scene,
    so they overlap their neighbours; scoring every pixel once means each
    tile owns only what earlier tiles (in sampler order) of the same CRS did
    not cover (scenes in other CRSs are other ground, even where their
    coordinates are the same numbers). Identical tiles (the same grid read
    from another date) own the same pixels.

    Args:
        windows: The tiles' grids, in the sampler's order.
    """

    def __init__(self, windows: Sequence[GeoBox]) -> None:
        crss = [crs_of(w).to_wkt() for w in windows]  # as samples carry it (grid_to_sample)
        boxes = np.array([_bounds(w) for w in windows], np.float64).reshape(-1, 4)
        self.covered: dict[tuple[str, float, float, int, int], list[Rect]] = {}
        for i, window in enumerate(windows):
            key = _key(crss[i], window.affine.c, window.affine.f, window.shape.y, window.shape.x)
            if key not in self.covered:
                same = np.array([c == crss[i] for c in crss[:i]], bool)
                self.covered[key] = self._earlier(window, boxes[:i][same])

    @staticmethod
    def _earlier(window: GeoBox, earlier: np.ndarray[Any, Any]) -> list[Rect]:
        left, bottom, right, top = _bounds(window)
        res_x, res_y = abs(window.resolution.x), abs(window.resolution.y)
        hits = (earlier[:, 0] < right) & (earlier[:, 2] > left)
        hits &= (earlier[:, 1] < top) & (earlier[:, 3] > bottom)
        rects = []
        for x0, y0, x1, y1 in earlier[hits]:
            c0, c1 = round((max(x0, left) - left) / res_x), round((min(x1, right) - left) / res_x)
            r0, r1 = round((top - min(y1, top)) / res_y), round((top - max(y0, bottom)) / res_y)
            rects.append((r0, r1, c0, c1))
        return rects

    def __call__(self, sample: Sample) -> Sample:
        """Return ``sample`` with ``valid`` limited to the pixels it owns."""
        height, width = sample["valid"].shape
        transform = sample["transform"]
        valid = sample["valid"].clone()
        key = _key(sample["crs"], transform[2], transform[5], height, width)
        for r0, r1, c0, c1 in self.covered.get(key, []):
            valid[r0:r1, c0:c1] = False
        sample["valid"] = valid
        return sample


@dataclass
class GeoSplit:
    """A dataset and the sampler that yields its windows."""

    dataset: GeoDataset
    sampler: GeoSampler


def geo_dataset(
    sources: SceneSources,
    bands: list[str],
    layer: LabelLayer | None,
    target: TargetLayer | None,
    steps: Sequence[Transform],
    ignore_index: int,
    target_bands: list[str] | None = None,
) -> GeoDataset:
    """A :class:`GeoDataset` over a split's sources with its label or target(s)."""
    transforms = list(steps)
    if target is not None and sources.target is not None:
        transforms.insert(0, ReadTarget(sources.target, target))
    if target_bands and sources.target_images is not None:
        transforms.insert(0, ReadTargetBands(sources.target_images, target_bands))
    vector = layer is not None and layer.kind == "vector"
    fill = ignore_index
    if vector and layer is not None and layer.background is not None:
        fill = layer.background
    return GeoDataset(
        None,
        sources.images,
        bands,
        label=sources.label,
        label_kind="vector" if vector else "raster",
        label_band=label_band_of(sources.label, layer),
        label_attribute=layer.attribute if layer is not None else None,
        classes=layer.values if layer is not None else None,
        label_fill=fill,
        transforms=Compose(transforms) if transforms else None,
    )


def image_regions(sources: SceneSources, bands: list[str]) -> list[Region]:
    """One region per image source that holds the first requested band.

    Each region's ``source`` is its position in ``sources.images`` (the list
    datasets index), also where other sources hold the first band.
    """
    regions = regions_from_sources(sources.images)
    holding = [r for r, s in zip(regions, sources.images, strict=True) if s.resolve(bands[0])]
    return holding or regions


def scoring_regions(sources: SceneSources, bands: list[str]) -> list[Region]:
    """Regions to tile for scoring: the label rasters' grids, else the images'.

    A label raster's tiles read the images of its own ``images`` entry
    (``sources.label_images``); a label layer given by path reads all images
    as a mosaic when there are several, the only one otherwise.
    """
    if not isinstance(sources.label, list):
        return image_regions(sources, bands)
    regions = regions_from_sources(sources.label)
    if sources.label_images is not None:
        images: list[int | None] = list(sources.label_images)
    else:
        images = [0 if len(sources.images) == 1 else None] * len(regions)
    return [replace(r, source=i) for r, i in zip(regions, images, strict=True)]


def hold_out(
    regions: list[Region], fraction: float, tile: int
) -> tuple[list[Region], list[Region]]:
    """Split each region's grid by rows: the top for training, the last ``fraction`` for validation.

    Raises:
        ConfigError: A region is too small to leave a training patch.
    """
    train, val = [], []
    for region in regions:
        height = region.grid.shape.y
        rows = max(1, math.ceil(height * fraction))
        if height - rows < tile:
            raise ConfigError(
                f"data.val_fraction: holding out {rows} of {height} rows leaves no room for "
                f"a {tile}-pixel training patch.",
                fix="lower data.val_fraction or data.patch_size, or give data.val scenes.",
            )
        top: GeoBox = region.grid[: height - rows, :]
        bottom: GeoBox = region.grid[height - rows :, :]
        train.append(Region(top, region.footprint, region.source, region.datetime))
        val.append(Region(bottom, region.footprint, region.source, region.datetime))
    return train, val


def train_sampler(
    data: GeoData, regions: list[Region], seed: int, images: Sequence[RasterSource] = ()
) -> GeoSampler:
    """Random training windows drawn from ``(seed, epoch)``, several per read if configured.

    The DataLoader's batch size and worker count are passed on, so all windows of
    one read go to one worker, which decodes the read's file blocks once. With
    ``data.cloud_filter`` the windows cloudier than its threshold are drawn again
    (:class:`~eoforge.data.cloud_filter.CloudFilteredSampler`); its mask is read
    from its ``rasters``, else from the training ``images`` holding its band.
    """
    windows = RandomGeoSampler(
        regions,
        data.patch_size,
        data.samples_per_epoch,
        seed=seed,
        windows_per_read=data.windows_per_read,
        read_size=data.read_size,
        shuffle_buffer=data.shuffle_buffer,
        loader_batch_size=data.batch_size,
        loader_workers=data.num_workers,
    )
    rule = data.cloud_filter
    if rule is None:
        return windows
    return CloudFilteredSampler(
        windows, cloud_masks(rule, images), rule.band, rule.values, rule.max_fraction
    )


def cloud_masks(rule: CloudFilter, images: Sequence[RasterSource]) -> list[RasterSource]:
    """The rasters of a cloud filter's mask: its ``rasters``, else the images holding its band.

    Raises:
        ConfigError: No raster holds the mask band (the message names the band).
    """
    if rule.rasters:
        found = [source_from_file(path) for path in rule.rasters]
        where = "data.cloud_filter.rasters"
    else:
        found, where = list(images), "the training images"
    masks = [s for s in found if s.resolve(rule.band)]
    if not masks:
        held = sorted({str(b) for s in found for b in s.bands})
        raise ConfigError(
            f"data.cloud_filter.band: no raster of {where} holds {rule.band!r}; they hold "
            f"{held[:20]}.",
            fix="name the mask band (cloudmask of synthetic scenes, class of a predicted "
            "class map), or list the mask files under data.cloud_filter.rasters.",
        )
    return masks


def tile_sampler(
    regions: list[Region],
    size: int,
    rank: int | None = None,
    world_size: int | None = None,
    overlap: int = 0,
) -> GridGeoSampler:
    """Tiles covering the regions, no taller or wider than the smallest region.

    ``overlap`` (pixels shared by neighbouring tiles) is cut to less than the tile side.
    """
    height = min(size, *(r.grid.shape.y for r in regions))
    width = min(size, *(r.grid.shape.x for r in regions))
    shared = max(0, min(overlap, height - 1, width - 1))
    return GridGeoSampler(regions, (height, width), shared, rank=rank, world_size=world_size)


def owned_pixels(regions: list[Region], size: int) -> OwnedPixels:
    """The every-pixel-once transform for the tiles of :func:`tile_sampler` (all ranks)."""
    tiles = tile_sampler(regions, size, rank=0, world_size=1)
    return OwnedPixels([w.grid for w in tiles.windows])


@dataclass
class PairedSources:
    """A split's images with its object layer(s).

    Attributes:
        sources: The images (in ``images`` entry order when paired).
        layer: The object layer.
        groups: With one objects file per images entry: the entry (file) of
            each image source; None when one file labels every image.
    """

    sources: SceneSources
    layer: ObjectLayer
    groups: list[int] | None


def paired_sources(scenes: SceneSet, bands: list[str], run_dir: Path, key: str) -> PairedSources:
    """Resolve a detection split: each images entry on its own when files are paired.

    Raises:
        ConfigError: An images entry holds none of the bands.
    """
    assert scenes.objects is not None  # checked on loading
    if len(scenes.objects.path) == 1:
        return PairedSources(scene_sources(scenes, bands, run_dir, key), scenes.objects, None)
    images: list[RasterSource] = []
    groups: list[int] = []
    for i, entry in enumerate(scenes.images):
        one = scenes.model_copy(update={"images": [entry], "objects": None})
        found = scene_sources(one, bands, run_dir, f"{key}.images[{i}]").images
        images += found
        groups += [i] * len(found)
    return PairedSources(SceneSources(images, None, None, None), scenes.objects, groups)


def object_sampler(
    data: GeoData, dataset: DetectionWindows, regions: list[Region], seed: int
) -> ObjectGeoSampler:
    """Class-balanced training windows around the dataset's objects (``data.detection``).

    Raises:
        ConfigError: No object lies inside the regions (the message names the
            label file and its CRS), or no region holds a window.
    """
    options = data.detection
    return ObjectGeoSampler(
        regions,
        dataset.frame,
        dataset.frame[CLASS_ID].to_numpy(),
        dataset.num_classes,
        data.patch_size,
        data.samples_per_epoch,
        class_weights=options.class_weights,
        background=options.background,
        min_visible=options.min_visible,
        object_groups=None if dataset.source_groups is None else dataset.frame[GROUP].to_numpy(),
        region_groups=None
        if dataset.source_groups is None
        else [dataset.source_groups[r.source or 0] for r in regions],
        seed=seed,
    )


def val_overlap(data: GeoData) -> int:
    """Pixels shared by validation tiles of detection: as configured, else a quarter tile."""
    tile = data.val_patch_size or data.patch_size
    given = data.detection.val_overlap
    return tile // 4 if given is None else given
