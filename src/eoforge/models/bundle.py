"""Model bundles: what training produces and prediction consumes.

A bundle is a folder with two files:

* ``weights.safetensors``: the state dict (tensors only; loading never
  unpickles);
* ``bundle.json``: a :class:`Bundle` (task, model spec, band names,
  per-band normalization in physical units, GSD, patch size, classes with
  names and colours, metrics, eoforge version, creation time).

:func:`save_bundle` writes both into a temporary folder beside the target and
renames it into place, so a failed save never leaves a half-written bundle.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any, Self

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from safetensors.torch import load_file, save_file
from torch import nn

from eoforge import __version__
from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError, EoforgeError, MissingFileError, UnreadableFileError
from eoforge.models.builder import build_model, without_files
from eoforge.models.spec import ModelSpec, Task, canonical_band_names

FORMAT_VERSION = 1
BUNDLE_JSON = "bundle.json"
WEIGHTS_FILE = "weights.safetensors"


class Normalization(BaseModel):
    """Per-band statistics in physical units: ``x' = (x - mean) / std``."""

    model_config = ConfigDict(extra="forbid")

    mean: list[float]
    std: list[float]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean has {len(self.mean)} values but std has {len(self.std)}")
        if any(value <= 0 for value in self.std):
            raise ValueError("every std must be > 0")
        return self


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Bundle(BaseModel):
    """Contents of ``bundle.json``.

    Attributes:
        format_version: Bundle format; readers refuse newer versions.
        task: Task of the model (same as ``model.task``).
        model: The spec that rebuilds the network.
        bands: Canonical input band names (same as ``model.in_bands``).
        normalization: Per-band mean and std, physical units.
        gsd: Ground sample distance the model was trained at, metres.
        patch_size: Side of the training patches, pixels.
        classes: Class ids, names and ``#rrggbb`` colours.
        metrics: Evaluation metrics (name -> value).
        eoforge_version: Version that wrote the bundle.
        created: Creation time, UTC ISO 8601.
    """

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    task: Task
    model: ModelSpec
    bands: list[str]
    normalization: Normalization
    gsd: float | None = Field(default=None, gt=0)
    patch_size: int = Field(ge=1)
    classes: list[ClassInfo] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    eoforge_version: str = __version__
    created: str = Field(default_factory=_utc_now)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.task != self.model.task:
            raise ValueError(f"task {self.task!r} differs from model.task {self.model.task!r}")
        if canonical_band_names(self.bands) != self.model.in_bands:
            raise ValueError(
                f"bands {self.bands} differ from model.in_bands {self.model.in_bands} "
                f"({len(self.bands)} vs {len(self.model.in_bands)} bands)"
            )
        if len(self.normalization.mean) != len(self.bands):
            raise ValueError(
                f"normalization has {len(self.normalization.mean)} values for "
                f"{len(self.bands)} bands"
            )
        ids = [c.id for c in self.classes]
        if len(set(ids)) != len(ids) or any(i >= self.model.num_classes for i in ids):
            raise ValueError(f"class ids {ids} must be unique and < {self.model.num_classes}")
        return self


@dataclass
class LoadedBundle:
    """A bundle read back: the network in eval mode and its description."""

    model: nn.Module
    bundle: Bundle


