"""Local weight files: safe loading and import into eoforge models.

Weights are only ever read from local files the user names, never downloaded.
``.safetensors`` files are plain tensors; ``.pt``/``.pth``/``.ckpt``/``.bin``
files are read with ``torch.load(weights_only=True)``, which refuses to run
pickled code: a file that would need it raises :class:`UnsafeModelFileError`.

:func:`import_weights` maps timm / TorchGeo / smp / Lightning key layouts onto
an eoforge model: it tries the keys as they are and with wrapper prefixes
(``module.``, ``model.``, ``backbone.``, ``encoder.``, ``net.``) or one or
two leading components (a Lightning task's ``model.``) stripped, under every
module path of the model, and keeps the mapping that places the most tensors.
The input stem is adapted to the model's bands with
:func:`~eoforge.models.stems.adapt_stem`.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError, UnsafeModelFileError
from eoforge.models.spec import DEFAULT_PRETRAINED_BANDS
from eoforge.models.stems import adapt_stem

StateDict = dict[str, torch.Tensor]

PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
WRAPPER_PREFIXES = ("module.", "model.", "backbone.", "encoder.", "net.")
NESTED_KEYS = ("state_dict", "model_state_dict", "model", "weights")


def load_state_dict_file(
    path: str | PathLike[str], entries: Sequence[str] = NESTED_KEYS
) -> StateDict:
    """Read a state dict from a local file without running pickled code.

    Args:
        path: ``.safetensors``, or ``.pt``/``.pth``/``.ckpt``/``.bin``. A
            Lightning checkpoint's ``state_dict`` entry is unwrapped.
        entries: Entries of a PyTorch file that hold the model, in preference
            order; the first that is a mapping is unwrapped, repeatedly.

    Returns:
        Tensor name -> tensor (on CPU).

    Raises:
        MissingFileError: The file does not exist.
        UnsafeModelFileError: The file needs unpickling arbitrary objects.
        UnreadableFileError: Unknown suffix, corrupt file, or no tensors.
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError("weights file not found.", path=file, fix="check the path.")
    suffix = file.suffix.lower()
    if suffix == ".safetensors":
        return _load_safetensors(file)
    if suffix in PICKLE_SUFFIXES:
        return _tensors_of(_load_torch(file), file, entries)
    raise UnreadableFileError(
        f"unknown weights format {suffix!r}.",
        path=file,
        fix=f"use a .safetensors file or one of {', '.join(PICKLE_SUFFIXES)}.",
    )


def _load_safetensors(file: Path) -> StateDict:
    try:
        return load_file(str(file), device="cpu")
    except Exception as error:  # safetensors raises several unrelated types
        raise UnreadableFileError(
            f"not a readable safetensors file ({error}).",
            path=file,
            fix="re-export the weights with safetensors.torch.save_file.",
        ) from None


def _load_torch(file: Path) -> object:
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "refused"
        raise UnsafeModelFileError(
            f"refusing to load: the file needs unpickling arbitrary Python objects ({first_line}).",
            path=file,
            fix="in a trusted environment re-save only the tensors, e.g. "
            "safetensors.torch.save_file(model.state_dict(), 'weights.safetensors') (of a "
            "training checkpoint: checkpoint['teacher'] or checkpoint['model']), "
            "and give that file instead.",
        ) from None
    except (RuntimeError, OSError, EOFError, ValueError) as error:
        raise UnreadableFileError(
            f"not a readable PyTorch file ({error}).",
            path=file,
            fix="check that the download or copy is complete, or convert it to .safetensors.",
        ) from None


