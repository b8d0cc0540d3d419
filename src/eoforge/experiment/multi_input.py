"""Geo data with several input groups (``data.inputs``): datasets, samplers, statistics, spec.

Each group's rasters come from the split's images (those holding the group's
bands) or from the group's own ``scenes``. Windows are drawn on the reference
group's scenes (the label grid: ``data.label_grid``, default the finest group),
on a lattice of the coarsest group's pixel size, so each group's grid over a
footprint is whole pixels and, where the files share that lattice, read
without resampling. ``patch_size`` counts label-grid pixels. Normalisation
statistics are computed per group over the samples where it is present (a
time-series group: over the valid pixels of all its dates), and
the model spec carries the groups (``options.inputs``: bands and GSD per group,
``options.reference``), so the bundle records both; its ``bands`` and
``normalization`` list the groups one after another.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eoforge.data import GridGeoSampler, RandomGeoSampler, Region
from eoforge.data.mask_rasters import attach_masks
from eoforge.data.multi_input import (
    INPUTS,
    PRESENT,
    InputSource,
    MultiInputDataset,
    check_overlap,
    group_grid,
)
from eoforge.data.time_series import SeriesSpec
from eoforge.data.windows import regions_from_sources
from eoforge.errors import ConfigError, available_list
from eoforge.experiment.classes import RemapLabels
from eoforge.experiment.config import (
    ExperimentConfig,
    GeoData,
    InputGroup,
    SceneSet,
    reference_group,
)
from eoforge.experiment.data import ExperimentData, geo_classes
from eoforge.experiment.fields import FIELD_TASK, field_dataset
from eoforge.experiment.fields import OUTPUTS as FIELD_OUTPUTS
from eoforge.experiment.geo_data import Compose, OwnedPixels, geo_dataset, hold_out
from eoforge.experiment.scenes import SceneSources, catalog_of, scene_sources, synthetic_folder
from eoforge.io.derived import uncomputable
from eoforge.io.source import RasterSource
from eoforge.models import ModelSpec, Task
from eoforge.sensors.indices import is_index_name
from eoforge.transforms import compute_band_stats

Sample = dict[str, Any]
MULTI_INPUT_TASKS = ("segmentation", FIELD_TASK)
"""Task kinds trained on ``data.inputs`` so far (field boundaries: from one time series)."""


def group_layout(data: GeoData) -> dict[str, dict[str, Any]]:
    """``{name: {"bands": [...], "gsd": float}}`` of ``data.inputs``, in config order.

    A time-series group also records its series (``dates``, ``start``, ``end``,
    ``clouds``, ``composite``: :meth:`~eoforge.data.time_series.SeriesSpec.to_dict`).
    """
    assert data.inputs is not None
    layout: dict[str, dict[str, Any]] = {}
    for name, group in data.inputs.items():
        layout[name] = {"bands": list(group.bands), "gsd": float(group.gsd)}
        spec = series_spec(group)
        if spec is not None:
            layout[name].update(spec.to_dict())
    return layout


def series_spec(group: InputGroup) -> SeriesSpec | None:
    """The time series a group reads (None: one date)."""
    if group.dates is None or group.length is None:
        return None
    return SeriesSpec(
        length=group.length,
        days=tuple(group.dates) if isinstance(group.dates, list) else None,
        start=group.start,
        end=group.end,
        cloud_band=None if group.clouds is None else group.clouds.band,
        cloud_values=(1, 2) if group.clouds is None else tuple(group.clouds.values),
        composite=group.composite,
    )


def _split_groups(
    data: GeoData, scenes: SceneSet, run_dir: Path, key: str
) -> tuple[SceneSources, list[InputSource]]:
    """The split's sources (labels, folder) and each group's rasters.

    Raises:
        ConfigError: A group's band that none of its rasters hold.
    """
    assert data.inputs is not None
    shared = [b for g in data.inputs.values() if g.scenes is None for b in g.bands]
    every = [b for g in data.inputs.values() for b in g.bands]
    split = scene_sources(scenes, shared or every, run_dir, key)
    groups = []
    for name, group in data.inputs.items():
        where = f"data.inputs.{name}.scenes" if group.scenes is not None else f"{key}.images"
        if group.scenes is not None:
            catalog = catalog_of(list(group.scenes))
            pool = [e.source for e in catalog.query(kind="image") if e.source is not None]
        else:
            pool = list(split.images)
        found = [s for s in pool if any(s.resolve(b) for b in group.bands)]
        # spectral indices (ASI.*) are computed from the stored bands when read
        stored = [b for b in group.bands if not is_index_name(b)]
        missing = [b for b in stored if not any(s.resolve(b) for s in found)]
        missing += uncomputable(found, group.bands)
        if missing:
            if group.scenes is None:  # every image of the split, not only those of other groups
                pool = _all_images(scenes, run_dir)
            held = available_list(str(b) for s in pool for b in s.bands)
            raise ConfigError(
                f"data.inputs.{name}: no raster of {where} holds the bands {missing}; "
                f"they hold {held}.",
                fix=f"name bands those rasters hold, or point data.inputs.{name}.scenes at "
                "rasters that hold them.",
            )
        if group.clouds is not None:
            if group.clouds.rasters:  # e.g. a cloud bundle's predicted class maps
                key = f"data.inputs.{name}.clouds.rasters"
                found = attach_masks(found, group.clouds.rasters, group.clouds.band, key)
            _check_cloud_band(found, group.clouds.band, f"data.inputs.{name}.clouds.band")
        groups.append(
            InputSource(
                name, found, list(group.bands), group.gsd, group.resampling, series_spec(group)
            )
        )
    return split, groups


def _check_cloud_band(sources: list[RasterSource], band: str, key: str) -> None:
    """Every raster of a time-series group must hold its cloud band (ConfigError naming one)."""
    for source in sources:
        if source.resolve(band) is None:
            raise ConfigError(
                f"{key}: raster {source.name!r} of the group lacks the cloud band {band!r}; "
                f"it holds {available_list(source.bands)}.",
                path=source.paths[0] if source.paths else None,
                fix="name the mask band the group's rasters hold, or remove clouds.",
            )


def _all_images(scenes: SceneSet, run_dir: Path) -> list[RasterSource]:
    """Every image of a split's catalog (for messages)."""
    paths = list(scenes.images)
    if scenes.synthetic is not None:
        paths = [synthetic_folder(scenes.synthetic, run_dir)]
    return [e.source for e in catalog_of(paths).query(kind="image") if e.source is not None]


