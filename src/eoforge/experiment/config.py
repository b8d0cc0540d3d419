"""The experiment config: data, model, task, optimisation and trainer, validated by pydantic.

Every section forbids unknown keys, band names are checked against the sensor
registry and architectures against the model registry, and paths must exist
(relative paths are relative to the working directory). :mod:`.loading` reads
the YAML file and turns validation errors into one-line
:class:`~eoforge.errors.ConfigError` messages naming the dotted key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from eoforge.classes import hex_color
from eoforge.errors import ConfigError, EoforgeError
from eoforge.models import list_models
from eoforge.sensors import get_band

TaskKind = Literal[
    "classification", "multilabel", "segmentation", "change", "regression", "pixel_regression"
]
DATA_KINDS = ("geo", "class_folder", "image_mask", "change_triplet", "bigearthnet")


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
    names = [info.name for info in list_models()]
    if name not in names:
        raise ValueError(f"unknown architecture {name!r}; available: {', '.join(names)}")
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
    """A scene ``eoforge synth`` generates under the run's output folder when missing."""

    seed: int = 0
    size: int = Field(default=512, ge=64)
    sensors: str = "s2"
    dates: int = Field(default=1, ge=1)
    clouds: float = Field(default=0.0, ge=0, le=0.9)


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


class SceneSet(Section):
    """Images and labels of one split of geo data.

    Attributes:
        images: STAC collection/catalog JSON, saved catalog (``.parquet``),
            folders (a synthetic scene folder uses its ``stac/``) or files.
        synthetic: Generate a synthetic scene instead (``images`` empty).
        label: The class label layer (classification tasks).
        target: The regression target layer (``pixel_regression``).
    """

    images: PathList = Field(default_factory=list)
    synthetic: SyntheticScene | None = None
    label: LabelLayer | None = None
    target: TargetLayer | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if bool(self.images) == (self.synthetic is not None):
            raise ValueError("give either 'images' or 'synthetic', not both or neither")
        return self


def _colour(value: Any) -> Any:
    if value is None:
        return None
    try:
        return hex_color(value)
    except ConfigError as error:  # pydantic reports ValueErrors with the dotted key
        raise ValueError(error.reason.rstrip(".")) from None


Colour = Annotated[str | None, BeforeValidator(_colour)]


class ClassRule(Section):
    """Input-side rule: which label values become one output class, and how it looks.

    The rules of ``data.classes`` are read into :class:`eoforge.classes.ClassInfo`
    (the one class type) in list order: rule ``i`` is class id ``i``.

    Attributes:
        name: Class name.
        values: Label values (ints, or legend names) that become this class;
            default the class's legend value, or its position.
        color: Display colour, ``#rrggbb``, ``#rgb`` or ``[r, g, b]`` (0-255),
            stored as ``#rrggbb``; default from the legend or a palette.
        mask_color: Colour that marks this class in a colour-coded (RGB) mask.
            No data kind reads colour-coded masks yet, so giving it is an error
            when the data is built rather than a silently ignored key.
    """

    name: str = Field(min_length=1)
    values: list[int | str] | None = None
    color: Colour = None
    mask_color: Colour = None


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
    """Loader settings shared by every data kind."""

    batch_size: int = Field(default=8, ge=1)
    num_workers: int = Field(default=0, ge=0)
    val_fraction: float = Field(default=0.2, gt=0, lt=1)
    stats_samples: int = Field(default=64, ge=1)
    classes: list[ClassRule] | None = None


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
        legend: Take classes from a synthetic scene's legend.
    """

    kind: Literal["geo"]
    train: SceneSet
    val: SceneSet | None = None
    bands: list[BandName] = Field(min_length=1)
    patch_size: int = Field(default=128, ge=16)
    val_patch_size: int | None = Field(default=None, ge=16)
    samples_per_epoch: int = Field(default=256, ge=1)
    legend: Legend | None = None


class ClassFolderData(DataCommon):
    """Scene classification chips ``root/<class>/<image>`` (classes from folder names)."""

    kind: Literal["class_folder"]
    root: ExistingPath
    val_root: ExistingPath | None = None
    bands: list[BandName] | None = None


class ImageMaskData(DataCommon):
    """Segmentation chips: ``images/`` with same-named class-id ``masks/``."""

    kind: Literal["image_mask"]
    images: ExistingPath
    masks: ExistingPath
    val_images: ExistingPath | None = None
    val_masks: ExistingPath | None = None
    bands: list[BandName] | None = None


class ChangeTripletData(DataCommon):
    """Change chips in the LEVIR-CD layout ``A/``, ``B/``, ``label/``."""

    kind: Literal["change_triplet"]
    root: ExistingPath
    val_root: ExistingPath | None = None
    binary: bool = True
    bands: list[BandName] | None = None


class BigEarthNetData(DataCommon):
    """BigEarthNet patches: Sentinel-2 bands by name, Sentinel-1 as extra input."""

    kind: Literal["bigearthnet"]
    root_s2: ExistingPath
    root_s1: ExistingPath | None = None
    bands: list[BandName] = Field(
        default_factory=lambda: ["S2.B02", "S2.B03", "S2.B04", "S2.B08"], min_length=1
    )
    s1_bands: list[BandName] = Field(default_factory=lambda: ["S1.VV", "S1.VH"])
    num_classes: Literal[19, 43] = 19


DataConfig = Annotated[
    GeoData | ClassFolderData | ImageMaskData | ChangeTripletData | BigEarthNetData,
    Field(discriminator="kind"),
]


class ModelConfig(Section):
    """The network (see ``eoforge models``)."""

    arch: Annotated[str, AfterValidator(_known_arch)]
    backbone: str = "resnet18"
    options: dict[str, Any] = Field(default_factory=dict)
    pretrained: ExistingPath | None = None
    pretrained_bands: list[BandName] | None = None


class TaskConfig(Section):
    """What is learnt and how it is scored."""

    kind: TaskKind
    loss: str | None = None
    class_weights: list[float] | None = None
    ignore_index: int = 255
    augment: bool = True


class OptimConfig(Section):
    """Optimiser and learning-rate schedule."""

    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    scheduler: Literal["cosine"] | None = "cosine"


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


class ExperimentConfig(Section):
    """A whole experiment: ``eoforge train`` reads one from YAML."""

    data: DataConfig
    model: ModelConfig
    task: TaskConfig
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig())
    trainer: TrainerConfig = Field(default_factory=lambda: TrainerConfig())
