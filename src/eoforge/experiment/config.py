"""The experiment config: data, model, task, optimisation and trainer, validated by pydantic.

Every section forbids unknown keys, band names are checked against the sensor
registry and architectures against the model registry, and paths must exist
(relative paths are relative to the working directory). :mod:`.loading` reads
the YAML file and turns validation errors into one-line
:class:`~eoforge.errors.ConfigError` messages naming the dotted key.
"""

from __future__ import annotations

import glob
import itertools
import re
from collections.abc import Sequence
from datetime import date as Day
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from eoforge.classes import hex_color
from eoforge.errors import ConfigError, EoforgeError
from eoforge.location.bundle import read_location_json
from eoforge.location.encoder import LOCATION_ARCH
from eoforge.models import ModelSpec, list_models
from eoforge.models.importers import list_importers
from eoforge.models.location_fusion import LocationInput
from eoforge.models.spec import SupervisedTask, Task
from eoforge.sensors import get_band

TaskKind = Literal[SupervisedTask, "pretrain", "image_text", "location"]
DATA_KINDS = (
    "geo",
    "class_folder",
    "image_mask",
    "change_triplet",
    "bigearthnet",
    "objects",
    "captions",
    "embeddings",
    "sr_pairs",
)


def _known_band(name: str) -> str:
    try:
        return get_band(name).name
    except EoforgeError as error:
        kind = "ambiguous" if "ambiguous" in error.reason else "unknown"
        raise ValueError(f"{kind} band {name!r} ({error.reason.rstrip('.')})") from None


def _existing(path: Path) -> Path:
    if not path.exists():
        raise ValueError(f"{str(path)!r} does not exist")
    return path


def _known_arch(name: str) -> str:
    names = [info.name for info in list_models()] + [LOCATION_ARCH]
    if name not in names:
        raise ValueError(f"unknown architecture {name!r}; available: {', '.join(names)}")
    return name


def _known_importer(name: str) -> str:
    names = ["auto", *(importer.name for importer in list_importers())]
    if name not in names:
        raise ValueError(f"unknown checkpoint importer {name!r}; available: {', '.join(names)}")
    return name


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | Path) else value


BandName = Annotated[str, AfterValidator(_known_band)]
ExistingPath = Annotated[Path, AfterValidator(_existing)]
PathList = Annotated[list[ExistingPath], BeforeValidator(_as_list)]


class Section(BaseModel):
    """Base of every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class SyntheticScene(Section):
    """A scene ``eoforge synth`` generates under the run's output folder when missing.

    ``phenology: varied`` gives every field its own season (sowing, length,
    vigour, soil; :mod:`eoforge.synth.world.phenology`), for crop types from a series.
    """

    seed: int = 0
    size: int = Field(default=512, ge=64)
    sensors: str = "s2"
    dates: int = Field(default=1, ge=1)
    clouds: float = Field(default=0.0, ge=0, le=0.9)
    phenology: Literal["uniform", "varied"] = "uniform"


class LabelLayer(Section):
    """Label layer of geo data: a raster band, or a vector attribute.

    Attributes:
        kind: ``raster`` (class ids in a band) or ``vector`` (polygons).
        path: Raster or vector file; None takes the catalog's label raster
            that holds ``band`` (e.g. a STAC label asset).
        band: Band of the raster layer (e.g. ``landcover``).
        attribute: Vector column holding the class.
        values: Vector attribute value to label value (e.g. names to ids).
        background: Label value of pixels no vector feature covers; None
            leaves them unlabelled (they never count).
    """

    kind: Literal["raster", "vector"] = "raster"
    path: ExistingPath | None = None
    band: str | None = None
    attribute: str | None = None
    values: dict[str, int] | None = None
    background: int | None = 0

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.kind == "vector" and self.path is None:
            raise ValueError("a vector label layer needs 'path'")
        if self.kind == "raster" and self.path is None and self.band is None:
            raise ValueError("give the raster label 'path', or the catalog label 'band'")
        return self


class TargetLayer(Section):
    """Continuous per-pixel target (pixel regression), optionally sparse.

    Attributes:
        path: Raster file or product folder; None reads ``band`` from the images' catalog.
        band: Band name of the target (e.g. ``DEM.ndsm``).
        footprint_fraction: Fraction of pixels that keep a target, the others
            are unlabelled (NaN), like GEDI footprints; drawn from map
            coordinates, so a pixel is labelled or not whatever the window.
        footprint_seed: Seed of the footprint pattern.
    """

    path: ExistingPath | None = None
    band: str
    footprint_fraction: float = Field(default=1.0, gt=0, le=1)
    footprint_seed: int = 0


class ObjectLayer(Section):
    """Object polygons in map coordinates (detection tasks).

    Attributes:
        path: GeoParquet, GeoJSON or other vector file with a CRS (e.g. a
            synthetic scene's ``vectors/objects.parquet``, or the per-scene
            ``objects.parquet`` that ``eoforge datasets prepare xview3-sar``
            writes), or one file per entry of ``images``, paired by position:
            the objects of a file then count only on the images of its entry
            (scenes of one place at other dates show other objects).
            Horizontal boxes are each polygon's bounds, oriented boxes its
            minimum rotated rectangle.
        attribute: Column holding each object's class; its values are the
            class names of ``data.classes`` (or their ``values``).
    """

    path: PathList = Field(min_length=1)
    attribute: str = "label"


class TargetScene(Section):
    """Where ``image_to_image`` reads its target bands, when not from the input scenes.

    A paired rendering of the same footprint and date, e.g. the cloud-free
    Sentinel-2 scene beside the cloudy input. Exactly one of the two is given.

    Attributes:
        images: STAC JSON, saved catalog, scene folders or files holding
            ``data.target_bands``.
        synthetic: Generate it (same options as ``synthetic``; the same seed
            with ``clouds: 0`` renders the same ground under a clear sky).
    """

    images: PathList = Field(default_factory=list)
    synthetic: SyntheticScene | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if bool(self.images) == (self.synthetic is not None):
            raise ValueError("give either 'images' or 'synthetic', not both or neither")
        return self


class SceneSet(Section):
    """Images and labels of one split of geo data.

    Attributes:
        images: STAC collection/catalog JSON, saved catalog (``.parquet``),
            folders (a synthetic scene folder uses its ``stac/``) or files.
        synthetic: Generate a synthetic scene instead (``images`` empty).
        label: The class label layer (classification tasks).
        target: The regression target layer (``pixel_regression``).
        objects: The object layer (detection tasks).
        target_scene: Scenes holding ``data.target_bands`` (``image_to_image``);
            None reads them from the same catalog as the input bands.
    """

    images: PathList = Field(default_factory=list)
    synthetic: SyntheticScene | None = None
    label: LabelLayer | None = None
    target: TargetLayer | None = None
    objects: ObjectLayer | None = None
    target_scene: TargetScene | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if bool(self.images) == (self.synthetic is not None):
            raise ValueError("give either 'images' or 'synthetic', not both or neither")
        paths = 0 if self.objects is None else len(self.objects.path)
        if paths > 1 and paths != len(self.images):
            raise ValueError(
                f"{paths} objects files for {len(self.images)} images entries: give one "
                "file for all images, or one per images entry (paired by position)"
            )
        return self


def _colour(value: Any) -> Any:
    if value is None:
        return None
    try:
        return hex_color(value)
    except ConfigError as error:  # pydantic reports ValueErrors with the dotted key
        raise ValueError(error.reason.rstrip(".")) from None


Colour = Annotated[str | None, BeforeValidator(_colour)]


def _mask_colours(value: Any) -> Any:
    """One colour, or a list of colours, as a list of ``#rrggbb`` strings."""
    if value is None:
        return None
    one = isinstance(value, str) or (
        isinstance(value, list | tuple)
        and len(value) == 3
        and all(isinstance(v, int) for v in value)
    )
    items = [value] if one else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError("give a colour or a non-empty list of colours")
    return [_colour(item) for item in items]


