"""The importers eoforge knows, looked up by name or recognised from the keys."""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike

import torch

from eoforge.errors import ConfigError, available_list
from eoforge.models.importers.base import CheckpointImporter
from eoforge.models.importers.dofa import DOFAImporter
from eoforge.models.importers.prithvi import PrithviViT
from eoforge.models.importers.satlas import SatlasResNet, SatlasSwin
from eoforge.models.importers.satmae import SatMAEImporter
from eoforge.models.importers.ssl4eo import SoftConViT, SSL4EOResNet, SSL4EOViT

# Most specific layouts first; their matches() are built to be mutually exclusive.
IMPORTERS: tuple[CheckpointImporter, ...] = (
    DOFAImporter(),
    SatMAEImporter(),
    PrithviViT(),
    SoftConViT(),
    SSL4EOViT(),
    SSL4EOResNet(),
    SatlasResNet(),
    SatlasSwin(),
)

CONVERT_HINT = (
    "pass --importer NAME (model.importer) if the file is one of these families, "
    "or convert the file to a timm layout and give it as model.pretrained"
)


def list_importers() -> list[CheckpointImporter]:
    """All importers, in detection order."""
    return list(IMPORTERS)


def get_importer(name: str) -> CheckpointImporter:
    """The importer called ``name``.

    Raises:
        ConfigError: Unknown name (the message lists the importers).
    """
    for importer in IMPORTERS:
        if importer.name == name:
            return importer
    raise ConfigError(
        f"unknown checkpoint importer {name!r}. Available: "
        f"{available_list(i.name for i in IMPORTERS)}.",
        fix="use one of the listed names (`eoforge models import --help` describes them).",
    )


def _keys_seen(state: Mapping[str, torch.Tensor], limit: int = 6) -> str:
    shown = [f"{k} {list(v.shape)}" for k, v in list(state.items())[:limit]]
    more = f", ... ({len(state) - limit} more)" if len(state) > limit else ""
    return ", ".join(shown) + more


def detect_importer(
    state: Mapping[str, torch.Tensor],
    kind: str | None = None,
    path: str | PathLike[str] | None = None,
) -> CheckpointImporter:
    """The importer for ``state``: ``kind`` if given (checked), else the first that matches.

    Args:
        state: Checkpoint tensors.
        kind: An importer name, or None to recognise the layout.
        path: The file, for messages.

    Raises:
        ConfigError: ``kind`` is unknown or does not fit ``state``, or no
            importer recognises ``state`` (the message lists the importers
            and the keys seen).
    """
    if kind is not None:
        importer = get_importer(kind)
        if not importer.matches(state):
            raise ConfigError(
                f"the checkpoint does not have the {kind} layout ({importer.description}); "
                f"keys seen: {_keys_seen(state)}.",
                path=path,
                fix=f"check the file, or leave the importer out to detect it; {CONVERT_HINT}.",
            )
        return importer
    for importer in IMPORTERS:
        if importer.matches(state):
            return importer
    names = "; ".join(f"{i.name}: {i.description}" for i in IMPORTERS)
    raise ConfigError(
        f"the checkpoint's layout matches no importer ({names}). Keys seen: {_keys_seen(state)}.",
        path=path,
        fix=f"{CONVERT_HINT}.",
    )
