"""Import a published checkpoint: read it, convert it, build the eoforge model.

:func:`import_checkpoint` reads a local file (never downloads), recognises its
layout (or uses the importer named), converts its tensors and builds the
eoforge ``embedding`` model for the wanted bands (default: the checkpoint's):
a subset or reordering of the checkpoint's bands selects the stem's channels
exactly; other bands go through :func:`~eoforge.models.stems.adapt_stem`.
Every model tensor must come from the checkpoint except the importer's
documented optional ones; anything else is a :class:`ConfigError`.

:func:`save_imported_bundle` writes the result as an embedding bundle (for
``eoforge embed`` and probes) plus ``imported.json`` (importer, licence,
source file, dropped keys, notes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.builder import build_model
from eoforge.models.bundle import Bundle, Normalization, save_bundle
from eoforge.models.importers.base import Converted, stem_for_bands
from eoforge.models.importers.files import read_checkpoint
from eoforge.models.importers.registry import detect_importer, get_importer
from eoforge.models.spec import ModelSpec

IMPORT_JSON = "imported.json"


@dataclass
class ImportedModel:
    """An imported checkpoint as an eoforge model.

    Attributes:
        model: The ``embedding`` network (eval mode): ``[B, C, H, W] -> [B, D]``.
        spec: Its spec (``pretrained`` unset: the weights are in the model).
        checkpoint_bands: The checkpoint's bands in channel order (empty: any
            optical band, DOFA).
        normalization: Published statistics for ``spec.in_bands``, or None
            when not published (or not for every wanted band).
        input_size: Image side the checkpoint was trained on, pixels.
        importer: Name of the importer used.
        licence: Licence of the published weights, as found.
        stem: ``selected`` (exact columns), ``adapted`` (stem adaptation),
            ``as published`` or ``generated`` (DOFA).
        loaded: Number of model tensors taken from the checkpoint.
        left_initial: Model keys left at their initial values (documented).
        dropped: Checkpoint keys not used, with the reason.
        notes: What the conversion changed or assumed.
    """

    model: nn.Module
    spec: ModelSpec
    checkpoint_bands: list[str]
    normalization: Normalization | None
    input_size: int
    importer: str
    licence: str
    stem: str
    loaded: int
    left_initial: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs."""
        return (
            f"{self.importer}: {self.spec.arch} {self.spec.backbone} on "
            f"{len(self.spec.in_bands)} bands (stem {self.stem}); {self.loaded} tensors loaded, "
            f"{len(self.left_initial)} left initial, {len(self.dropped)} checkpoint keys dropped"
        )


def _spec(converted: Converted, bands: list[str], options: Mapping[str, Any]) -> ModelSpec:
    try:
        return ModelSpec(
            task="embedding",
            arch=converted.arch,
            backbone=converted.backbone,
            in_bands=bands,
            num_classes=1,
            pretrained_bands=converted.bands or None,
            options={**converted.options, **options},
        )
    except ValidationError as error:
        problems = "; ".join(str(e["msg"]) for e in error.errors())
        raise ConfigError(
            f"bands {bands}: {problems}.", fix="give registry band names such as S2.B04."
        ) from None


def _normalization(converted: Converted, bands: list[str]) -> Normalization | None:
    """The published statistics of ``bands``; None unless every band has them."""
    published = converted.normalization
    if published is None or not all(b in converted.bands for b in bands):
        return None
    index = [converted.bands.index(b) for b in bands]
    mean = [published.mean[i] for i in index]
    std = [published.std[i] for i in index]
    known_mean = [v for v in mean if v is not None]
    known_std = [v for v in std if v is not None]
    if len(known_mean) < len(index) or len(known_std) < len(index):
        return None  # a band whose published statistic has no equivalent in eoforge's units
    return Normalization(mean=known_mean, std=known_std)


