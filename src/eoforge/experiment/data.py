"""Build an experiment's datasets from its ``data`` section, for every data kind.

:func:`build_data` returns :class:`ExperimentData`: training and validation
datasets, factories of their samplers (built late, inside each DDP process,
so they shard by rank), the input band names, the classes, the GSD and patch
size that go into the bundle, and a stream of training samples for the
normalisation statistics. Chip data (class folders, image/mask pairs) is
shaped per split as ``data.chips`` says (:mod:`.chip_options`), chosen by
split files or a seeded hold-out of whole images, and its validation batches
may mix image sizes (padded to a common size, padding never scored). Detection
on geo data trains on windows drawn around objects (class-balanced) and
validates on overlapping tiles that count each object once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler, Subset, WeightedRandomSampler

from eoforge.data import (
    BigEarthNetDataset,
    ChangeTripletDataset,
    ClassFolderDataset,
    ImageMaskDataset,
    RandomGeoSampler,
    Region,
    collate,
)
from eoforge.data.bad_files import RAISE, BadFiles
from eoforge.data.chips import Colour
from eoforge.data.detection import (
    DetectionChipDataset,
    DetectionPadCollate,
    ImagePair,
    balanced_chip_weights,
    detection_collate,
)
from eoforge.data.detection_windows import DetectionWindows
from eoforge.data.shaping import Compose
from eoforge.data.splits import read_split
from eoforge.errors import ConfigError
from eoforge.experiment.chip_options import Collate, chip_collate, chip_transform, eval_options
from eoforge.experiment.classes import (
    ClassSet,
    RemapLabels,
    config_classes,
    legend_classes,
    mask_colour_classes,
    named_classes,
    read_legend,
    uses_mask_colours,
)
from eoforge.experiment.config import (
    BigEarthNetData,
    ChangeTripletData,
    ChipData,
    ChipOptions,
    ClassFolderData,
    DataCommon,
    ExperimentConfig,
    GeoData,
    ImageMaskData,
    ObjectsData,
    reference_group,
)
from eoforge.experiment.fields import FIELD_TASK, field_dataset
from eoforge.experiment.geo_data import (
    LabelFractions,
    PairedSources,
    geo_dataset,
    hold_out,
    image_regions,
    object_sampler,
    owned_pixels,
    paired_sources,
    scoring_regions,
    tile_sampler,
    train_sampler,
    val_overlap,
)
from eoforge.experiment.sampling import ShuffledIndices
from eoforge.experiment.scenes import scene_sources, with_target_bands

Sample = dict[str, Any]
SKIPPED_LOG = "skipped_files.tsv"
"""File of the run folder listing the bad files skipped (``path<TAB>reason`` lines)."""
SamplerFactory = Callable[[], Sampler[Any]]


@dataclass
class ExperimentData:
    """Everything training needs from the data section.

    Attributes:
        train: Training dataset (indexed by what ``train_sampler`` yields).
        val: Validation dataset.
        train_sampler: Builds the training sampler (call inside each process).
        val_sampler: Builds the validation sampler.
        bands: Input band names, channel order.
        classes: Output classes (empty for regression).
        gsd: Ground sample distance in metres, when known.
        patch_size: Training patch side in pixels.
        stats_samples: Yields training samples for normalisation statistics.
        train_collate: Batches training samples.
        val_collate: Batches validation and test samples (whole images of
            different sizes padded to a common size, for chip data with ``pad``).
        test: Test dataset (``data.splits.test``), or None.
        test_sampler: Builds the test sampler.
        bad_files: The bad-file policy (its log lists skipped files).
        inputs: With input groups (``data.inputs``): ``{name: {"bands", "gsd"}}``
            in model order (``bands`` lists them group after group); else None.
        label_grid: The group whose grid holds labels and outputs, with ``inputs``.
    """

    train: Dataset[Sample]
    val: Dataset[Sample]
    train_sampler: SamplerFactory
    val_sampler: SamplerFactory
    bands: list[str]
    classes: ClassSet
    gsd: float | None
    patch_size: int
    stats_samples: Callable[[], Iterator[Sample]] = field(repr=False)
    train_collate: Collate = collate
    val_collate: Collate = collate
    test: Dataset[Sample] | None = None
    test_sampler: SamplerFactory | None = None
    bad_files: BadFiles = RAISE
    inputs: dict[str, dict[str, Any]] | None = None
    label_grid: str | None = None


def build_data(config: ExperimentConfig, run_dir: Path) -> ExperimentData:
    """The datasets and samplers of ``config.data``.

    Args:
        config: The experiment.
        run_dir: Run folder (synthetic scenes are generated below it, skipped
            bad files listed in its ``skipped_files.tsv``).

    Raises:
        ConfigError: Inconsistent data (no classes, bands missing...).
        EoforgeError: A bad file under ``data.on_bad_file: error``.
    """
    data = config.data
    if isinstance(data, GeoData):
        return _geo(config, data, run_dir)
    if isinstance(data, ClassFolderData):
        return _class_folder(data, config, run_dir)
    if isinstance(data, ImageMaskData):
        return _image_mask(data, config, run_dir)
    if isinstance(data, ChangeTripletData):
        return _change_triplet(data, config, run_dir)
    if isinstance(data, ObjectsData):
        return _objects(data, config, run_dir)
    if not isinstance(data, BigEarthNetData):  # caption tables pair with image_text only
        raise ConfigError(
            f"data.kind {data.kind!r} serves task.kind image_text, not {config.task.kind!r}.",
            fix="set task.kind: image_text.",
        )
    return _bigearthnet(data, config)


def geo_classes(data: GeoData, scene: Path | None, task: str) -> ClassSet:
    """Classes of geo data: from the legend (optionally merged by ``classes``) or the list.

    Pretraining without a label layer, and pixel regression, have none.
    """
    if task in ("pixel_regression", "image_to_image", FIELD_TASK) or (
        task == "pretrain" and data.train.label is None
    ):
        return ClassSet()
    if data.legend is not None:
        entries = read_legend(data.legend, scene)
        return legend_classes(entries, data.legend.exclude, data.classes)
    assert data.classes is not None
    return config_classes(data.classes)


def _check_whole_tiles(regions: list[Region], tile: int) -> None:
    """Pretraining validates on whole tiles (encoders such as the ViT need their input size).

    Raises:
        ConfigError: A validation region is smaller than a tile.
    """
    rows = min(min(r.grid.shape.y, r.grid.shape.x) for r in regions)
    if rows < tile:
        raise ConfigError(
            f"data.val_fraction: the validation area is {rows} px across, less than the "
            f"{tile}-px windows pretraining validates on.",
            fix="raise data.val_fraction, lower data.val_patch_size, or give data.val scenes.",
        )


def _geo(config: ExperimentConfig, data: GeoData, run_dir: Path) -> ExperimentData:
    if data.inputs is not None:
        raise ConfigError(
            "data.inputs: input groups are read by training (eoforge train) only so far; this "
            "command reads one stack of bands (data.bands).",
            fix="train the config with eoforge train; other commands do not take it yet.",
        )
    if config.task.kind in ("detection", "oriented_detection"):
        return _geo_objects(config, data, run_dir)
    seed, ignore = config.trainer.seed, config.task.ignore_index
    bands = list(data.bands)
    train_src = scene_sources(data.train, bands, run_dir, "data.train")
    targets = list(data.target_bands or []) if config.task.kind == "image_to_image" else None
    if targets:
        train_src = with_target_bands(train_src, data.train, targets, run_dir, "data.train")
    classes = geo_classes(data, train_src.folder, config.task.kind)
    table = classes.lookup(ignore)
    steps: list[Any] = [] if table is None else [RemapLabels(table, ignore)]
    pretrain = config.task.kind == "pretrain"
    if pretrain and data.train.label is not None:  # SoftCon's per-window class fractions
        steps.append(LabelFractions(len(classes.names)))
    regions = image_regions(train_src, bands)
    if data.val is None:
        regions, val_regions = hold_out(regions, data.val_fraction, data.patch_size)
        val_src, val_layers = train_src, data.train
    else:
        val_src = scene_sources(data.val, bands, run_dir, "data.val")
        if targets:
            val_src = with_target_bands(val_src, data.val, targets, run_dir, "data.val")
        val_regions, val_layers = scoring_regions(val_src, bands), data.val
    tile = data.val_patch_size or data.patch_size
    if pretrain:
        _check_whole_tiles(val_regions, tile)
    once: list[Any] = [] if pretrain else [owned_pixels(val_regions, tile)]
    dataset = field_dataset if config.task.kind == FIELD_TASK else geo_dataset
    train = dataset(train_src, bands, data.train.label, data.train.target, steps, ignore, targets)
    val = dataset(
        val_src, bands, val_layers.label, val_layers.target, [*steps, *once], ignore, targets
    )

    def stats() -> Iterator[Sample]:
        sampler = RandomGeoSampler(regions, data.patch_size, data.stats_samples, seed=seed + 1)
        for window in sampler.epoch_windows(0):
            yield train[window]

    return ExperimentData(
        train=train,
        val=val,
        train_sampler=lambda: train_sampler(data, regions, seed, train_src.images),
        val_sampler=lambda: tile_sampler(val_regions, tile),
        bands=bands,
        classes=classes,
        gsd=abs(float(regions[0].grid.resolution.x)),
        patch_size=data.patch_size,
        stats_samples=stats,
    )


def _geo_objects(config: ExperimentConfig, data: GeoData, run_dir: Path) -> ExperimentData:
    """Detection on scenes: windows around objects for training, overlapping tiles to validate."""
    seed, bands, options = config.trainer.seed, list(data.bands), data.detection
    assert data.classes is not None and data.train.objects is not None  # checked on loading
    bad = BadFiles(options.on_bad_file, run_dir / SKIPPED_LOG)
    ids = {str(v): i for i, rule in enumerate(data.classes) for v in rule.values or [rule.name]}
    train_src = paired_sources(data.train, bands, run_dir, "data.train")
    regions = image_regions(train_src.sources, bands)
    val_src = train_src
    if data.val is None:
        regions, val_regions = hold_out(regions, data.val_fraction, data.patch_size)
    else:
        val_src = paired_sources(data.val, bands, run_dir, "data.val")
        val_regions = image_regions(val_src.sources, bands)

    def windows(paired: PairedSources) -> DetectionWindows:
        return DetectionWindows(
            paired.sources.images,
            paired.layer.path,
            None,
            bands=bands,
            oriented=config.task.kind == "oriented_detection",
            class_attribute=paired.layer.attribute,
            classes=ids,
            min_visible=options.min_visible,
            bad_files=bad,
            source_groups=paired.groups,
        )

    train, val = windows(train_src), windows(val_src)
    tile, overlap = data.val_patch_size or data.patch_size, val_overlap(data)
    val.count_once(tile_sampler(val_regions, tile, 0, 1, overlap).windows)
    first = object_sampler(data, train, regions, seed + 1)  # fails early without objects

    def stats() -> Iterator[Sample]:
        stats_data = data.model_copy(update={"samples_per_epoch": data.stats_samples})
        for window in object_sampler(stats_data, train, regions, seed + 1).epoch_windows(0):
            yield train[window]

    return ExperimentData(
        train=train,
        val=val,
        train_sampler=lambda: object_sampler(data, train, regions, seed),
        val_sampler=lambda: tile_sampler(val_regions, tile, overlap=overlap),
        bands=bands,
        classes=named_classes([rule.name for rule in data.classes]),
        gsd=abs(float(first.lattices[0].grid.resolution.x)),
        patch_size=data.patch_size,
        stats_samples=stats,
        train_collate=detection_collate,
        val_collate=detection_collate,
        bad_files=bad,
    )


def split_chips(
    dataset: Dataset[Sample], size: int, fraction: float, seed: int
) -> tuple[Subset[Sample], Subset[Sample]]:
    """A seeded random split of a chip dataset: ``fraction`` (at least one item) for validation.

    Raises:
        ConfigError: Fewer than two items.
    """
    train, val = held_out(size, fraction, seed)
    return Subset(dataset, train), Subset(dataset, val)


def held_out(size: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded positions of training and held-out items (``fraction``, at least one, held out).

    Raises:
        ConfigError: Fewer than two items.
    """
    if size < 2:
        raise ConfigError(
            f"only {size} item(s): cannot hold some out for validation.",
            fix="add data or give a separate validation folder.",
        )
    order = np.random.default_rng(seed).permutation(size)
    count = min(size - 1, max(1, round(size * fraction)))
    return order[count:].tolist(), order[:count].tolist()