def save_bundle(directory: str | PathLike[str], model: nn.Module, bundle: Bundle) -> Path:
    """Write ``model`` and ``bundle`` as a bundle folder, atomically.

    Args:
        directory: Bundle folder to create or replace.
        model: Network built from ``bundle.model``.
        bundle: Its description.

    Returns:
        The bundle folder.

    Raises:
        ConfigError: ``directory`` exists and is not a bundle folder, or
            ``model`` is not what ``bundle.model`` builds (it could not be
            loaded back).
    """
    target = Path(directory)
    _check_model_matches_spec(model, bundle.model)
    if target.exists() and any(target.iterdir()) and not (target / BUNDLE_JSON).is_file():
        raise ConfigError(
            "exists and is not a model bundle; refusing to replace it.",
            path=target,
            fix="choose a new or empty folder for the bundle.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _write_contents(staging, model, bundle)
        _replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _check_model_matches_spec(model: nn.Module, spec: ModelSpec) -> None:
    """Refuse to save weights that ``load_bundle`` could not load into ``spec``'s model."""
    fresh = build_model(without_files(spec)).state_dict()
    state = model.state_dict()
    problems = [f"{key} missing" for key in fresh if key not in state]
    problems += [f"{key} unexpected" for key in state if key not in fresh]
    problems += [
        f"{key} is {list(state[key].shape)}, spec gives {list(tensor.shape)}"
        for key, tensor in fresh.items()
        if key in state and tensor.numel() > 0 and state[key].shape != tensor.shape
    ]
    if problems:
        raise ConfigError(
            f"the model does not match bundle.model ({spec.arch}, {spec.backbone}, "
            f"{len(spec.in_bands)} bands): {_few(problems, limit=4)}.",
            fix="save the model built by build_model(bundle.model).",
        )


def _write_contents(folder: Path, model: nn.Module, bundle: Bundle) -> None:
    # clone() also separates tensors that share storage, which safetensors refuses
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"eoforge_version": __version__})
    (folder / BUNDLE_JSON).write_text(bundle.model_dump_json(indent=2) + "\n", encoding="utf-8")