def build_imported(
    converted: Converted,
    bands: Sequence[str] | None = None,
    source: str = "<state dict>",
    options: Mapping[str, Any] | None = None,
) -> ImportedModel:
    """The eoforge model of ``converted`` for ``bands`` (default: the checkpoint's).

    ``options`` are added to the architecture options the importer read from
    the tensors (e.g. DOFA's ``wavelengths_um`` for bands without an optical
    wavelength, or timm's ``global_pool``).

    Raises:
        ConfigError: No bands for a band-agnostic checkpoint, unknown bands, or
            model tensors the checkpoint does not provide or that do not fit.
    """
    wanted = list(bands) if bands else list(converted.bands)
    if not wanted:
        raise ConfigError(
            f"{converted.importer} checkpoints work on any optical bands; none were given.",
            path=source,
            fix="give the input bands (--bands S2.B04,S2.B03,S2.B02).",
        )
    spec = _spec(converted, wanted, options or {})
    model = build_model(spec)
    state = dict(converted.state)
    stem = "generated" if converted.stem_key is None else "as published"
    if converted.stem_key is not None and spec.in_bands != converted.bands:
        weight = state[converted.stem_key]
        state[converted.stem_key] = stem_for_bands(weight, converted.bands, spec.in_bands)
        stem = "selected" if set(spec.in_bands) <= set(converted.bands) else "adapted"
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state) - converted.optional_keys)
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k} {list(state[k].shape)} vs {list(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong:
        raise ConfigError(
            f"{converted.importer}: the converted checkpoint does not fill {spec.arch} "
            f"{spec.backbone}: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"shape mismatches {wrong[:5]}.",
            path=source,
            fix="the file differs from the published layout; convert it to a timm layout "
            "and give it as model.pretrained.",
        )
    model.load_state_dict(state, strict=False)
    return ImportedModel(
        model=model.eval(),
        spec=spec,
        checkpoint_bands=list(converted.bands),
        normalization=_normalization(converted, spec.in_bands),
        input_size=converted.input_size,
        importer=converted.importer,
        licence=_licence(converted.importer),
        stem=stem,
        loaded=len(state),
        left_initial=sorted(set(expected) - set(state)),
        dropped=dict(converted.dropped),
        notes=list(converted.notes)
        + ([converted.normalization.note] if converted.normalization else []),
    )


def _licence(importer: str) -> str:
    return get_importer(importer).licence


def import_state_dict(
    state: Mapping[str, torch.Tensor],
    kind: str | None = None,
    bands: Sequence[str] | None = None,
    source: str = "<state dict>",
    options: Mapping[str, Any] | None = None,
) -> ImportedModel:
    """Recognise (or check) ``state``'s layout and build its eoforge model.

    Args:
        state: Checkpoint tensors under their published key names.
        kind: Importer name; None detects it.
        bands: Wanted input bands; default the checkpoint's.
        source: Where ``state`` came from, for messages.
        options: Extra architecture options (see :func:`build_imported`).

    Raises:
        ConfigError: No importer fits (the message lists them and the keys
            seen), or the conversion does not fill the model.
    """
    importer = detect_importer(state, kind, path=source)
    return build_imported(importer.convert(state), bands, source, options)


def import_checkpoint(
    path: str | PathLike[str],
    kind: str | None = None,
    bands: Sequence[str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> ImportedModel:
    """Read a local published checkpoint and build its eoforge ``embedding`` model.

    Args:
        path: ``.safetensors`` or a PyTorch file (read with ``weights_only``).
        kind: Importer name; None tries them all and uses the one that matches.
        bands: Wanted input bands (registry names); default the checkpoint's.
        options: Extra architecture options (see :func:`build_imported`).

    Returns:
        The model, its spec, bands, normalisation and what was done.

    Raises:
        MissingFileError, UnsafeModelFileError, UnreadableFileError: See
            :func:`~eoforge.models.importers.files.read_checkpoint`.
        ConfigError: See :func:`import_state_dict`.
    """
    return import_state_dict(read_checkpoint(path), kind, bands, str(path), options)


def save_imported_bundle(
    imported: ImportedModel,
    directory: str | PathLike[str],
    normalization: Normalization | None = None,
    source: str | None = None,
) -> Path:
    """Write ``imported`` as an embedding bundle plus ``imported.json``.

    Args:
        imported: From :func:`import_checkpoint`.
        directory: Bundle folder to create or replace.
        normalization: Statistics for ``imported.spec.in_bands``; default the
            published ones.
        source: The checkpoint file, recorded in ``imported.json``.

    Returns:
        The bundle folder.

    Raises:
        ConfigError: No normalisation given and none published for the bands.
    """
    norm = normalization or imported.normalization
    if norm is None:
        raise ConfigError(
            f"no published normalisation for {imported.importer} on bands "
            f"{', '.join(imported.spec.in_bands)}.",
            fix="give per-band --mean and --std in the units eoforge reads the bands in "
            "(reflectance for Sentinel-2 and Landsat, kelvin for thermal bands, dB or linear "
            "backscatter as stored).",
        )
    bundle = Bundle(
        task="embedding",
        model=imported.spec,
        bands=imported.spec.in_bands,
        normalization=norm,
        patch_size=imported.input_size,
    )
    folder = save_bundle(directory, imported.model, bundle)
    record = {
        "importer": imported.importer,
        "licence": imported.licence,
        "source": source,
        "checkpoint_bands": imported.checkpoint_bands,
        "stem": imported.stem,
        "normalization_published": normalization is None,
        "left_initial": imported.left_initial,
        "dropped": imported.dropped,
        "notes": imported.notes,
    }
    (folder / IMPORT_JSON).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return folder
