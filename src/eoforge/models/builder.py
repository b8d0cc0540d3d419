"""Build a network from a :class:`~eoforge.models.spec.ModelSpec`.

Forward contract, which tasks and the predict engine rely on:

* classification / multilabel: ``[B, C, H, W] -> logits [B, K]``
* regression: ``[B, C, H, W] -> values [B, K]``
* segmentation: ``[B, C, H, W] -> logits [B, K, H, W]`` (any H, W)
* pixel_regression: ``[B, C, H, W] -> values [B, K, H, W]`` (any H, W)
* change: ``[B, 2, C, H, W] -> logits [B, K, H, W]`` (binary change: K = 2)
* embedding: ``[B, C, H, W] -> vectors [B, D]`` (``D`` set by the encoder)

``C = len(spec.in_bands)`` and ``K = spec.num_classes``. With ``spec.location``
set the network is called ``model(x, lonlat)`` (``lonlat`` ``[B, 2]``, degrees;
:mod:`eoforge.models.location_fusion`), outputs unchanged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.importers.base import StateDict, stem_for_bands
from eoforge.models.importers.files import read_checkpoint
from eoforge.models.importers.registry import detect_importer
from eoforge.models.location_fusion import fuse_location
from eoforge.models.registry import get_factory
from eoforge.models.spec import ModelSpec
from eoforge.models.weights import ImportReport, import_weights, load_state_dict_file

logger = logging.getLogger(__name__)


def stem_bands(model: nn.Module, spec: ModelSpec) -> list[str]:
    """Bands of the model's first convolution, in channel order.

    ``spec.in_bands`` unless the model says otherwise (early fusion stacks
    both dates: ``in_bands + in_bands``).
    """
    bands = getattr(model, "stem_bands", None)
    return list(bands) if bands is not None else list(spec.in_bands)


def build_model(spec: ModelSpec) -> nn.Module:
    """A network for ``spec``, initialised from ``spec.pretrained`` if set.

    Args:
        spec: What to build.

    Returns:
        The network (in training mode), honouring the forward contract above.

    Raises:
        ConfigError: Unknown architecture or backbone, task the architecture
            does not serve, bad options, or pretrained weights that do not fit.
        MissingFileError: ``spec.pretrained`` does not exist.
        UnsafeModelFileError: ``spec.pretrained`` needs unpickling objects.
    """
    model = get_factory(spec)(spec)
    if spec.pretrained is not None:
        report = load_pretrained(model, spec)
        logger.info("%s: %s", spec.pretrained, report.summary())
    if spec.location is not None:  # after pretrained: its keys name the plain network
        model = fuse_location(model, spec.task, spec.num_classes, spec.location)
    return model


def without_files(spec: ModelSpec) -> ModelSpec:
    """``spec`` reading no weight files when built (a bundle's own weights follow)."""
    location = None if spec.location is None else spec.location.model_copy(update={"bundle": None})
    return spec.model_copy(update={"pretrained": None, "location": location})


def load_pretrained(model: nn.Module, spec: ModelSpec) -> ImportReport:
    """Import ``spec.pretrained`` into ``model`` with stem adaptation.

    With ``spec.importer`` the file is first converted by that published-checkpoint
    importer (``auto``: the one recognising its layout), whose bands replace
    ``spec.pretrained_bands``; a stem for a subset of those bands takes their
    columns exactly.

    Raises:
        ConfigError: When nothing in the file fits the model, or the importer
            does not recognise the file.
    """
    path = Path(str(spec.pretrained))
    source_bands = spec.pretrained_bands
    if spec.importer is None:
        state = load_state_dict_file(path)
    else:
        state, source_bands = _converted(path, spec.importer, stem_bands(model, spec))
    try:
        return import_weights(model, state, source_bands, stem_bands(model, spec))
    except ConfigError as error:
        raise ConfigError(error.reason, path=path, fix=error.fix) from None


def _converted(path: Path, importer: str, bands: list[str]) -> tuple[StateDict, list[str] | None]:
    """The file's tensors in an eoforge layout, and the bands of its stem."""
    raw = read_checkpoint(path)
    converted = detect_importer(raw, None if importer == "auto" else importer, path).convert(raw)
    state = dict(converted.state)
    if converted.stem_key is None or not converted.bands:
        return state, converted.bands or None
    if bands and set(bands) <= set(converted.bands):
        state[converted.stem_key] = stem_for_bands(
            state[converted.stem_key], converted.bands, bands
        )
        return state, bands
    return state, converted.bands
