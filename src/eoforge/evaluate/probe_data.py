"""Labelled windows for probing a frozen encoder: read, labelled, resized and normalised.

A probe scores an embedding bundle on labelled data given as an experiment
config (the ``DATA`` argument of ``eoforge evaluate``) or a class-folder root
(whose chips are taken to hold the bundle's bands in its order; a config's
``data.bands`` names them, and the bundle's are then picked by name).
Its training and validation splits are the config's (split files, a separate
validation folder, a seeded hold-out, or for geo data the training windows
and the held-out tiles). Each item carries what the data kind labels:

* ``class_folder``: one class (``single``);
* ``bigearthnet``: a multi-hot vector (``multi``);
* ``geo`` with a label layer: the window's class fractions give its dominant
  class (``single``) and the classes covering at least ``presence`` of its
  labelled pixels (``multi``); windows without a labelled pixel are skipped.

Inputs are prepared as the bundle saw them in training unless overridden
(:class:`ProbeInput`): the bundle's bands picked by name, resized to the
bundle's patch size (bilinear, antialiased when shrinking; square output),
then standardised with the bundle's per-band mean and std. The alternatives,
``none`` (raw physical values) and ``dataset`` (statistics of the probe's
training split), exist to show how much the choice matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from eoforge.errors import ConfigError, MissingFileError
from eoforge.experiment.data import ExperimentData, build_data
from eoforge.experiment.loading import read_yaml, validate_config
from eoforge.models import list_models
from eoforge.models.bundle import Bundle
from eoforge.models.spec import canonical_band_names
from eoforge.transforms.stats import compute_band_stats

NormName = Literal["bundle", "none", "dataset"]
NORMS: tuple[NormName, ...] = ("bundle", "none", "dataset")
RESAMPLING = "bilinear (antialiased when shrinking), to a square of side size"
DATASET_STATS_SAMPLES = 256
"""Training items whose valid pixels give the ``dataset`` normalisation."""

_DEFAULT_TASK = {
    "class_folder": "classification",
    "bigearthnet": "multilabel",
    "geo": "segmentation",
}


@dataclass(frozen=True)
class ProbeInput:
    """How probe inputs are prepared; written into the result.

    Attributes:
        size: Side of the square the windows are resized to, pixels.
        normalization: ``bundle``, ``none`` or ``dataset``.
        mean: Per-band mean subtracted (physical units), None for ``none``.
        std: Per-band std divided by, None for ``none``.
        bands: Band names fed to the encoder, channel order.
        resampling: The resampling used to reach ``size``.
    """

    size: int
    normalization: NormName
    mean: list[float] | None
    std: list[float] | None
    bands: list[str]
    resampling: str = RESAMPLING

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "size": self.size,
            "resampling": self.resampling,
            "normalization": self.normalization,
            "mean": self.mean,
            "std": self.std,
            "bands": self.bands,
        }

    def resize(self, images: Tensor) -> Tensor:
        """Resize a batch ``[B, C, H, W]`` to ``[B, C, size, size]`` (float32)."""
        x = images.float()
        if tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(
                x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True
            )
        return x

    def normalize(self, images: Tensor) -> Tensor:
        """Standardise a batch ``[B, C, H, W]`` with :attr:`mean` and :attr:`std` (if any)."""
        if self.mean is None or self.std is None:
            return images
        mean = torch.tensor(self.mean, dtype=images.dtype, device=images.device)[:, None, None]
        std = torch.tensor(self.std, dtype=images.dtype, device=images.device)[:, None, None]
        return (images - mean) / std.clamp_min(1e-6)

    def prepare(self, images: Tensor) -> Tensor:
        """Resize then normalise a batch ``[B, C, H, W]`` (physical units) for the encoder."""
        return self.normalize(self.resize(images))


@dataclass
class LabelledItem:
    """One window: pixels of the bundle's bands and its labels.

    Attributes:
        image: float32 ``[C, H, W]``, physical units.
        single: Class id, or None when the data gives no single label.
        multi: float32 multi-hot ``[K]``, or None.
    """

    image: Tensor
    single: int | None
    multi: npt.NDArray[np.float32] | None


@dataclass
class ProbeSplits:
    """The probe's data: datasets and the windows of each split, with its class names.

    Attributes:
        data: The experiment data built from the config.
        train_keys: Keys of the training items (indices or windows).
        val_keys: Keys of the validation items.
        channels: Positions of the bundle's bands among the data's channels.
        class_names: Names of the classes, by id.
        presence: Least class fraction of a geo window for a multi-label positive.
        described: The data, for the report.
    """

    data: ExperimentData
    train_keys: list[Any]
    val_keys: list[Any]
    channels: list[int]
    class_names: list[str]
    presence: float
    described: str
    kind: str = field(default="")

    def items(self, split: Literal["train", "val"]) -> Iterator[LabelledItem]:
        """The labelled items of ``split`` in a fixed order (unlabelled geo windows skipped)."""
        dataset: Dataset[Any] = self.data.train if split == "train" else self.data.val
        keys = self.train_keys if split == "train" else self.val_keys
        for key in keys:
            item = self._labelled(dataset[key])
            if item is not None:
                yield item

    def _labelled(self, sample: dict[str, Any]) -> LabelledItem | None:
        image = torch.as_tensor(sample["image"])[self.channels].float()
        count = len(self.class_names)
        if "label" in sample:
            label = torch.as_tensor(sample["label"])
            if label.ndim == 0:
                return LabelledItem(image, int(label), None)
            return LabelledItem(image, None, label.float().numpy().astype(np.float32))
        if "fractions" in sample:
            fractions = torch.as_tensor(sample["fractions"]).float()
        elif "mask" in sample:
            mask = torch.as_tensor(sample["mask"]).long()
            counted = mask[(mask >= 0) & (mask < count)]
            counts = torch.bincount(counted, minlength=count).float()
            fractions = counts / counts.sum() if counts.sum() > 0 else counts
        else:
            raise ConfigError(
                "the data's samples carry no label, mask or class fractions.",
                fix="describe the data with its labels (data.train.label for geo data).",
            )
        if float(fractions.sum()) <= 0:
            return None
        multi = (fractions >= self.presence).numpy().astype(np.float32)
        return LabelledItem(image, int(fractions.argmax()), multi)


def probe_splits(data: str | Path, bundle: Bundle, presence: float = 0.1) -> ProbeSplits:
    """The labelled splits of ``data`` for probing ``bundle``.

    Args:
        data: An experiment config (YAML; only its ``data`` section matters,
            ``model`` and ``task`` may be left out) or a class-folder root
            (its chips hold the bundle's bands, in the bundle's order).
        bundle: The embedding bundle (its bands are picked from the data by name).
        presence: Geo windows: least fraction of a class for a multi-label positive.

    Raises:
        MissingFileError: ``data`` does not exist.
        ConfigError: A bad config, a data kind a probe cannot label, or bands missing.
    """
    source = Path(data)
    if source.is_dir():
        raw: dict[str, Any] = {"data": {"kind": "class_folder", "root": str(source)}}
        raw["data"]["bands"] = list(bundle.bands)
    elif source.is_file():
        raw = read_yaml(source)
    else:
        raise MissingFileError(
            "probe data not found.",
            path=source,
            fix="pass an experiment config file or a class-folder root.",
        )
    section = raw.get("data")
    kind = section.get("kind") if isinstance(section, dict) else None
    if kind not in _DEFAULT_TASK:
        raise ConfigError(
            f"a probe cannot label data of kind {kind!r}.",
            path=source,
            fix="use class_folder, bigearthnet, or geo data with a label layer.",
        )
    task = raw.setdefault("task", {"kind": _DEFAULT_TASK[str(kind)]})
    if kind == "geo" and task.get("kind") not in ("segmentation", "pretrain"):
        task["kind"] = "segmentation"  # windows must carry their label mask
    raw.setdefault(
        "model", {"arch": _stand_in_arch(bundle.model.arch, str(task.get("kind"))), "options": {}}
    )
    config = validate_config(raw, source)
    built = build_data(config, config.trainer.output_dir)
    if not built.classes.names:
        raise ConfigError(
            "the data has no classes, so there is nothing to probe.",
            path=source,
            fix="give the geo data a label layer and its classes or legend.",
        )
    return ProbeSplits(
        data=built,
        train_keys=list(built.train_sampler()) if kind == "geo" else _indices(built.train),
        val_keys=list(built.val_sampler()) if kind == "geo" else _indices(built.val),
        channels=_channels(built.bands, bundle.bands, source),
        class_names=built.classes.names,
        presence=presence,
        described=str(source),
        kind=str(kind),
    )


def _stand_in_arch(arch: str, task: str) -> str:
    """The ``model.arch`` a data config without a model section is validated with.

    Validation asks for an architecture serving the config's task, but a probe
    runs the bundle's network and never builds the config's model. Imported
    encoders (``timm_encoder``, ``dofa_vit``, ``group_channel_vit``) serve only
    ``embedding``; ``spectral_vit`` serves every task a probe's data can ask for.
    """
    serves = {info.name: info.tasks for info in list_models()}
    wanted = "embedding" if task == "pretrain" else task
    return arch if wanted in serves.get(arch, ()) else "spectral_vit"


def _indices(dataset: Dataset[Any]) -> list[int]:
    return list(range(len(dataset)))  # type: ignore[arg-type]


def _channels(data_bands: list[str], bundle_bands: list[str], source: Path) -> list[int]:
    """Positions of the bundle's bands among the data's (matched by canonical name)."""
    have = canonical_band_names(list(data_bands))
    need = canonical_band_names(list(bundle_bands))
    missing = [b for b in need if b not in have]
    if missing:
        raise ConfigError(
            f"the data lacks the bundle's bands {missing} (it has {have}).",
            path=source,
            fix="list the bundle's bands in data.bands.",
        )
    return [have.index(b) for b in need]


def probe_input(
    splits: ProbeSplits, bundle: Bundle, size: int | None = None, norm: NormName = "bundle"
) -> ProbeInput:
    """How to prepare the windows: the bundle's size and statistics unless overridden.

    Args:
        splits: The probe data (its training split gives ``dataset`` statistics).
        bundle: The embedding bundle.
        size: Side to resize to (default: the bundle's patch size).
        norm: ``bundle``, ``none`` or ``dataset``.

    Raises:
        ConfigError: An unknown ``norm`` or a size below 1.
    """
    if norm not in NORMS:
        raise ConfigError(
            f"unknown probe normalisation {norm!r}.", fix="use bundle, none or dataset."
        )
    side = bundle.patch_size if size is None else int(size)
    if side < 1:
        raise ConfigError(
            f"probe size {side} is below 1 pixel.", fix="pass a positive --probe-size."
        )
    mean: list[float] | None = None
    std: list[float] | None = None
    if norm == "bundle":
        mean, std = list(bundle.normalization.mean), list(bundle.normalization.std)
    elif norm == "dataset":
        items = ({"image": item.image} for item in splits.items("train"))
        stats = compute_band_stats(items, list(bundle.bands), max_samples=DATASET_STATS_SAMPLES)
        mean, std = [float(v) for v in stats.mean], [float(v) for v in stats.std]
    return ProbeInput(side, norm, mean, std, list(bundle.bands))