def _chip_data(
    train: Dataset[Sample],
    val: Dataset[Sample] | None,
    common: DataCommon,
    config: ExperimentConfig,
    bands: list[str],
    classes: ClassSet,
    collates: tuple[Collate, Collate] = (collate, collate),
    test: Dataset[Sample] | None = None,
    bad_files: BadFiles = RAISE,
) -> ExperimentData:
    seed = config.trainer.seed
    size = len(train)  # type: ignore[arg-type]
    if val is None:
        train, val = split_chips(train, size, common.val_fraction, seed)
        size = len(train)
    val_size = len(val)  # type: ignore[arg-type]
    test_size = 0 if test is None else len(test)  # type: ignore[arg-type]
    first = train[0]
    first = first["image"] if "image" in first else first["valid"]  # input groups: label grid

    def stats() -> Iterator[Sample]:
        order = np.random.default_rng(seed + 1).permutation(size)
        for index in order[: common.stats_samples]:
            yield train[int(index)]

    return ExperimentData(
        train=train,
        val=val,
        train_sampler=lambda: ShuffledIndices(size, shuffle=True, seed=seed),
        val_sampler=lambda: ShuffledIndices(val_size, shuffle=False),
        bands=bands,
        classes=classes,
        gsd=None,
        patch_size=int(first.shape[-1]),
        stats_samples=stats,
        train_collate=collates[0],
        val_collate=collates[1],
        test=test,
        test_sampler=lambda: ShuffledIndices(test_size, shuffle=False),
        bad_files=bad_files,
    )