def _reference(groups: list[InputSource], name: str) -> InputSource:
    return next(g for g in groups if g.name == name)


def _regions(group: InputSource) -> list[Region]:
    """One region per raster of the reference group (its ``source`` indexes the group's list).

    A time-series group's dates share their ground: one region per distinct grid,
    without ``source`` (the series reads every date covering a window).
    """
    regions = regions_from_sources(group.sources)
    if group.series is None:
        return regions
    distinct: dict[tuple[object, ...], Region] = {}
    for region in regions:
        grid = region.grid
        key = (str(grid.crs), tuple(grid.affine)[:6], grid.shape.y, grid.shape.x)
        distinct.setdefault(key, Region(grid, region.footprint))
    return list(distinct.values())


def multi_input_data(config: ExperimentConfig, data: GeoData, run_dir: Path) -> ExperimentData:
    """Datasets, samplers and statistics of geo data with input groups.

    For ``task.kind: field_boundaries`` the label layer is the split's field
    polygons, numbered one integer per field (:mod:`eoforge.experiment.fields`).

    Raises:
        ConfigError: A task other than segmentation or field boundaries, bands no
            raster holds, a group overlapping no labelled scene, or scenes too small
            for a patch.
    """
    if config.task.kind not in MULTI_INPUT_TASKS:
        raise ConfigError(
            f"data.inputs: input groups serve task.kind {' or '.join(MULTI_INPUT_TASKS)} so "
            f"far, not {config.task.kind!r}.",
            fix="use task.kind segmentation or field_boundaries, or one stack of bands in "
            "data.bands.",
        )
    assert data.inputs is not None
    seed, ignore = config.trainer.seed, config.task.ignore_index
    name = reference_group(data.inputs, data.label_grid)
    coarsest = max(g.gsd for g in data.inputs.values())
    ref_gsd = data.inputs[name].gsd
    train_src, train_groups = _split_groups(data, data.train, run_dir, "data.train")
    classes = geo_classes(data, train_src.folder, config.task.kind)
    table = classes.lookup(ignore)
    steps: list[Any] = [] if table is None else [RemapLabels(table, ignore)]
    ref = _reference(train_groups, name)
    regions = _regions(ref)
    check_overlap(train_groups, regions, "data.train")
    patch = _coarse_pixels(data.patch_size, ref_gsd, coarsest)
    tile_side = data.val_patch_size or data.patch_size
    tile = _coarse_pixels(tile_side, ref_gsd, coarsest)
    if data.val is None:
        native = abs(float(regions[0].grid.resolution.x))
        regions, val_regions = hold_out(
            regions, data.val_fraction, math.ceil(data.patch_size * ref_gsd / native)
        )
        val_src, val_groups, val_layers = train_src, train_groups, data.train
    else:
        val_src, val_groups = _split_groups(data, data.val, run_dir, "data.val")
        val_regions = _regions(_reference(val_groups, name))
        check_overlap(val_groups, val_regions, "data.val")
        val_layers = data.val
    tiles = _tiles(val_regions, tile, coarsest)
    owned = OwnedPixels([group_grid(w.grid, ref_gsd) for w in tiles.windows])
    labels = field_dataset if config.task.kind == FIELD_TASK else geo_dataset
    train = MultiInputDataset(
        train_groups,
        name,
        labels(train_src, ref.bands, data.train.label, None, [], ignore),
        Compose(steps) if steps else None,
    )
    val = MultiInputDataset(
        val_groups,
        name,
        labels(val_src, ref.bands, val_layers.label, None, [], ignore),
        Compose([*steps, owned]),
    )

    def sampler(length: int, draw_seed: int) -> RandomGeoSampler:
        return RandomGeoSampler(regions, patch, length, res=coarsest, seed=draw_seed)

    def stats() -> Iterator[Sample]:
        for window in sampler(data.stats_samples, seed + 1).epoch_windows(0):
            yield train[window]

    sampler(1, seed)  # fails here, not in a loader, when no region holds a patch
    return ExperimentData(
        train=train,
        val=val,
        train_sampler=lambda: sampler(data.samples_per_epoch, seed),
        val_sampler=lambda: _tiles(val_regions, tile, coarsest),
        bands=train.bands,
        classes=classes,
        gsd=ref_gsd,
        patch_size=data.patch_size,
        stats_samples=stats,
        inputs=group_layout(data),
        label_grid=name,
    )