MaskColours = Annotated[list[str] | None, BeforeValidator(_mask_colours)]


class ClassRule(Section):
    """Input-side rule: which label values become one output class, and how it looks.

    The rules of ``data.classes`` are read into :class:`eoforge.classes.ClassInfo`
    (the one class type) in list order: rule ``i`` is class id ``i``.

    Attributes:
        name: Class name.
        values: Label values (ints, or legend names) that become this class;
            default the class's legend value, or its position.
        color: Display colour, ``#rrggbb``, ``#rgb`` or ``[r, g, b]`` (0-255),
            stored as ``#rrggbb``; default from the legend, the first mask
            colour, or a palette.
        mask_color: Colour(s) that mark this class in a colour-coded (RGB)
            mask, e.g. ``"#3C1098"`` or ``["#9B9B9B", "#000000"]`` (several
            colours merge into the class). Read by ``image_mask`` data only
            (every class then needs one); other data kinds refuse it.
    """

    name: str = Field(min_length=1)
    values: list[int | str] | None = None
    color: Colour = None
    mask_color: MaskColours = None


class Legend(Section):
    """A synthetic scene's ``legend.json``: class names, values and colours.

    Attributes:
        path: The ``legend.json`` file, or a scene folder holding one; None
            uses the training scene's (e.g. a generated one).
        layer: Legend entry to use (``landcover``).
        exclude: Names that never count (the nodata class).
    """

    path: Path | None = None
    layer: str = "landcover"
    exclude: list[str] = Field(default_factory=lambda: ["nodata"])


class DataCommon(Section):
    """Loader settings shared by every data kind.

    Attributes:
        batch_size: Samples per batch.
        eval_batch_size: Samples per validation/evaluation batch (None:
            ``batch_size``); whole large images need fewer per batch.
        num_workers: DataLoader worker processes (0 reads in the training
            process; on a 2-core machine 1 or 2 keeps both cores busy).
        persistent_workers: Keep the workers alive between epochs (no
            start-up cost per epoch); only with ``num_workers > 0``.
        prefetch_factor: Batches each worker reads ahead (None: PyTorch's 2);
            unused with ``num_workers: 0``.
        pin_memory: Page-locked batches for faster GPU copies; None turns it
            on when training on a GPU and off on the CPU.
        val_fraction: Share of the training items held out for validation
            when no validation data or split is given.
        stats_samples: Training samples for the normalisation statistics.
        classes: The output classes (see :class:`ClassRule`).
    """

    batch_size: int = Field(default=8, ge=1)
    eval_batch_size: int | None = Field(default=None, ge=1)
    num_workers: int = Field(default=0, ge=0)
    persistent_workers: bool = True
    prefetch_factor: int | None = Field(default=None, ge=1)
    pin_memory: bool | None = None
    val_fraction: float = Field(default=0.2, gt=0, lt=1)
    stats_samples: int = Field(default=64, ge=1)
    classes: list[ClassRule] | None = None


def _size(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) != 2:
        raise ValueError("give one side or [height, width] in pixels")
    return value


SizeSpec = Annotated[
    Annotated[int, Field(ge=1)] | tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]],
    BeforeValidator(_size),
]


class PadOptions(Section):
    """Padding at the bottom and right edges; padded pixels are invalid and never count.

    Attributes:
        size: Pad to at least this side (or ``[height, width]``), pixels.
        multiple: Then pad each side up to a multiple of this (the network's
            output stride, e.g. 32 for a 5-level U-Net). Batches of images of
            different sizes are padded to their largest member, so whole
            images of any size can be scored; predictions are cut back to
            each image's own size (padded pixels carry the ignore index).
    """

    size: SizeSpec | None = None
    multiple: int = Field(default=1, ge=1)


class ChipOptions(Section):
    """How the chips of one split are shaped, applied in this order.

    Attributes:
        patch_size: Cut each image into square patches of this side, pixels
            (``image_mask`` data only; large LandCover.ai-style images are read
            window by window, nothing is written to disk). Patches cover each
            image to its edges; smaller images give one padded patch.
        stride: Step between patches, pixels (default ``patch_size``: no overlap).
        scale: Resample by this factor first (e.g. ``0.5`` halves each side:
            4x fewer pixels to learn from and score; masks are scored at that
            resolution too), images bilinear, masks nearest neighbour.
        resize: Resample to this side (or ``[height, width]``), pixels: images
            bilinear (antialiased), masks and valid masks nearest neighbour.
        random_crop: A random window of this size (padded first where smaller).
        center_crop: The central window of this size (padded first where smaller).
        pad: Padding (see :class:`PadOptions`).
    """

    patch_size: int | None = Field(default=None, ge=8)
    stride: int | None = Field(default=None, ge=1)
    scale: float | None = Field(default=None, gt=0, le=4)
    resize: SizeSpec | None = None
    random_crop: SizeSpec | None = None
    center_crop: SizeSpec | None = None
    pad: PadOptions | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.random_crop is not None and self.center_crop is not None:
            raise ValueError("give random_crop or center_crop, not both")
        if self.stride is not None and self.patch_size is None:
            raise ValueError("stride needs patch_size")
        return self


class ChipSettings(Section):
    """Chip shapes for training and for evaluation (validation, test, ``eoforge evaluate``).

    Attributes:
        train: Shaping of training chips (default: as stored).
        eval: Shaping of evaluation chips. None derives it from ``train``:
            the same ``scale`` and ``resize``; for ``image_mask`` data whole images (no
            patches, no crop) padded to a multiple of 32 and cut back; for
            class folders a ``center_crop`` of the training crop size and the
            same ``pad``.
    """

    train: ChipOptions = Field(default_factory=lambda: ChipOptions())
    eval: ChipOptions | None = None


class Splits(Section):
    """Official split files: text files listing one image per line.

    An entry is an image's file name, its stem, or the end of its path
    (``tile_5/images/image_part_001.jpg``); ``#`` starts a comment line.

    Attributes:
        train: Images to train on.
        val: Images to validate on; None holds out ``val_fraction`` of ``train``.
        test: Images ``evaluate(..., split="test")`` scores.
    """

    train: ExistingPath
    val: ExistingPath | None = None
    test: ExistingPath | None = None


class ChipData(DataCommon):
    """Settings of the chip data kinds (class folders, image/mask pairs).

    Attributes:
        chips: Resizing, cropping, padding and patches, per split.
        splits: Official split files; None uses every image for training
            (minus ``val_fraction``) unless validation folders are given.
        on_bad_file: ``error`` stops at a corrupt image, a mask without an
            image (or the reverse), an unknown mask colour or a split entry
            naming no image, with a message naming the file; ``skip`` leaves
            such files out, logs them in ``<output_dir>/skipped_files.tsv``
            and reports their number at the end of training.
    """

    chips: ChipSettings = Field(default_factory=lambda: ChipSettings())
    splits: Splits | None = None
    on_bad_file: Literal["error", "skip"] = "error"


class ObjectWindows(Section):
    """How detection windows are drawn on georeferenced scenes, and how objects count.

    Training windows come from :class:`eoforge.data.object_sampler.ObjectGeoSampler`:
    each draw picks a class (uniformly, or by ``class_weights``), then one of its
    objects, then a window holding it at a random offset; a ``background``
    share of windows go anywhere. Validation tiles the validation scenes with
    ``val_overlap`` pixels of overlap, and each object counts once (in the tile
    showing most of it; other tiles mark it difficult, ignored by the score).

    Attributes:
        min_visible: Least share of an object's area a window must show for its
            box to be a training target (horizontal boxes are clipped to it).
        background: Share of training windows placed at random.
        class_weights: Relative share of training windows per class (default:
            equal, class-balanced); classes without objects get none.
        val_overlap: Pixels shared by neighbouring validation tiles (None: a
            quarter of the tile side).
        on_bad_file: ``error`` stops at an object of an unknown class or a
            polygon that cannot be a box (empty, not a polygon, no area,
            self-intersecting), naming the file and the first row; ``skip``
            leaves those objects out and logs their number in
            ``<output_dir>/skipped_files.tsv``.
    """

    min_visible: float = Field(default=0.5, gt=0, le=1)
    background: float = Field(default=0.1, ge=0, le=1)
    class_weights: list[Annotated[float, Field(ge=0)]] | None = None
    val_overlap: int | None = Field(default=None, ge=0)
    on_bad_file: Literal["error", "skip"] = "error"


GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
WHOLE_PIXEL_TOLERANCE = 1e-6
"""Largest departure from a whole number of pixels that still counts as whole (float GSDs)."""


class CloudMask(Section):
    """Which pixels of a date are cloudy: a band of the group's rasters and its cloudy codes.

    Attributes:
        band: Band holding the per-date mask, a band of the same rasters as the
            group's bands (``eoforge synth`` writes ``cloudmask`` beside each
            Sentinel-2 date: 0 clear, 1 cloud, 2 cloud shadow, 255 nodata).
        values: Mask codes that make a pixel unusable (default cloud and shadow);
            the mask's nodata is unusable too.
        rasters: Mask rasters apart from the group's own, e.g. the class maps
            ``eoforge predict`` writes for a cloud bundle (``<scene>_classes.tif``,
            band ``class``: 0 clear, 1 cloud, 2 cloud_shadow); each joins the group
            raster whose name its file name starts with (``<scene>_``).
    """

    band: str = "cloudmask"
    values: list[int] = Field(default_factory=lambda: [1, 2], min_length=1)
    rasters: PathList = Field(default_factory=list)


class CloudFilter(Section):
    """Training windows whose cloud fraction exceeds a threshold are drawn again.

    Attributes:
        max_fraction: Largest share of a window's (mask-covered) pixels with a
            cloudy code, 0-1.
        band: The mask band: ``cloudmask`` of synthetic Sentinel-2 dates, or
            ``class`` of a cloud bundle's predicted class map.
        values: Codes counted as cloudy (default cloud and shadow).
        rasters: Mask rasters (e.g. ``eoforge predict``'s ``<scene>_classes.tif``);
            empty: the training images that hold ``band``.
    """

    max_fraction: float = Field(ge=0, le=1)
    band: str = "cloudmask"
    values: list[int] = Field(default_factory=lambda: [1, 2], min_length=1)
    rasters: PathList = Field(default_factory=list)


class InputGroup(Section):
    """One named input of multi-input geo data: its bands, read on a grid of its own.

    Attributes:
        bands: Band names of the group, in channel order (e.g. ``[S1.VV, S1.VH]``).
        gsd: Pixel size of the group's grid, in the scenes' CRS units (metres
            for projected CRSs); the group is read at this size for every
            footprint, on the pixel lattice of its files when they align.
        scenes: Images holding the group's bands when they are not in the
            split's own images (files, folders, STAC JSON or saved catalogs),
            shared by every split; None reads them from ``data.<split>.images``.
        resampling: Resampling where the group's files are not pixel-aligned
            with its grid (``average`` suits coarsening, ``bilinear`` refining).
        dates: None: one date (the group's rasters mosaicked, earlier ones
            first). An int ``T``: a time series of at most ``T`` acquisition
            dates per footprint (rasters of one day mosaic; more dates than
            ``T`` are thinned evenly over the period, fewer are padded), sampled
            as ``image [T, C, H, W]``, ``valid [T, H, W]``, ``doy [T]`` and
            ``date_mask [T]``. A list of days (``[2024-03-01, 2024-05-21]``, in
            increasing order): exactly those acquisition days, ``T`` their number.
        clouds: Per-date cloud mask making cloudy pixels invalid (time series only).
        composite: Reduce the series to one ``[C, H, W]`` image over its valid
            pixels, for single-date networks: ``median`` (per-pixel median of the
            clear dates) or ``best_pixel`` (per pixel the clear date nearest in
            time to the middle of the series' dates). Needs ``dates``.
        start: First acquisition day of the series (inclusive), or None.
        end: Last acquisition day of the series (inclusive), or None.
    """

    bands: list[BandName]
    gsd: float
    scenes: PathList | None = None
    resampling: Literal["nearest", "bilinear", "cubic", "average"] = "bilinear"
    dates: int | list[Day] | None = None
    clouds: CloudMask | None = None
    composite: Literal["median", "best_pixel"] | None = None
    start: Day | None = None
    end: Day | None = None

    @field_validator("bands")
    @classmethod
    def _some_bands(cls, bands: list[str]) -> list[str]:
        if not bands:
            raise ValueError("the group lists no bands; give at least one band name")
        repeated = sorted({b for b in bands if bands.count(b) > 1})
        if repeated:
            raise ValueError(f"bands {repeated} are listed twice; list each band once")
        return bands

    @field_validator("dates")
    @classmethod
    def _series_length(cls, dates: int | list[Day] | None) -> int | list[Day] | None:
        if isinstance(dates, int) and dates < 1:
            raise ValueError(
                f"dates must be at least 1 (got {dates}): the most acquisition dates per "
                "footprint, e.g. 8; or leave it out for one date"
            )
        if isinstance(dates, list):
            if not dates:
                raise ValueError("dates lists no day; list acquisition days or give a count")
            for before, after in itertools.pairwise(dates):
                if after <= before:
                    raise ValueError(
                        f"dates are not in increasing order: {after} comes after {before}; "
                        "list each acquisition day once, earliest first"
                    )
        return dates

    @model_validator(mode="after")
    def _series_options(self) -> Self:
        if self.dates is None:
            given = [k for k in ("clouds", "composite", "start", "end") if getattr(self, k)]
            if given:
                raise ValueError(
                    f"{', '.join(given)} given without dates: they shape a time series; set "
                    "dates (e.g. dates: 8) or remove them"
                )
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; swap them")
        if isinstance(self.dates, list):
            outside = [
                str(d)
                for d in self.dates
                if (self.start is not None and d < self.start)
                or (self.end is not None and d > self.end)
            ]
            if outside:
                raise ValueError(
                    f"dates {outside} lie outside start..end; remove them or widen the range"
                )
        if self.clouds is not None and self.clouds.band in self.bands:
            raise ValueError(
                f"clouds.band {self.clouds.band!r} is also an input band; the mask is read "
                "on its own, remove it from bands"
            )
        return self

    @property
    def series(self) -> bool:
        """Whether samples hold a ``[T, C, H, W]`` series (dates given, no composite)."""
        return self.dates is not None and self.composite is None

    @property
    def length(self) -> int | None:
        """``T``: the most dates per footprint (None: one date)."""
        if self.dates is None:
            return None
        return len(self.dates) if isinstance(self.dates, list) else self.dates

    @field_validator("gsd")
    @classmethod
    def _positive(cls, gsd: float) -> float:
        if not gsd > 0:
            raise ValueError(
                f"gsd must be a pixel size > 0 in the scenes' CRS units (got {gsd}); e.g. 10 "
                "for Sentinel-2's 10 m bands"
            )
        return gsd


def whole_pixels(footprint: float, gsd: float) -> int | None:
    """``footprint / gsd`` when it is a whole number of pixels, else None."""
    pixels = footprint / gsd
    nearest = round(pixels)
    return nearest if nearest >= 1 and abs(pixels - nearest) < WHOLE_PIXEL_TOLERANCE else None