def bad_file_policy(data: ChipData, run_dir: Path) -> BadFiles:
    """The data's ``on_bad_file`` policy, logging skips to ``<run_dir>/skipped_files.tsv``."""
    return BadFiles(data.on_bad_file, run_dir / SKIPPED_LOG)


Split = Path | list[str] | None
"""A split: a split file, a list of its entries, or None for every item."""

D = TypeVar("D", bound=Dataset[Sample])


def split_datasets(
    make: Callable[[ChipOptions, Split], D],
    separate_val: Callable[[], D] | None,
    paths: Callable[[D], list[str]],
    data: ChipData,
    options: tuple[ChipOptions, ChipOptions],
    seed: int,
) -> tuple[D, D, D | None]:
    """Training, validation and test datasets of chip data, by the config's rules.

    ``data.splits`` first (train, val and test files); else everything trains
    and ``separate_val`` (a validation folder) validates; without either,
    ``data.val_fraction`` of the training items is held out (seeded).

    Args:
        make: Builds a dataset with the given chip options over a split.
        separate_val: Builds the dataset of a separate validation folder, or None.
        paths: The item paths of a dataset (to hold some out by path).
        data: The chip data section.
        options: Training and evaluation chip options.
        seed: Seed of the hold-out.

    Returns:
        ``(train, val, test)``; test is None without ``data.splits.test``.
    """
    train_opts, eval_opts = options
    splits = data.splits
    val: D | None = None
    test: D | None = None
    if splits is not None:
        train = make(train_opts, splits.train)
        if splits.val is not None:
            val = make(eval_opts, splits.val)
        if splits.test is not None:
            test = make(eval_opts, splits.test)
    else:
        train = make(train_opts, None)
        if separate_val is not None:
            val = separate_val()
    if val is None:
        items = paths(train)
        kept, held = held_out(len(items), data.val_fraction, seed)
        train = make(train_opts, [items[i] for i in kept])
        val = make(eval_opts, [items[i] for i in held])
    return train, val, test