def _replace(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``, moving an old ``target`` aside first."""
    backup = None
    if target.exists():
        backup = target.with_name(f".{target.name}.old-{staging.name}")
        target.rename(backup)
    try:
        staging.rename(target)
    except OSError:
        if backup is not None:
            backup.rename(target)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def read_bundle_json(directory: str | PathLike[str]) -> Bundle:
    """Read and validate ``bundle.json`` of a bundle folder.

    Raises:
        MissingFileError: The folder or ``bundle.json`` is missing.
        UnreadableFileError: ``bundle.json`` is not JSON.
        ConfigError: Unsupported format version or invalid contents (the
            message names the offending keys).
    """
    path = Path(directory) / BUNDLE_JSON
    if not path.is_file():
        raise MissingFileError(
            "model bundle description not found.",
            path=path,
            fix="point to a folder written by eoforge (it holds bundle.json and weights).",
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnreadableFileError(
            f"not valid JSON ({error}).", path=path, fix="re-export the bundle."
        ) from None
    _check_version(raw, path)
    try:
        return Bundle.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(
            f"invalid bundle description: {problems}.", path=path, fix="re-export the bundle."
        ) from None


def _check_version(raw: object, path: Path) -> None:
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(
            f"format_version is missing or not an integer ({version!r}).",
            path=path,
            fix="re-export the bundle with eoforge.",
        )
    if version > FORMAT_VERSION or version < 1:
        raise ConfigError(
            f"bundle format_version {version} is not supported (this eoforge "
            f"{__version__} reads version {FORMAT_VERSION}).",
            path=path,
            fix="upgrade eoforge to the version that wrote the bundle.",
        )


def load_bundle(directory: str | PathLike[str]) -> LoadedBundle:
    """Rebuild the network of a bundle folder and load its weights.

    Args:
        directory: Folder written by :func:`save_bundle`.

    Returns:
        The network in eval mode and the bundle description.

    Raises:
        MissingFileError: Missing folder, ``bundle.json`` or weights.
        UnreadableFileError: Corrupt ``bundle.json`` or weights.
        ConfigError: Unsupported version, invalid description, or weights
            that do not match the model (the message names the keys).
    """
    folder = Path(directory)
    bundle = read_bundle_json(folder)
    spec = without_files(bundle.model)
    try:
        # the layers without their initial values: the file's tensors become the weights
        with torch.device("meta"):
            skeleton: nn.Module | None = _build(spec, folder)
    except ConfigError:
        raise
    except Exception:  # a network that computes with values while built: built for real below
        skeleton = None
    path = folder / WEIGHTS_FILE
    weights = _read_weights(path)
    model = _assign_weights(skeleton, weights, path) if skeleton is not None else None
    if model is None:
        model = _build(spec, folder)
        _load_weights(model, weights, path)
    return LoadedBundle(model=model.eval(), bundle=bundle)


def _build(spec: ModelSpec, folder: Path) -> nn.Module:
    try:
        return build_model(spec)
    except EoforgeError as error:
        raise ConfigError(error.reason, path=folder / BUNDLE_JSON, fix=error.fix) from None


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise MissingFileError("model bundle weights not found.", path=path, fix="re-export it.")
    try:
        return load_file(str(path), device="cpu")
    except Exception as error:  # safetensors raises several unrelated types
        raise UnreadableFileError(
            f"corrupt weights ({error}).", path=path, fix="re-export the bundle."
        ) from None


def _assign_weights(
    skeleton: nn.Module, weights: dict[str, torch.Tensor], path: Path
) -> nn.Module | None:
    """``skeleton`` (built on the meta device) holding ``weights`` as its tensors.

    Building on the meta device skips computing initial values that the file's
    weights would overwrite (most of a load's time). None when the network keeps
    tensors the file does not hold (non-persistent buffers, plain tensor attributes)
    or shares tensors between modules: those are built for real and copied into.

    Raises:
        ConfigError: The weights' names or shapes do not match the model.
    """
    tensors = [
        t
        for named in (skeleton.named_parameters, skeleton.named_buffers)
        for _, t in named(remove_duplicate=False)
    ]
    if len({id(t) for t in tensors}) != len(tensors):
        return None  # tied weights: assigning each name its own tensor would untie them
    state = _check_names(skeleton, weights, path)
    # the model's dtypes, as copying into a built model gives
    cast = {k: v.to(state[k].dtype) if v.dtype != state[k].dtype else v for k, v in weights.items()}
    _load_state(skeleton, cast, path, assign=True)
    left = any(t.is_meta for t in [*skeleton.parameters(), *skeleton.buffers()]) or any(
        isinstance(v, torch.Tensor) and v.is_meta
        for m in skeleton.modules()
        for v in vars(m).values()
    )
    return None if left else skeleton


def _check_names(
    model: nn.Module, weights: dict[str, torch.Tensor], path: Path
) -> dict[str, torch.Tensor]:
    """``model``'s state dict, after checking ``weights`` has exactly its names."""
    state = model.state_dict()
    expected = set(state)
    missing, unexpected = sorted(expected - set(weights)), sorted(set(weights) - expected)
    if missing or unexpected:
        raise ConfigError(
            "weights do not match the model in bundle.json: "
            f"missing {_few(missing)}; unexpected {_few(unexpected)}.",
            path=path,
            fix="the bundle.json model spec must be the one the weights were trained with.",
        )
    return state


def _load_weights(model: nn.Module, weights: dict[str, torch.Tensor], path: Path) -> None:
    _check_names(model, weights, path)
    _load_state(model, weights, path, assign=False)


def _load_state(
    model: nn.Module, weights: dict[str, torch.Tensor], path: Path, *, assign: bool
) -> None:
    try:
        model.load_state_dict(weights, strict=True, assign=assign)
    except RuntimeError as error:
        raise ConfigError(
            f"weights do not match the model in bundle.json: {_shape_problems(model, weights)}"
            f" ({' '.join(str(error).split())}).",
            path=path,
            fix="the bundle.json model spec must be the one the weights were trained with.",
        ) from None


def _shape_problems(model: nn.Module, weights: dict[str, torch.Tensor]) -> str:
    state = model.state_dict()
    problems = [
        f"{key} is {list(weights[key].shape)} in the file but {list(tensor.shape)} in the model"
        for key, tensor in state.items()
        if weights[key].shape != tensor.shape
    ]
    return _few(problems, limit=4)


def _few(keys: list[str], limit: int = 8) -> str:
    if not keys:
        return "none"
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more