def _check_groups(
    inputs: dict[str, InputGroup], label_grid: str | None, sizes: list[tuple[str, int]]
) -> None:
    """Group names, the label grid and whole-pixel patches of every group (ValueError)."""
    if not inputs:
        raise ValueError("data.inputs names no group; give at least one, e.g. s2: {bands, gsd}")
    for name in inputs:
        if not GROUP_NAME.match(name):
            raise ValueError(
                f"data.inputs: group name {name!r} must start with a letter and hold only "
                "letters, digits and '_' (it names model parts)"
            )
    owners: dict[str, list[str]] = {}
    for name, group in inputs.items():
        for band in group.bands:
            for owner in owners.get(band, []):
                if not _apart(inputs[owner], group):
                    raise ValueError(
                        f"data.inputs: band {band} is in groups {owner!r} and {name!r}; give "
                        "each band to one group, or each of the two groups its own listed "
                        "days (dates: [...], no day in common), e.g. before and after an event"
                    )
            owners.setdefault(band, []).append(name)
    if label_grid is not None and label_grid not in inputs:
        raise ValueError(
            f"data.label_grid: {label_grid!r} is not a group of data.inputs "
            f"({', '.join(inputs)}); name one of them or remove it (default: the finest)"
        )
    reference = reference_group(inputs, label_grid)
    ref_gsd = inputs[reference].gsd
    for key, size in sizes:
        footprint = size * ref_gsd
        for name, group in inputs.items():
            if whole_pixels(footprint, group.gsd) is None:
                step = _smallest_whole(ref_gsd, [g.gsd for g in inputs.values()])
                hint = f"a multiple of {step}" if step is not None else "another size"
                raise ValueError(
                    f"data.{key}: {size} px at {ref_gsd:g} (the label grid, group "
                    f"{reference!r}) is {footprint:g} units across, {footprint / group.gsd:g} "
                    f"px of group {name!r} at gsd {group.gsd:g}, not a whole number; use "
                    f"data.{key} {hint}, or change the groups' gsd"
                )


def _apart(first: InputGroup, second: InputGroup) -> bool:
    """Whether two groups read different acquisitions: both list days, none in common."""
    if not isinstance(first.dates, list) or not isinstance(second.dates, list):
        return False
    return not set(first.dates) & set(second.dates)


def _smallest_whole(ref_gsd: float, gsds: list[float], limit: int = 4096) -> int | None:
    """The smallest patch side (label-grid pixels) that is whole in every group, up to ``limit``."""
    for size in range(1, limit + 1):
        if all(whole_pixels(size * ref_gsd, g) is not None for g in gsds):
            return size
    return None


def reference_group(inputs: dict[str, InputGroup], label_grid: str | None) -> str:
    """The group holding the label grid: ``label_grid``, else the finest (first of ties)."""
    if label_grid is not None:
        return label_grid
    return min(inputs, key=lambda name: inputs[name].gsd)


class GeoData(DataCommon):
    """Georeferenced scenes read by band name through samplers.

    Attributes:
        train: Training scenes.
        val: Validation scenes; None holds out the last ``val_fraction`` of
            each training scene's rows (a spatial hold-out).
        bands: Input bands by name.
        patch_size: Training window side, pixels.
        val_patch_size: Validation tile side (default ``patch_size``).
        samples_per_epoch: Random training windows per epoch.
        windows_per_read: Training windows drawn inside each read of
            ``read_size`` pixels (1: every window placed on its own). Larger values
            decode each file block once for several windows (5x TorchGeo's cold
            loading at 16 in ``benchmarks/bench_loading.py``) at a cost in
            randomness: an epoch's windows come from ``samples_per_epoch /
            windows_per_read`` independently drawn places.
        read_size: Side of those reads, pixels (a multiple of the files' internal
            tile size is best); at least ``patch_size``.
        shuffle_buffer: Consecutive windows a read's windows are spread over, so
            batches mix many reads.
        legend: Take classes from a synthetic scene's legend.
        detection: Window drawing and object counting of detection tasks (see
            :class:`ObjectWindows`); training windows then come from it, not from
            ``windows_per_read``.
        target_bands: Bands ``image_to_image`` predicts, by name (e.g.
            ``[S2.B02, S2.B03, S2.B04, S2.B08]``), read on each window's grid from
            ``target_scene`` or the input scenes.
        inputs: Named input groups instead of ``bands`` (see :class:`InputGroup`):
            each footprint is read once per group, on the group's own grid
            (e.g. Sentinel-2 at 10 m beside a 1 m DSM). Give ``bands`` or ``inputs``.
        label_grid: The group whose grid holds the label mask, the output and
            the patch sizes (``patch_size`` counts its pixels); default the
            group of the finest ``gsd``.
        cloud_filter: Redraw training windows cloudier than a threshold (see
            :class:`CloudFilter`); validation tiles are kept whole.
    """

    kind: Literal["geo"]
    train: SceneSet
    val: SceneSet | None = None
    bands: list[BandName] = Field(default_factory=list)
    patch_size: int = Field(default=128, ge=16)
    val_patch_size: int | None = Field(default=None, ge=16)
    samples_per_epoch: int = Field(default=256, ge=1)
    windows_per_read: int = Field(default=1, ge=1)
    read_size: int = Field(default=1024, ge=16)
    shuffle_buffer: int = Field(default=128, ge=1)
    legend: Legend | None = None
    detection: ObjectWindows = Field(default_factory=lambda: ObjectWindows())
    target_bands: list[BandName] | None = Field(default=None, min_length=1)
    inputs: dict[str, InputGroup] | None = None
    label_grid: str | None = None
    cloud_filter: CloudFilter | None = None

    @model_validator(mode="after")
    def _bands_or_inputs(self) -> Self:
        if self.inputs is None:
            if not self.bands:
                raise ValueError(
                    "data.bands: missing or empty; list the input bands (e.g. [S2.B02, S2.B03, "
                    "S2.B04, S2.B08]), or name input groups in data.inputs"
                )
            if self.label_grid is not None:
                raise ValueError("data.label_grid: given without data.inputs; remove it")
            if self.cloud_filter is not None and self.windows_per_read > 1:
                raise ValueError(
                    "data.cloud_filter: windows are filtered one by one; set "
                    "data.windows_per_read to 1"
                )
            return self
        if self.cloud_filter is not None:
            raise ValueError(
                "data.cloud_filter: not implemented for input groups yet; a time-series "
                "group masks its cloudy pixels with clouds: {band, values}"
            )
        if self.bands:
            raise ValueError(
                "data.bands and data.inputs are both given; list the bands inside the groups "
                "of data.inputs and remove data.bands"
            )
        if self.windows_per_read > 1:
            raise ValueError(
                "data.windows_per_read: several windows per read are not implemented for input "
                "groups yet; set it to 1 (each footprint is read group by group)"
            )
        sizes = [("patch_size", self.patch_size)]
        if self.val_patch_size is not None:
            sizes.append(("val_patch_size", self.val_patch_size))
        _check_groups(self.inputs, self.label_grid, sizes)
        return self


class ClassFolderData(ChipData):
    """Scene classification chips ``root/<class>/<image>`` (classes from folder names).

    Attributes:
        root: The dataset folder.
        val_root: A separate validation folder (same class sub-folders).
        bands: The files' band names in file order (default RGB for 3 bands).
    """

    kind: Literal["class_folder"]
    root: ExistingPath
    val_root: ExistingPath | None = None
    bands: list[BandName] | None = None

    @model_validator(mode="after")
    def _no_patches(self) -> Self:
        settings = [self.chips.train, self.chips.eval]
        if any(o is not None and o.patch_size is not None for o in settings):
            raise ValueError("chips patch_size is for image_mask data; use resize or a crop")
        if self.splits is not None and self.val_root is not None:
            raise ValueError("give splits or val_root, not both")
        return self