def _class_folder(data: ClassFolderData, config: ExperimentConfig, run_dir: Path) -> ExperimentData:
    ignore, bad = config.task.ignore_index, bad_file_policy(data, run_dir)
    train_opts, eval_opts = data.chips.train, eval_options(data.chips, "class_folder")

    def folder(root: Path, opts: ChipOptions, split: Split) -> ClassFolderDataset:
        entries, where = _entries(split)
        return ClassFolderDataset(
            root,
            data.bands,
            transforms=chip_transform(opts, ignore) or None,
            split=entries,
            split_file=where,
            bad_files=bad,
        )

    root, val_root = data.root, data.val_root
    train, val, test = split_datasets(
        lambda opts, split: folder(root, opts, split),
        None if val_root is None else lambda: folder(val_root, eval_opts, None),
        lambda ds: [str(p) for p, _ in ds.files],
        data,
        (train_opts, eval_opts),
        config.trainer.seed,
    )
    for other in (val, test):
        if other is not None and other.classes != train.classes:
            raise ConfigError(
                f"data.val_root: classes {other.classes} differ from data.root's {train.classes}.",
                fix="give both folders the same class sub-folders.",
            )
    classes = named_classes(train.classes)
    collates = (chip_collate(train_opts, ignore), chip_collate(eval_opts, ignore))
    return _chip_data(train, val, data, config, train.bands, classes, collates, test, bad)


