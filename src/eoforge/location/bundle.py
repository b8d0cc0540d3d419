"""Location bundles: a trained location encoder and its image projection, as a folder.

A location bundle holds ``weights.safetensors`` (tensors only: loading never
unpickles) and ``bundle.json`` (:class:`LocationBundle`: ``kind: location``,
the encoder's sizes, the width of the image vectors it was aligned with, the
image model's identity, each training table's fingerprint, metrics, eoforge
version). :func:`save_location_bundle` writes into a temporary folder beside
the target and renames it into place; :func:`load_location_bundle` rebuilds
the :class:`~eoforge.location.contrastive.LocationImageModel`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors.torch import load_file, save_file

from eoforge import __version__
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.location.contrastive import LocationImageModel
from eoforge.location.encoder import LocationSpec

FORMAT_VERSION = 1
BUNDLE_JSON = "bundle.json"
WEIGHTS_FILE = "weights.safetensors"


def file_fingerprint(path: str | os.PathLike[str]) -> str:
    """16 hex digits of the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


class TrainingTable(BaseModel):
    """One embedding table the encoder was trained on.

    Attributes:
        path: The file, as given.
        fingerprint: :func:`file_fingerprint` of its bytes.
        windows: Windows used from it.
    """

    model_config = ConfigDict(extra="forbid")

    path: str
    fingerprint: str
    windows: int = Field(ge=0)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LocationBundle(BaseModel):
    """Contents of a location bundle's ``bundle.json``.

    Attributes:
        format_version: Bundle format; readers refuse newer versions.
        kind: Always ``location``.
        encoder: The location encoder's sizes.
        image_dim: Length of the image vectors the projection takes.
        image_model: Identity of the model that made those vectors
            (:class:`~eoforge.predict.identity.ModelIdentity` as a dict), if known.
        temperature: The learnt temperature.
        tables: The training tables.
        metrics: Final metrics (name -> value).
        eoforge_version: Version that wrote the bundle.
        created: Creation time, UTC ISO 8601.
    """

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    kind: Literal["location"] = "location"
    encoder: LocationSpec
    image_dim: int = Field(ge=1)
    image_model: dict[str, Any] | None = None
    temperature: float = Field(gt=0)
    tables: list[TrainingTable] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    eoforge_version: str = __version__
    created: str = Field(default_factory=_utc_now)


@dataclass
class LoadedLocation:
    """A location bundle read back: the model in eval mode and its description."""

    model: LocationImageModel
    bundle: LocationBundle


def save_location_bundle(
    directory: str | os.PathLike[str], model: LocationImageModel, bundle: LocationBundle
) -> Path:
    """Write ``model`` and ``bundle`` as a location bundle folder, atomically.

    Raises:
        ConfigError: ``directory`` exists and is not a bundle folder.
    """
    target = Path(directory)
    if target.exists() and any(target.iterdir()) and not (target / BUNDLE_JSON).is_file():
        raise ConfigError(
            "exists and is not a bundle folder; refusing to replace it.",
            path=target,
            fix="choose a new or empty folder for the location bundle.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(tensors, str(staging / WEIGHTS_FILE), metadata={"eoforge_version": __version__})
        text = bundle.model_dump_json(indent=2) + "\n"
        (staging / BUNDLE_JSON).write_text(text, encoding="utf-8")
        _replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _replace(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an old ``target`` is moved aside, and back on failure."""
    backup = target.with_name(f".{target.name}.old-{staging.name}")
    if target.exists():
        target.rename(backup)
    try:
        staging.rename(target)
    except OSError:
        if backup.exists():
            backup.rename(target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def read_location_json(directory: str | os.PathLike[str]) -> LocationBundle:
    """Read and validate a location bundle's ``bundle.json``.

    Raises:
        MissingFileError: No ``bundle.json`` there.
        UnreadableFileError: It is not JSON.
        ConfigError: Not a location bundle (e.g. an image model's bundle), a
            newer format, or invalid contents.
    """
    path = Path(directory) / BUNDLE_JSON
    if not path.is_file():
        raise MissingFileError(
            "location bundle description not found.",
            path=path,
            fix="give a folder written by training a task.kind location config.",
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnreadableFileError(f"not valid JSON ({error}).", path=path) from None
    if not isinstance(raw, dict) or raw.get("kind") != "location":
        what = raw.get("task") if isinstance(raw, dict) else None
        raise ConfigError(
            f"not a location bundle ({f'a {what} model bundle' if what else 'no kind: location'}).",
            path=path,
            fix="give the bundle folder that training a task.kind location config wrote.",
        )
    version = raw.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise ConfigError(
            f"location bundle format_version {version!r} is not supported by eoforge "
            f"{__version__} (it reads {FORMAT_VERSION}).",
            path=path,
            fix="use the eoforge version that wrote the bundle.",
        )
    try:
        return LocationBundle.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(
            f"invalid location bundle description: {problems}.", path=path, fix="train it again."
        ) from None


def load_location_bundle(directory: str | os.PathLike[str]) -> LoadedLocation:
    """Rebuild a location bundle's model (eval mode) and load its weights.

    Raises:
        MissingFileError: Missing folder, ``bundle.json`` or weights.
        UnreadableFileError: Corrupt ``bundle.json`` or weights.
        ConfigError: Not a location bundle, or weights that do not fit its sizes.
    """
    folder = Path(directory)
    bundle = read_location_json(folder)
    model = LocationImageModel(bundle.encoder, bundle.image_dim, temperature=bundle.temperature)
    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise MissingFileError("location bundle weights not found.", path=path, fix="train again.")
    try:
        weights = load_file(str(path), device="cpu")
    except Exception as error:  # safetensors raises several unrelated types
        raise UnreadableFileError(f"corrupt weights ({error}).", path=path) from None
    expected = model.state_dict()
    problems = sorted(set(expected) ^ set(weights)) + [
        f"{key} {list(weights[key].shape)} (expected {list(tensor.shape)})"
        for key, tensor in expected.items()
        if key in weights and weights[key].shape != tensor.shape
    ]
    if problems:
        raise ConfigError(
            f"weights do not match the sizes in bundle.json: {', '.join(problems[:6])}.",
            path=path,
            fix="keep bundle.json and weights.safetensors of one training run together.",
        )
    with torch.no_grad():
        model.load_state_dict(weights, strict=True)
    return LoadedLocation(model.eval(), bundle)