class ImageMaskData(ChipData):
    """Segmentation chips: ``images/`` with same-named ``masks/`` (class ids or RGB colours).

    Attributes:
        images: Image folder, or several (e.g. one per tile).
        masks: Mask folder, or one per image folder in the same order.
        val_images: Validation image folder(s); None holds out
            ``val_fraction`` of the training images (or uses ``splits.val``).
        val_masks: Their mask folders.
        bands: The images' band names in file order (default RGB for 3 bands).
        unknown_colors: With colour-coded masks (``data.classes[].mask_color``),
            what a colour no class lists becomes: ``error`` (stop, naming the
            mask file and the colour) or ``ignore`` (the task's ignore index).
        ignore_colors: Mask colours that never count (unlabelled pixels),
            e.g. ``["#9B9B9B", "#000000"]``.
    """

    kind: Literal["image_mask"]
    images: PathList
    masks: PathList
    val_images: PathList | None = None
    val_masks: PathList | None = None
    bands: list[BandName] | None = None
    unknown_colors: Literal["error", "ignore"] = "error"
    ignore_colors: Annotated[list[str], BeforeValidator(_mask_colours)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _paired(self) -> Self:
        if len(self.images) != len(self.masks):
            raise ValueError(
                f"{len(self.images)} image folders but {len(self.masks)} mask folders; "
                "give one mask folder per image folder"
            )
        if (self.val_images is None) != (self.val_masks is None):
            raise ValueError("give both val_images and val_masks, or neither")
        if self.val_images is not None and len(self.val_images) != len(self.val_masks or []):
            raise ValueError("give one val_masks folder per val_images folder")
        if self.splits is not None and self.val_images is not None:
            raise ValueError("give splits or val_images, not both")
        return self


class ChangeTripletData(ChipData):
    """Change chips in the LEVIR-CD layout ``A/``, ``B/``, ``label/``.

    Both dates and the mask are resized, cropped and padded together
    (``chips``); split files name the first-date images (``A/``).

    Attributes:
        root: The dataset folder.
        val_root: A separate validation folder in the same layout.
        binary: Masks are change/no-change (any non-zero value is change).
        bands: The images' band names in file order (default RGB for 3 bands).
    """

    kind: Literal["change_triplet"]
    root: ExistingPath
    val_root: ExistingPath | None = None
    binary: bool = True
    bands: list[BandName] | None = None

    @model_validator(mode="after")
    def _no_patches(self) -> Self:
        settings = [self.chips.train, self.chips.eval]
        if any(o is not None and o.patch_size is not None for o in settings):
            raise ValueError("chips patch_size is for image_mask data; use a crop or pad")
        if self.splits is not None and self.val_root is not None:
            raise ValueError("give splits or val_root, not both")
        return self


class ChipInputGroup(Section):
    """One input group of ``group_chips`` data: the split's sub-folder holding it, its bands.

    Attributes:
        folder: Sub-folder of each split folder (e.g. ``pre``).
        bands: Names of its images' bands, file order (e.g. ``[RGB.red, RGB.green, RGB.blue]``).
    """

    folder: str = Field(min_length=1)
    bands: list[BandName] = Field(min_length=1)


class GroupChipsData(DataCommon):
    """Places stored as same-named images, one folder per input group, with a class mask.

    For datasets whose dates come from different sensors on one pixel grid, e.g.
    BRIGHT: ``pre/`` optical RGB before the event, ``post/`` one SAR band after
    it, ``target/`` building damage (:mod:`eoforge.data.group_chips`). Trained
    with a multi-input network (``fusion_unet``: one encoder per group).

    Attributes:
        root: The training split folder.
        val_root: The validation split folder; None holds out ``val_fraction``
            of the training places.
        inputs: Input groups by name, in model order: sub-folder and bands.
        label: Sub-folder of the class masks (class ids ``0..K-1`` in list
            order of ``classes``; other values never count).
        gsd: Pixel size recorded for every group in the bundle (images are
            read at their own pixels, never resampled).
        patch_size: Side of the random training crop (pixels); validation
            reads whole images (all of one size per batch).
    """

    kind: Literal["group_chips"]
    root: ExistingPath
    val_root: ExistingPath | None = None
    inputs: dict[str, ChipInputGroup] = Field(min_length=1)
    label: str = "target"
    gsd: float = Field(default=1.0, gt=0)
    patch_size: int = Field(default=256, ge=16)

    @model_validator(mode="after")
    def _groups_and_classes(self) -> Self:
        if not self.classes:
            raise ValueError("group_chips data needs classes: one name per mask value 0, 1, ...")
        for name in self.inputs:
            if not GROUP_NAME.match(name):
                raise ValueError(
                    f"data.inputs: group name {name!r} must start with a letter and hold only "
                    "letters, digits and '_' (it names model parts)"
                )
        folders = [g.folder for g in self.inputs.values()]
        if len(set(folders)) != len(folders) or self.label in folders:
            raise ValueError(
                f"data.inputs folders {folders} and label {self.label!r} must all differ"
            )
        return self


class BigEarthNetData(DataCommon):
    """BigEarthNet patches: Sentinel-2 bands by name, Sentinel-1 as extra input.

    Attributes:
        root_s2: Folder of the Sentinel-2 patch folders (the training split, or
            all patches when ``splits`` lists them).
        root_s1: Folder of the Sentinel-1 patch folders (partners found by the
            patches' metadata), or None for S2 only.
        val_root_s2: A separate validation folder of S2 patches (e.g. a split
            written by ``eoforge datasets prepare``); None holds out
            ``val_fraction`` of ``root_s2`` unless ``splits.val`` is given.
        splits: Official split files naming patch folders under ``root_s2``
            (one per line; the first field of each CSV line).
        bands: Sentinel-2 bands to read, by name.
        s1_bands: Sentinel-1 bands stacked after them.
        num_classes: 19 (recommended nomenclature) or 43 (original CORINE).
        inputs: Input groups read instead of one stack, each on its own grid over
            the patch: ``{name: {bands, gsd}}`` with gsd 10, 20 or 60 for
            Sentinel-2 bands (their native grids) and 10 for Sentinel-1 (needs
            ``root_s1``); ``bands`` and ``s1_bands`` are then unused. A group's
            ``scenes``, ``dates`` and the like do not apply to patches.
    """

    kind: Literal["bigearthnet"]
    root_s2: ExistingPath
    root_s1: ExistingPath | None = None
    val_root_s2: ExistingPath | None = None
    splits: Splits | None = None
    bands: list[BandName] = Field(
        default_factory=lambda: ["S2.B02", "S2.B03", "S2.B04", "S2.B08"], min_length=1
    )
    s1_bands: list[BandName] = Field(default_factory=lambda: ["S1.VV", "S1.VH"])
    num_classes: Literal[19, 43] = 19
    inputs: dict[str, InputGroup] | None = None

    @model_validator(mode="after")
    def _one_validation(self) -> Self:
        if self.splits is not None and self.val_root_s2 is not None:
            raise ValueError("give splits or val_root_s2, not both")
        for name, group in (self.inputs or {}).items():
            extra = [k for k in ("scenes", "dates", "clouds", "composite", "start", "end")
                     if getattr(group, k) is not None]  # fmt: skip
            if extra:
                raise ValueError(
                    f"inputs.{name}: {', '.join(extra)} do not apply to BigEarthNet patches "
                    "(one date, read from the patch folders); give bands and gsd only"
                )
        return self


class PairedImages(Section):
    """The second image of each pair, e.g. M4-SAR's SAR image beside its optical one.

    Attributes:
        folder: Sibling folder of ``images/`` in each split holding, under the same
            file names, a co-registered image of the same size (``images_sar``).
        bands: Names of the channels read from it, in order; they follow the
            image's bands in the model's input.
        read: The partner file's bands to read, 1-based (default: all); ``[1]``
            takes one channel of a grey image stored as three equal bands.
    """

    folder: str = Field(min_length=1)
    bands: list[BandName] = Field(min_length=1)
    read: list[Annotated[int, Field(ge=1)]] | None = None


class ObjectsData(DataCommon):
    """Detection chips from a prepared split: ``images/`` + ``objects.csv``.

    ``eoforge datasets prepare`` writes detection datasets (DOTA, DIOR,
    NWPU VHR-10...) this way (see :mod:`eoforge.datasets.layouts.objects`); the
    task's kind says whether boxes are horizontal or oriented.

    Attributes:
        root: The training split folder.
        val_root: The validation split folder; None holds out ``val_fraction``
            of the training chips.
        bands: The images' band names in file order (default RGB for 3 bands).
        patch_size: Cut images into square chips of this side, pixels (None:
            whole images, batched by padding to a multiple of 32).
        stride: Step between chips, pixels (default ``patch_size``).
        min_visible: Least share of an object's area a chip must show to keep
            the object (horizontal boxes are clipped to the chip).
        keep_empty: Keep chips without objects (they teach the background).
        balanced: Draw training chips so that rare classes come as often as
            common ones (weighted sampling with replacement).
        on_bad_file: ``error`` stops at a bad row (a box outside its image, a
            degenerate or self-intersecting box, an unknown class, a missing
            image) naming the file; ``skip`` leaves the image out and counts it.
        pair: Read a partner image per image (optical + SAR pairs) and add its
            bands after the image's (train with ``two_stream_fcos`` or
            ``two_stream_oriented_fcos``).
    """

    kind: Literal["objects"]
    root: ExistingPath
    val_root: ExistingPath | None = None
    bands: list[BandName] | None = None
    patch_size: int | None = Field(default=None, ge=16)
    stride: int | None = Field(default=None, ge=1)
    min_visible: float = Field(default=0.5, gt=0, le=1)
    keep_empty: bool = True
    balanced: bool = False
    on_bad_file: Literal["error", "skip"] = "error"
    pair: PairedImages | None = None

    @model_validator(mode="after")
    def _named_classes(self) -> Self:
        if not self.classes:
            raise ValueError("list the classes (data.classes: [{name: ...}, ...]) in file order")
        if self.stride is not None and self.patch_size is None:
            raise ValueError("stride needs patch_size")
        if self.pair is not None and self.pair.read and len(self.pair.read) != len(self.pair.bands):
            raise ValueError(
                f"data.pair reads {len(self.pair.read)} band(s) but names "
                f"{len(self.pair.bands)}: name each band read"
            )
        return self


class CaptionSource(Section):
    """A caption table and the images its windows are read from.

    Attributes:
        table: Caption GeoParquet (one row per window and caption: footprint
            ``geometry`` in the scene's CRS, ``window_id``, ``caption``; written
            by :mod:`eoforge.captions`).
        images: The scenes the captions describe (STAC JSON, a scene folder,
            files); each window is read from them by band name (a mosaic where
            several cover it).
        modality: CLOSP training (``data.modalities``): which modality's tower these
            windows train (e.g. ``optical`` or ``sar``); None otherwise.
    """

    table: ExistingPath
    images: PathList = Field(min_length=1)
    modality: str | None = None


class CaptionData(DataCommon):
    """Image-caption pairs for image-text training (``task.kind: image_text``).

    Attributes:
        bands: Bands to read for each window, by name (optical, SAR, any).
        train: Caption tables and their images to train on.
        val: Tables to validate on; None holds out ``val_fraction`` of the
            training windows (all captions of a window go to one side).
        patch_size: Pixels per window side the windows are read at (default:
            the table's ``window_px``).
        modalities: CLOSP training instead of one tower: the bands of each
            modality's tower (``{optical: [S2.B04, ...], sar: [S1.VV, S1.VH]}``),
            every table naming its ``modality``; ``bands`` is then left out. The
            modalities meet only through the shared text side: their windows are
            never paired with each other.
    """

    kind: Literal["captions"]
    bands: list[BandName] = Field(default_factory=list)
    train: list[CaptionSource] = Field(min_length=1)
    val: list[CaptionSource] | None = None
    patch_size: int | None = Field(default=None, ge=8)
    modalities: dict[str, list[BandName]] | None = None

    @model_validator(mode="after")
    def _bands_or_modalities(self) -> Self:
        sources = [*self.train, *(self.val or [])]
        if self.modalities is None:
            if any(s.modality is not None for s in sources):
                raise ValueError(
                    "a table names a modality but data.modalities is not set: give "
                    "data.modalities ({optical: [...], sar: [...]}) for CLOSP training"
                )
            if not self.bands:
                raise ValueError("list the bands to read (data.bands: [S2.B04, ...])")
            return self
        if self.bands:
            raise ValueError("give data.bands or data.modalities (the bands of each), not both")
        if not self.modalities or any(not b for b in self.modalities.values()):
            raise ValueError("data.modalities needs at least one modality, each with bands")
        for key, group in (("train", self.train), ("val", self.val or [])):
            for i, source in enumerate(group):
                if source.modality not in self.modalities:
                    raise ValueError(
                        f"data.{key}[{i}].modality is {source.modality!r}: name one of "
                        f"{sorted(self.modalities)}"
                    )
        missing = sorted(set(self.modalities) - {s.modality for s in self.train})
        if missing:
            raise ValueError(f"no data.train table of modality {missing}: every tower needs one")
        return self


class EmbeddingsData(DataCommon):
    """Embedding tables for contrastive location training (``task.kind: location``).

    Attributes:
        embeddings: Tables written by ``eoforge embed`` (``<scene>_embeddings.parquet``),
            all of one image model; each window's centre is paired with its vector.
        val: Validation tables; None holds out ``val_fraction`` of the windows, drawn
            from ``trainer.seed`` (their places lie among the training places).
        min_valid: Least share of valid pixels a window needs to be used.
    """

    kind: Literal["embeddings"]
    embeddings: PathList = Field(min_length=1)
    val: PathList | None = None
    min_valid: float = Field(default=0.5, ge=0, le=1)


def _revisits(value: Any) -> Any:
    """A glob pattern (``lr/*.tif``) as the sorted list of the files it matches."""
    if isinstance(value, str) and any(c in value for c in "*?["):
        found = sorted(glob.glob(value))
        if not found:
            raise ValueError(f"{value!r} matches no file")
        return found
    return value


def _lr_list(data: Any) -> Any:
    """``lr: [PATH, ...]`` (or a glob) as ``lr`` = the first file and ``revisits`` = all."""
    if isinstance(data, dict) and "lr" in data:
        lr = _revisits(data["lr"])
        if isinstance(lr, list | tuple):
            if not lr:
                raise ValueError("lr: an empty list of revisits")
            data = {**data, "lr": lr[0], "revisits": list(lr)}
    return data


class SRPairPaths(Section):
    """One super-resolution pair: the low-resolution input and its high-resolution target.

    Attributes:
        lr: Input GeoTIFF, bands named by their descriptions; for multi-frame
            models (``data.frames``) a list of revisits on one grid, or a glob
            pattern matching them (sorted by name): ``lr`` then holds the first
            and ``revisits`` all of them.
        hr: Target GeoTIFF on the same CRS and origin, pixel size the input's
            divided by the scale.
        reference: A high-resolution image of the same place at another date, on
            the target's grid (reference-guided models such as ``sr_reference``).
    """

    lr: ExistingPath
    hr: ExistingPath
    reference: ExistingPath | None = None
    revisits: list[ExistingPath] | None = None
    """Every low-resolution revisit (set from ``lr``'s list or glob form)."""
    masks: Annotated[list[ExistingPath] | None, BeforeValidator(_revisits)] = None
    """Clear masks of the revisits (1 = clear), one per ``lr`` file on its grid
    (None: every valid pixel is clear)."""

    _revisit_list = model_validator(mode="before")(_lr_list)


class SRPairData(DataCommon):
    """Input/target pairs for super-resolution (``task.kind: super_resolution``).

    Attributes:
        bands: Bands to read from both files, by name, in channel order.
        train: Pairs to draw training crops from.
        val: Pairs scored in non-overlapping ``val_patch_size`` tiles.
        patch_size: Input pixels per training crop side (the target's is
            ``scale`` times more).
        val_patch_size: Input pixels per validation tile side.
        samples_per_epoch: Random training crops per epoch.
    """

    kind: Literal["sr_pairs"]
    bands: list[BandName] = Field(min_length=1)
    train: list[SRPairPaths] = Field(min_length=1)
    val: list[SRPairPaths] = Field(min_length=1)
    patch_size: int = Field(default=32, ge=8)
    val_patch_size: int = Field(default=64, ge=8)
    samples_per_epoch: int = Field(default=512, ge=1)
    frames: int | None = Field(default=None, ge=1)
    """Revisits per multi-frame sample ``T`` (None: single-frame pairs)."""
    resample_target: bool = False
    """Resample a target whose pixel is not the input's divided by a whole factor (e.g.
    WorldStrat's 1.5 m over 10 m) onto the input's grid / round(ratio): cubic when refining,
    area average when coarsening (:mod:`eoforge.data.sr_grids`). False: such pairs are refused."""


DataConfig = Annotated[
    GeoData
    | ClassFolderData
    | ImageMaskData
    | ChangeTripletData
    | GroupChipsData
    | BigEarthNetData
    | ObjectsData
    | CaptionData
    | EmbeddingsData
    | SRPairData,
    Field(discriminator="kind"),
]


class LocationInputConfig(Section):
    """``model.location``: the window centre's location as an extra input of the network.

    A key of ``model`` (not of ``task`` or ``data``) because it changes the network
    and what the bundle carries, like ``pretrained``: the spec records it, the
    builder fuses it in (:mod:`eoforge.models.location_fusion`) for every task
    that takes it, and ``eoforge predict`` feeds each window's centre.

    Attributes:
        bundle: A location bundle (``task.kind: location``); its encoder is
            copied into the network, frozen, and saved with it.
        fuse: ``concat``: the projected embedding is concatenated to the pooled
            features (scene tasks) or to every pixel of the decoder's last
            feature map (dense tasks) before the head; ``film``: it also scales
            and shifts those features first (``f * (1 + gamma) + beta``).
        dim: Length of the trainable projection of the location embedding.
        hidden: Width of the head's hidden layer after the concatenation (0: a
            linear head, where location can only shift the scores).
    """

    bundle: ExistingPath
    fuse: Literal["concat", "film"] = "concat"
    dim: int = Field(default=16, ge=1)
    hidden: int = Field(default=64, ge=0)

    def spec(self) -> LocationInput:
        """The model spec's location input, with the encoder sizes of the bundle."""
        encoder = read_location_json(self.bundle).encoder
        path = str(self.bundle)
        return LocationInput(
            encoder=encoder,
            dim=self.dim,
            hidden=self.hidden,
            fuse=self.fuse,
            bundle=path,
            source=path,
        )


class ModelConfig(Section):
    """The network (see ``eoforge models``)."""

    arch: Annotated[str, AfterValidator(_known_arch)]
    backbone: str = "resnet18"
    options: dict[str, Any] = Field(default_factory=dict)
    pretrained: ExistingPath | None = None
    pretrained_bands: list[BandName] | None = None
    importer: Annotated[str, AfterValidator(_known_importer)] | None = None
    """Published-checkpoint importer converting ``pretrained`` (a name, or ``auto``)."""
    location: LocationInputConfig | None = None
    """The window centre's location as an extra input (see :class:`LocationInputConfig`)."""

    def spec(
        self,
        task: Task,
        in_bands: Sequence[str],
        num_classes: int,
        options: dict[str, Any] | None = None,
    ) -> ModelSpec:
        """This network's spec for ``task`` on ``in_bands`` with ``num_classes`` outputs.

        Args:
            task: The spec's task.
            in_bands: Input bands, in channel order.
            num_classes: Outputs ``K`` of the head.
            options: Architecture options in place of ``self.options``.
        """
        extra: dict[str, Any] = {}
        if self.pretrained_bands is not None:
            extra["pretrained_bands"] = self.pretrained_bands
        if self.importer is not None:
            extra["importer"] = self.importer
        if self.location is not None:
            extra["location"] = self.location.spec()
        return ModelSpec(
            task=task,
            arch=self.arch,
            backbone=self.backbone,
            in_bands=list(in_bands),
            num_classes=num_classes,
            pretrained=None if self.pretrained is None else str(self.pretrained),
            options=dict(self.options) if options is None else options,
            **extra,
        )


class PretrainOptions(Section):
    """Options of self-supervised pretraining (``task.kind: pretrain``); each method reads its own.

    Attributes:
        temperature: Contrastive temperature (None: 0.1 for SimCLR, 0.2 for MoCo-v2).
        projection_dim: Output width of the projection MLP (contrastive methods).
        hidden_dim: Hidden width of the projection MLP.
        queue_size: MoCo: keys kept as negatives.
        momentum: MoCo: momentum-encoder coefficient.
        similarity: SoftCon: land-cover similarity of two windows, ``cosine`` or
            ``jaccard`` (weighted) of their class fractions.
        soft_loss: SoftCon: ``bce`` or ``mse`` between embedding and land-cover similarity.
        mask_ratio: MAE: share of patches masked.
        decoder_dim: MAE: decoder width.
        decoder_depth: MAE: decoder transformer blocks.
        scales: MAE: reconstruction scales, divisors of the ViT patch size (1: input
            resolution, 2: half).
        norm_pix: MAE: standardise each target patch.
        groups: MAE: spectral grouping (SatMAE): ``none`` (one token per patch of
            all bands), ``wavelength`` (visible / red edge / NIR / SWIR tokens,
            masked independently) or lists of band names.
        crop_scale: Views: range of a crop's share of the window's area.
        crop_ratio: Views: range of a crop's aspect ratio.
        d4: Views: random flips and quarter turns.
        gain: Views: std of the per-band gain jitter.
        offset: Views: std of the per-band offset jitter, band standard deviations.
    """

    temperature: float | None = Field(default=None, gt=0)
    projection_dim: int = Field(default=128, ge=1)
    hidden_dim: int = Field(default=512, ge=1)
    queue_size: int = Field(default=4096, ge=1)
    momentum: float = Field(default=0.99, ge=0, le=1)
    similarity: Literal["cosine", "jaccard"] = "cosine"
    soft_loss: Literal["bce", "mse"] = "bce"
    mask_ratio: float = Field(default=0.75, ge=0, lt=1)
    decoder_dim: int = Field(default=128, ge=4)
    decoder_depth: int = Field(default=2, ge=1)
    scales: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1, 2], min_length=1)
    norm_pix: bool = True
    groups: Literal["none", "wavelength"] | list[list[BandName]] = "none"
    crop_scale: tuple[float, float] = (0.3, 1.0)
    crop_ratio: tuple[float, float] = (0.75, 4 / 3)
    d4: bool = True
    gain: float = Field(default=0.1, ge=0)
    offset: float = Field(default=0.1, ge=0)

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise ValueError("crop_scale must be [low, high] with 0 < low <= high <= 1")
        if not 0 < self.crop_ratio[0] <= self.crop_ratio[1]:
            raise ValueError("crop_ratio must be [low, high] with 0 < low <= high")
        return self