def _coarse_pixels(size: int, ref_gsd: float, coarsest: float) -> int:
    """A side of ``size`` label-grid pixels in pixels of the coarsest group (whole: checked)."""
    return round(size * ref_gsd / coarsest)


def _tiles(regions: list[Region], tile: int, res: float) -> GridGeoSampler:
    """Validation tiles of ``tile`` coarse pixels, no larger than the smallest region."""
    sides = [
        min(r.grid.shape.y, r.grid.shape.x) * abs(float(r.grid.resolution.x)) / res for r in regions
    ]
    return GridGeoSampler(regions, min(tile, max(1, int(min(sides)))), res=res)


def group_normalization(
    data: ExperimentData, samples: list[Sample] | None = None
) -> tuple[list[float], list[float]]:
    """Per-band mean and std of every group, group after group, over the samples it is present in.

    Args:
        data: Multi-input experiment data (``data.inputs`` set).
        samples: The statistics samples (None: ``data.stats_samples()``).

    Raises:
        ConfigError: A group absent from every statistics sample.
    """
    assert data.inputs is not None
    drawn = list(data.stats_samples()) if samples is None else samples
    mean: list[float] = []
    std: list[float] = []
    for name, group in data.inputs.items():
        items = [
            {"image": image, "valid": valid}
            for s in drawn
            if bool(s[PRESENT][name])
            for image, valid in _dates_of(s[INPUTS][name])
        ]
        if not items:
            raise ConfigError(
                f"data.inputs.{name}: the group is absent from all {len(drawn)} samples drawn "
                "for the normalisation statistics.",
                fix="raise data.stats_samples, or check that the group's rasters cover the "
                "labelled scenes.",
            )
        stats = compute_band_stats(items, group["bands"], max_samples=None)
        mean += stats.mean.tolist()
        std += [max(float(v), 1e-6) for v in stats.std.tolist()]
    return mean, std


def _dates_of(group: dict[str, Any]) -> list[tuple[Any, Any]]:
    """``(image [C, H, W], valid [H, W])`` of each real date of a group's sample (one if none)."""
    image, valid = group["image"], group["valid"]
    if image.ndim == 3:
        return [(image, valid)]
    return [(image[t], valid[t]) for t in range(image.shape[0]) if bool(group["date_mask"][t])]


def multi_input_spec(config: ExperimentConfig, data: ExperimentData) -> ModelSpec:
    """The fusion network's spec: the config's model with the groups and the label grid.

    Raises:
        ConfigError: The architecture takes one stack of bands.
    """
    assert data.inputs is not None
    options = {**config.model.options, "inputs": data.inputs, "reference": data.label_grid}
    if config.task.kind == FIELD_TASK:  # extent, boundary and distance maps
        return config.model.spec("field_boundaries", data.bands, FIELD_OUTPUTS, options)
    kind: Task = "multilabel" if config.task.kind == "multilabel" else "segmentation"
    return config.model.spec(kind, data.bands, len(data.classes.names), options)


def is_multi_input(data: Any) -> bool:
    """Whether a data section names input groups (``data.inputs``)."""
    return isinstance(data, GeoData) and data.inputs is not None