def _entries(split: Split) -> tuple[list[str] | None, Path | None]:
    if split is None:
        return None, None
    if isinstance(split, Path):
        return read_split(split), split
    return split, None


def _chip_classes(common: DataCommon, default: list[str] | None, key: str) -> ClassSet:
    if common.classes is not None:
        return config_classes(common.classes)
    if default is None:
        raise ConfigError(f"{key}: missing.", fix="list the classes (name, values, color).")
    return named_classes(default)


def _mask_reading(
    data: ImageMaskData, ignore: int
) -> tuple[ClassSet, dict[Colour, int] | None, int | None, RemapLabels | None]:
    """Classes, colour map, id of unknown colours, and label remapping of image/mask data."""
    if uses_mask_colours(data.classes):
        assert data.classes is not None
        classes, colours = mask_colour_classes(data.classes, data.ignore_colors, ignore)
        unknown = ignore if data.unknown_colors == "ignore" else None
        colour_map: dict[Colour, int] = dict(colours.items())
        return classes, colour_map, unknown, None
    if data.ignore_colors:
        raise ConfigError(
            "data.ignore_colors: given, but no class gives a mask colour.",
            fix="give each class its data.classes[].mask_color, or remove ignore_colors.",
        )
    classes = _chip_classes(data, None, "data.classes")
    table = classes.lookup(ignore)
    return classes, None, None, None if table is None else RemapLabels(table, ignore)


def _image_mask(data: ImageMaskData, config: ExperimentConfig, run_dir: Path) -> ExperimentData:
    ignore, bad = config.task.ignore_index, bad_file_policy(data, run_dir)
    classes, colours, unknown, remap = _mask_reading(data, ignore)
    train_opts, eval_opts = data.chips.train, eval_options(data.chips, "image_mask")

    def pairs(
        images: list[Path], masks: list[Path], opts: ChipOptions, split: Split
    ) -> ImageMaskDataset:
        entries, where = _entries(split)
        return ImageMaskDataset(
            images,
            masks,
            colours,
            unknown=unknown,
            bands=data.bands,
            transforms=Compose([remap, chip_transform(opts, ignore)]) or None,
            patch_size=opts.patch_size,
            stride=opts.stride,
            pad_value=ignore,
            split=entries,
            split_file=where,
            bad_files=bad,
        )

    val_images, val_masks = data.val_images, data.val_masks
    train, val, test = split_datasets(
        lambda opts, split: pairs(data.images, data.masks, opts, split),
        None
        if val_images is None or val_masks is None
        else lambda: pairs(val_images, val_masks, eval_opts, None),
        lambda ds: [str(image) for image, _ in ds.files],
        data,
        (train_opts, eval_opts),
        config.trainer.seed,
    )
    collates = (chip_collate(train_opts, ignore), chip_collate(eval_opts, ignore))
    return _chip_data(train, val, data, config, train.bands, classes, collates, test, bad)