class ImageTextOptions(Section):
    """Options of image-text training (``task.kind: image_text``).

    Attributes:
        dim: Width of the joint space.
        temperature: Initial softmax temperature (CLIP: 0.07).
        learn_temperature: Learn the temperature (clamped at 1/100) or keep it.
        train_text: Fine-tune the sentence model too; False freezes it (its
            sentence vectors are cached) and trains only its projection.
        positives: Pairs of a batch that are not negatives of each other:
            ``window`` (captions of the same window) or ``caption`` (also
            windows with the very same caption text).
    """

    dim: int = Field(default=256, ge=2)
    temperature: float = Field(default=0.07, gt=0)
    learn_temperature: bool = True
    train_text: bool = False
    positives: Literal["window", "caption"] = "caption"


class LocationOptions(Section):
    """Options of contrastive location training (``task.kind: location``).

    The encoder's sizes are ``model.options`` of ``model.arch: location_siren``
    (``degree``, ``hidden``, ``layers``, ``dim``, ``w0``, ``w0_initial``).

    Attributes:
        temperature: Initial InfoNCE temperature.
        learn_temperature: Learn the temperature (CLIP's logit scale).
        hit_km: A validation place counts as retrieved (``val/top1``) when its most
            similar image lies within this many kilometres.
    """

    temperature: float = Field(default=0.07, gt=0)
    learn_temperature: bool = True
    hit_km: float = Field(default=50.0, gt=0)