def _tensors_of(obj: object, file: Path, entries: Sequence[str]) -> StateDict:
    """The tensor mapping inside a loaded object (unwrapping ``entries`` of checkpoint dicts)."""
    while isinstance(obj, Mapping):
        nested = next((obj[k] for k in entries if isinstance(obj.get(k), Mapping)), None)
        if nested is None:
            break
        obj = nested
    tensors = (
        {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if isinstance(obj, Mapping)
        else {}
    )
    if not tensors:
        raise UnreadableFileError(
            "the file holds no tensors (expected a state dict or a training checkpoint).",
            path=file,
            fix="save model.state_dict() (of the encoder), not the model or optimizer state.",
        )
    return tensors


@dataclass
class ImportReport:
    """What :func:`import_weights` did.

    Attributes:
        loaded: Model keys that received a tensor.
        missing: Model keys left at their initial values.
        unexpected: Source keys that match no model key.
        mismatched: Source keys whose shape does not fit the model key they name.
        stem: Model key of the adapted input stem, or None.
        source_prefix_stripped: Whether wrapper prefixes were stripped.
        target_prefix: Module path the source keys were placed under.
    """

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    stem: str | None = None
    source_prefix_stripped: bool = False
    target_prefix: str = ""

    def summary(self) -> str:
        """One line for logs."""
        return (
            f"loaded {len(self.loaded)} tensors under {self.target_prefix or '<root>'!r}"
            f" (stem {self.stem or 'unchanged'}); missing {len(self.missing)}, "
            f"unexpected {len(self.unexpected)}, mismatched {len(self.mismatched)}"
        )


def strip_wrappers(key: str) -> str:
    """``key`` without leading wrapper prefixes (``model.backbone.conv1`` -> ``conv1``)."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key


def _module_prefixes(keys: Sequence[str]) -> list[str]:
    prefixes = {""}
    for key in keys:
        parts = key.split(".")[:-1]
        prefixes.update(".".join(parts[:i]) + "." for i in range(1, len(parts) + 1))
    return sorted(prefixes, key=len)


@dataclass
class _Mapping:
    target_of: dict[str, str]
    stripped: bool
    prefix: str


def _drop_components(key: str, count: int) -> str:
    parts = key.split(".")
    return ".".join(parts[count:]) if len(parts) > count + 1 else key


def _source_views(source: StateDict) -> list[tuple[bool, dict[str, str]]]:
    """Candidate renamings of the source keys: as is, minus leading parts, unwrapped."""
    views = [(False, {k: k for k in source})]
    views += [(True, {k: _drop_components(k, n) for k in source}) for n in (1, 2)]
    views.append((True, {k: strip_wrappers(k) for k in source}))
    return views


def _best_mapping(source: StateDict, target: Mapping[str, torch.Tensor]) -> _Mapping:
    """The key mapping (one source renaming, one model prefix) placing most tensors."""
    best = _Mapping({}, False, "")
    best_score = -1
    for stripped, names in _source_views(source):
        for prefix in _module_prefixes(list(target)):
            target_of = {k: prefix + n for k, n in names.items() if prefix + n in target}
            score = sum(target[t].shape == source[k].shape for k, t in target_of.items())
            if score > best_score:
                best, best_score = _Mapping(target_of, stripped, prefix), score
    return best


def _find_stem(
    source: StateDict, target: Mapping[str, torch.Tensor], target_of: dict[str, str]
) -> str | None:
    """Source key of the model's first 4-D weight that the mapping fills."""
    source_of = {t: k for k, t in target_of.items()}
    for name, tensor in target.items():
        if tensor.dim() == 4 and name in source_of and source[source_of[name]].dim() == 4:
            return source_of[name]
    return None


def _adapted_stem(
    weight: torch.Tensor, source_bands: Sequence[str] | None, target_bands: list[str]
) -> torch.Tensor:
    """Stem for ``target_bands``; ``weight`` itself when no adaptation is needed.

    Without ``source_bands``, a stem with one channel per target band is taken
    as already matching, and any other stem as RGB.
    """
    if source_bands is None:
        if weight.shape[1] == len(target_bands):
            return weight
        source_bands = DEFAULT_PRETRAINED_BANDS
    if list(source_bands) == target_bands:
        return weight
    return adapt_stem(weight, source_bands, target_bands)


def import_weights(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    source_bands: Sequence[str] | None = None,
    target_bands: Sequence[str] | None = None,
) -> ImportReport:
    """Load a timm / TorchGeo / smp state dict into ``model``, adapting its stem.

    Args:
        model: An eoforge model; its first 4-D weight is the input stem.
        state_dict: Source tensors (e.g. from :func:`load_state_dict_file`).
        source_bands: Bands of the source stem. None: a stem with one channel
            per target band is kept as is, any other is taken as RGB.
        target_bands: Bands of the model's stem; default ``model.stem_bands``
            when the model has it. Without them a stem of another channel
            count is reported as mismatched instead of adapted. Empty: the
            model has no per-band stem (spectral encoders generate their
            input kernels), so nothing is adapted.

    Returns:
        The report of loaded, missing, unexpected and mismatched keys.

    Raises:
        ConfigError: When no source tensor fits the model at all.
    """
    source = dict(state_dict)
    target = model.state_dict()
    mapping = _best_mapping(source, target)
    bands_out = target_bands if target_bands is not None else getattr(model, "stem_bands", None)
    report = ImportReport(source_prefix_stripped=mapping.stripped, target_prefix=mapping.prefix)
    stem_key = _find_stem(source, target, mapping.target_of)
    new_state: StateDict = {}
    for key, name in mapping.target_of.items():
        tensor = source[key]
        if key == stem_key and bands_out:
            adapted = _adapted_stem(tensor, source_bands, list(bands_out))
            report.stem, tensor = (name, adapted) if adapted is not tensor else (None, tensor)
        if tensor.shape != target[name].shape:
            report.mismatched.append(key)
            continue
        new_state[name] = tensor
    if not new_state:
        raise ConfigError(
            f"none of the {len(source)} source tensors fits the model "
            f"(source keys start {', '.join(list(source)[:3])}).",
            fix="check that the weights are for the same backbone as model.backbone.",
        )
    model.load_state_dict(new_state, strict=False)
    report.loaded = sorted(new_state)
    report.missing = sorted(set(target) - set(new_state))
    report.unexpected = sorted(set(source) - set(mapping.target_of))
    return report