def _change_triplet(
    data: ChangeTripletData, config: ExperimentConfig, run_dir: Path
) -> ExperimentData:
    ignore, bad = config.task.ignore_index, bad_file_policy(data, run_dir)
    default = ["no_change", "change"] if data.binary else None
    classes = _chip_classes(data, default, "data.classes")
    train_opts, eval_opts = data.chips.train, eval_options(data.chips, "image_mask")

    def pairs(root: Path, opts: ChipOptions, split: Split) -> ChangeTripletDataset:
        entries, where = _entries(split)
        return ChangeTripletDataset(
            root,
            binary=data.binary,
            bands=data.bands,
            transforms=chip_transform(opts, ignore) or None,
            split=entries,
            split_file=where,
            bad_files=bad,
        )

    root, val_root = data.root, data.val_root
    train, val, test = split_datasets(
        lambda opts, split: pairs(root, opts, split),
        None if val_root is None else lambda: pairs(val_root, eval_opts, None),
        lambda ds: [str(first) for first, _, _ in ds.files],
        data,
        (train_opts, eval_opts),
        config.trainer.seed,
    )
    collates = (chip_collate(train_opts, ignore), chip_collate(eval_opts, ignore))
    return _chip_data(train, val, data, config, train.bands, classes, collates, test, bad)


def _bigearthnet(data: BigEarthNetData, config: ExperimentConfig) -> ExperimentData:
    groups = None
    if data.inputs is not None:
        groups = {name: (list(g.bands), g.gsd) for name, g in data.inputs.items()}

    def patches(root: Path, split: Path | None) -> BigEarthNetDataset:
        entries, where = _entries(split)
        return BigEarthNetDataset(
            root,
            data.root_s1,
            data.bands,
            data.s1_bands,
            num_classes=data.num_classes,
            split=entries,
            split_file=where,
            inputs=groups,
        )

    splits = data.splits
    train = patches(data.root_s2, None if splits is None else splits.train)
    val = test = None
    if splits is not None:
        val = None if splits.val is None else patches(data.root_s2, splits.val)
        test = None if splits.test is None else patches(data.root_s2, splits.test)
    elif data.val_root_s2 is not None:
        val = patches(data.val_root_s2, None)
    classes = named_classes(train.classes)
    result = _chip_data(train, val, data, config, train.bands, classes, test=test)
    result.gsd = 10.0
    if data.inputs is not None:  # the multi-input path: per-group statistics, fusion spec
        result.inputs = {n: {"bands": list(g.bands), "gsd": g.gsd} for n, g in data.inputs.items()}
        result.label_grid = reference_group(data.inputs, None)
    return result


DETECTION_MULTIPLE = 32
"""Detection batches of mixed image sizes are padded to a multiple of this (pixels)."""


def _objects(data: ObjectsData, config: ExperimentConfig, run_dir: Path) -> ExperimentData:
    bad = BadFiles(data.on_bad_file, run_dir / SKIPPED_LOG)
    assert data.classes is not None  # the config requires them
    names = [rule.name for rule in data.classes]
    oriented = config.task.kind == "oriented_detection"
    pair = None
    if data.pair is not None:
        read = tuple(data.pair.read) if data.pair.read else None
        pair = ImagePair(data.pair.folder, tuple(data.pair.bands), read)

    def chips(root: Path) -> DetectionChipDataset:
        return DetectionChipDataset(
            root,
            oriented=oriented,
            classes=names,
            bands=data.bands,
            patch_size=data.patch_size,
            stride=data.stride,
            min_visible=data.min_visible,
            keep_empty=data.keep_empty,
            bad_files=bad,
            pair=pair,
        )

    full = chips(data.root)
    val: Dataset[Sample] | None = None if data.val_root is None else chips(data.val_root)
    collate_fn = DetectionPadCollate(DETECTION_MULTIPLE)
    result = _chip_data(
        full, val, data, config, list(full.bands), named_classes(names), (collate_fn, collate_fn),
        None, bad,
    )  # fmt: skip
    if data.balanced:
        weights = balanced_chip_weights(full)
        if isinstance(result.train, Subset):  # validation held out of the training chips
            weights = weights[list(result.train.indices)]
        drawn, seed = weights.tolist(), config.trainer.seed

        def balanced() -> Sampler[int]:
            generator = torch.Generator().manual_seed(seed)
            return WeightedRandomSampler(drawn, len(drawn), generator=generator)

        result.train_sampler = balanced
    return result