class SuperResolutionOptions(Section):
    """Options of super-resolution training (``task.kind: super_resolution``).

    Attributes:
        ssim_weight: Weight of the ``1 - SSIM`` loss term (0: L1 only).
        edge_weight: Weight of the L1 loss on image gradients.
        data_range: Value span of PSNR's peak and SSIM's constants (1.0 for reflectance).
        cpsnr_border: Largest shift and cropped border of cPSNR, target pixels.
    """

    ssim_weight: float = Field(default=0.0, ge=0)
    edge_weight: float = Field(default=0.0, ge=0)
    data_range: float = Field(default=1.0, gt=0)
    cpsnr_border: int = Field(default=3, ge=0)


class TaskConfig(Section):
    """What is learnt and how it is scored.

    Attributes:
        kind: The task.
        loss: Loss name (task-specific; detection tasks use the detector's own).
        class_weights: Per-class loss weights.
        ignore_index: Label value that never counts.
        augment: Random D4 flips and turns of training batches (boxes included).
        rotate: ``oriented_detection`` only: probability that a training chip is also
            turned by a uniform random angle, boxes with it (0 = never; boxes left less
            than ``data.min_visible`` visible are dropped).
        ap_style: Detection tasks: ``voc12`` (all-point AP at ``iou_threshold``),
            ``voc07`` (11-point) or ``coco`` (IoU 0.50:0.95, with AP50 and AP75).
        iou_threshold: Detection tasks: IoU a detection needs to match an object.
        boundary_width: ``field_boundaries`` only: width in pixels of the boundary
            ring on each side of a field's edge (fields sharing an edge are split by
            twice this).
        method: Pretraining only (``geo`` or ``bigearthnet`` data): ``simclr``,
            ``moco`` (v2), ``softcon`` (needs a land-cover label layer on geo data;
            BigEarthNet's patch labels serve as they are) or ``mae`` (needs
            ``spectral_vit``).
        ssl: Pretraining options (see :class:`PretrainOptions`).
        text: Image-text options (see :class:`ImageTextOptions`).
        location: Location training options (see :class:`LocationOptions`).
        sr: Super-resolution options (see :class:`SuperResolutionOptions`).
    """

    kind: TaskKind
    loss: str | None = None
    class_weights: list[float] | None = None
    ignore_index: int = 255
    augment: bool = True
    rotate: float = Field(default=0.0, ge=0, le=1)
    ap_style: Literal["voc07", "voc12", "coco"] = "voc12"
    iou_threshold: float = Field(default=0.5, gt=0, lt=1)
    boundary_width: int = Field(default=1, ge=1, le=16)
    method: Literal["simclr", "moco", "softcon", "mae"] | None = None
    ssl: PretrainOptions = Field(default_factory=lambda: PretrainOptions())
    text: ImageTextOptions = Field(default_factory=lambda: ImageTextOptions())
    location: LocationOptions = Field(default_factory=lambda: LocationOptions())
    sr: SuperResolutionOptions = Field(default_factory=lambda: SuperResolutionOptions())

    @model_validator(mode="after")
    def _method(self) -> Self:
        if self.kind == "pretrain" and self.method is None:
            raise ValueError("pretraining needs task.method: simclr, moco, softcon or mae")
        if self.kind != "pretrain" and self.method is not None:
            raise ValueError(f"task.method is for task.kind pretrain, not {self.kind!r}")
        if self.rotate and self.kind != "oriented_detection":
            raise ValueError(
                f"task.rotate turns boxes by any angle: it is for oriented_detection, not "
                f"{self.kind!r} (remove it)"
            )
        return self


class OptimConfig(Section):
    """Optimiser and learning-rate schedule."""

    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    scheduler: Literal["cosine"] | None = "cosine"


_DURATION = re.compile(r"\A\d+:\d{1,2}:\d{1,2}:\d{1,2}\Z")


def _duration(value: Any) -> Any:
    """Minutes (a number) or ``DD:HH:MM:SS`` as ``DD:HH:MM:SS``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("give minutes or DD:HH:MM:SS")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("the time budget must be positive")
        total = max(1, round(float(value) * 60))
        days, rest = divmod(total, 86400)
        return f"{days:02d}:{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    text = str(value).strip()
    if not _DURATION.match(text):
        raise ValueError(f"{text!r} is not DD:HH:MM:SS or a number of minutes")
    return text


class TrainerConfig(Section):
    """Lightning trainer settings and where the run writes.

    Attributes:
        max_epochs: Training epochs.
        devices: Devices per node (int or ``"auto"``).
        accelerator: ``auto`` (a GPU when one is visible, else the CPU),
            ``cpu``, ``gpu``, ``mps``...
        strategy: ``auto``, ``ddp``...
        precision: Lightning precision (``32-true``, ``bf16-mixed``...).
        seed: Seed of weights, sampling and augmentation.
        early_stopping_patience: Epochs without improvement of ``monitor``
            before stopping; None disables early stopping.
        monitor: Validation metric to watch (default per task).
        checkpoint_every_n_steps: Also checkpoint every N training steps
            (for mid-epoch resume); 0 checkpoints at epoch ends only.
        output_dir: Run folder (checkpoints, logs, bundle).
        threads: Torch CPU threads (None: torch's default).
        max_time: Wall-clock budget of training: ``"DD:HH:MM:SS"`` (e.g.
            ``"00:00:10:00"``) or minutes (e.g. ``10`` or ``2.5``); training
            stops after the step that passes it, validates, and exports as
            usual. None: no budget. The cosine schedule still spans
            ``max_epochs``, so set both.
        val_every_n_epochs: Validate after every N-th epoch only (``max_epochs`` must
            be a multiple, so the last epoch is validated and the bundle gets its
            metrics); early stopping's patience then counts validations. Validation
            costs as much CPU as a fifth of a training epoch on the detection recipes:
            a budget-bound recipe spends it on training instead.
    """

    max_epochs: int = Field(default=10, ge=1)
    devices: int | str = 1
    accelerator: str = "auto"
    strategy: str = "auto"
    precision: str = "32-true"
    seed: int = 0
    early_stopping_patience: int | None = Field(default=None, ge=1)
    monitor: str | None = None
    checkpoint_every_n_steps: int = Field(default=50, ge=0)
    output_dir: Path = Path("runs/experiment")
    threads: int | None = Field(default=None, ge=1)
    max_time: Annotated[str | None, BeforeValidator(_duration)] = None
    val_every_n_epochs: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _validated_last(self) -> Self:
        if self.max_epochs % self.val_every_n_epochs:
            raise ValueError(
                f"trainer.max_epochs ({self.max_epochs}) is not a multiple of "
                f"trainer.val_every_n_epochs ({self.val_every_n_epochs}): the last epoch would "
                "not be validated (set max_epochs to a multiple, or val_every_n_epochs to a "
                "divisor of it)"
            )
        return self

    def time_budget(self) -> timedelta | None:
        """``max_time`` as a duration (None: no budget)."""
        if self.max_time is None:
            return None
        days, hours, minutes, seconds = (int(p) for p in self.max_time.split(":"))
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class ExperimentConfig(Section):
    """A whole experiment: ``eoforge train`` reads one from YAML."""

    data: DataConfig
    model: ModelConfig
    task: TaskConfig
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig())
    trainer: TrainerConfig = Field(default_factory=lambda: TrainerConfig())

    @model_validator(mode="after")
    def _located_windows(self) -> Self:
        if self.model.location is not None and self.data.kind != "geo":
            raise ValueError(
                f"model.location needs windows with a place, but data.kind "
                f"{self.data.kind!r} gives chips without a grid (CRS and transform); use "
                "georeferenced scenes (data.kind: geo) or remove model.location"
            )
        return self
