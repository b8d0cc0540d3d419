"""The text side of an image-text bundle, kept beside its image tower.

An image-text bundle is an ordinary ``embedding`` bundle of the image tower
(``bundle.json`` + ``weights.safetensors``: ``eoforge embed`` turns scenes
into joint-space vectors with it) plus two files in the same folder:

* ``text.json``: format version, the text model package, the text and joint
  widths, the temperature, whether the sentence model was fine-tuned;
* ``text.safetensors``: the text projection (``projection.weight``,
  ``projection.bias``) and, for a fine-tuned sentence model, its weights
  under ``tower.``.

Loading never unpickles. :class:`TextSide` is the
:class:`~eoforge.text.TextEmbedder` of the joint space: sentences in, unit
vectors an index of the bundle's image vectors can be searched with.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.models.bundle import BUNDLE_JSON, Bundle, Normalization, save_bundle
from eoforge.models.image_text import ClospModel, ImageTextModel, ImageTower
from eoforge.text import TEXT_PACKAGE, SentenceTower, check_texts

TEXT_JSON = "text.json"
TEXT_WEIGHTS = "text.safetensors"
TEXT_FORMAT = 1


def write_text_side(folder: str | os.PathLike[str], model: ImageTextModel | ClospModel) -> Path:
    """Write ``text.json`` and ``text.safetensors`` of ``model`` into a bundle folder.

    Args:
        folder: The image tower's bundle folder.
        model: The trained dual encoder, or a CLOSP model (one text side for every
            tower); its text tower a :class:`SentenceTower`.

    Raises:
        ConfigError: The text tower is not a sentence tower.
    """
    tower = model.text_tower
    if not isinstance(tower, SentenceTower):
        raise ConfigError(
            f"cannot save a {type(tower).__name__} text tower.",
            fix=f"train with the {TEXT_PACKAGE} sentence tower.",
        )
    target = Path(folder)
    state = {f"projection.{k}": v for k, v in model.text_projection.state_dict().items()}
    if tower.trainable:
        state.update({f"tower.{k}": v for k, v in tower.sentence_model.state_dict().items()})
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    description = {
        "format_version": TEXT_FORMAT,
        "package": TEXT_PACKAGE,
        "text_dim": tower.dim,
        "dim": model.dim,
        "temperature": float(1.0 / model.scale().item()),
        "trained_text": tower.trainable,
    }
    staging = target / f".{TEXT_WEIGHTS}.{os.getpid()}.tmp"
    save_file(tensors, str(staging))
    os.replace(staging, target / TEXT_WEIGHTS)
    staging = target / f".{TEXT_JSON}.{os.getpid()}.tmp"
    staging.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    os.replace(staging, target / TEXT_JSON)
    return target


@dataclass
class TextSide:
    """Sentences -> unit joint-space vectors of an image-text bundle (a ``TextEmbedder``).

    Attributes:
        tower: The sentence model.
        projection: Text vectors -> joint space.
        temperature: The trained temperature.
        folder: The bundle folder.
        fingerprint: 16 hex digits of SHA-256 over ``text.safetensors``.
    """

    tower: SentenceTower
    projection: nn.Linear
    temperature: float
    folder: Path
    fingerprint: str

    @property
    def dim(self) -> int:
        """Joint-space width."""
        return int(self.projection.out_features)

    @property
    def name(self) -> str:
        """``"<package> + projection <fingerprint>"``."""
        return f"{TEXT_PACKAGE} + projection {self.fingerprint}"

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """float32 unit joint vectors ``[N, D]``.

        Raises:
            ConfigError: A sentence is empty.
        """
        items = check_texts(texts)
        sentences = torch.from_numpy(self.tower.encode(items))
        with torch.no_grad():
            projected = nn.functional.normalize(self.projection(sentences), dim=-1)
        return projected.numpy().astype(np.float32)


def has_text_side(folder: str | os.PathLike[str]) -> bool:
    """Whether a bundle folder holds a text side."""
    return (Path(folder) / TEXT_JSON).is_file()


def load_text_side(folder: str | os.PathLike[str], device: str = "cpu") -> TextSide:
    """Read the text side of an image-text bundle.

    Raises:
        MissingFileError: No bundle, or a bundle without a text side.
        UnreadableFileError: ``text.json`` or the weights are corrupt.
        ConfigError: The text model package is missing, or the files do not fit.
    """
    root = Path(folder)
    description_path, weights_path = root / TEXT_JSON, root / TEXT_WEIGHTS
    if not (root / BUNDLE_JSON).is_file():
        raise MissingFileError(
            "model bundle not found.", path=root, fix="give an image-text bundle folder."
        )
    if not description_path.is_file() or not weights_path.is_file():
        raise MissingFileError(
            "this bundle has no text side (text.json and text.safetensors), so text cannot "
            "query it.",
            path=root,
            fix="give a bundle trained with task.kind image_text.",
        )
    try:
        description: dict[str, Any] = json.loads(description_path.read_text(encoding="utf-8"))
        version = int(description["format_version"])
        text_dim, dim = int(description["text_dim"]), int(description["dim"])
        temperature = float(description["temperature"])
        trained = bool(description.get("trained_text", False))
        weights = load_file(str(weights_path), device="cpu")
    except Exception as error:  # JSON, key and safetensors errors alike
        raise UnreadableFileError(
            f"corrupt text side ({error}).", path=root, fix="re-export the bundle."
        ) from None
    if version > TEXT_FORMAT:
        raise ConfigError(
            f"text side format {version} is newer than this eoforge reads ({TEXT_FORMAT}).",
            path=description_path,
            fix="upgrade eoforge.",
        )
    tower = SentenceTower()
    if trained:
        tower.sentence_model.load_state_dict(
            {k.removeprefix("tower."): v for k, v in weights.items() if k.startswith("tower.")}
        )
    projection = nn.Linear(text_dim, dim)
    try:
        projection.load_state_dict(
            {
                k.removeprefix("projection."): v
                for k, v in weights.items()
                if k.startswith("projection.")
            }
        )
    except RuntimeError as error:
        raise ConfigError(
            f"text projection does not fit {text_dim} -> {dim} ({' '.join(str(error).split())}).",
            path=weights_path,
            fix="re-export the bundle.",
        ) from None
    if tower.dim != text_dim:
        raise ConfigError(
            f"the installed text model gives {tower.dim} values; the bundle expects {text_dim}.",
            path=description_path,
            fix=f"install the {TEXT_PACKAGE} version the bundle was trained with.",
        )
    digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()[:16]
    tower.to(device)
    return TextSide(tower, projection.eval(), temperature, root, digest)


def save_closp_bundles(
    folder: str | os.PathLike[str],
    model: ClospModel,
    normalization: dict[str, tuple[list[float], list[float]]],
    *,
    gsd: dict[str, float | None] | None = None,
    patch_size: int,
) -> dict[str, Path]:
    """One image-text bundle per modality of a CLOSP model, all with the same text side.

    ``<folder>/<modality>/`` is an embedding bundle of that modality's tower with
    the shared text side beside it: ``eoforge embed`` and ``eoforge search`` work on
    each, and the vectors of every modality lie in one joint space, whose id
    (``joint_space`` in each ``text.json``) lets an index of one modality's vectors
    be searched with another's bundle.

    Args:
        folder: Parent folder of the bundles.
        model: The trained CLOSP model.
        normalization: Per modality, per-band ``(mean, std)`` in physical units.
        gsd: Per modality, the training pixel size in metres (None: unknown).
        patch_size: Window side the towers were trained on, pixels.

    Raises:
        ConfigError: A modality without statistics.
    """
    out: dict[str, Path] = {}
    for name, tower in model.towers.items():
        assert isinstance(tower, ImageTower)
        if name not in normalization:
            raise ConfigError(
                f"no normalisation statistics for {name!r}.",
                fix="give (mean, std) for every modality.",
            )
        spec = tower.spec
        if spec is None:
            raise ConfigError(
                f"the {name!r} tower carries no spec to rebuild it from.",
                fix="build CLOSP towers with build_model(image_text_tower spec).",
            )
        bands = list(spec.in_bands)
        mean, std = normalization[name]
        bundle = Bundle(
            task="embedding",
            model=spec,
            bands=bands,
            normalization=Normalization(mean=list(mean), std=list(std)),
            gsd=None if gsd is None else gsd.get(name),
            patch_size=patch_size,
        )
        path = save_bundle(Path(folder) / name, tower.cpu(), bundle)
        write_text_side(path, model)
        out[name] = path
    _record_joint_space(list(out.values()), sorted(out))
    return out


def _record_joint_space(folders: list[Path], modalities: list[str]) -> str:
    """Write one ``joint_space`` id (the shared text side's fingerprint) into each ``text.json``.

    Indexes of one tower's vectors accept queries of the other towers and of the
    text side of the same joint space (:func:`eoforge.predict.identity.same_model`).
    """
    digest = hashlib.sha256((folders[0] / TEXT_WEIGHTS).read_bytes())
    digest.update(json.dumps(modalities).encode())
    joint = digest.hexdigest()[:16]
    for folder in folders:
        path = folder / TEXT_JSON
        description = json.loads(path.read_text(encoding="utf-8"))
        description.update(joint_space=joint, modalities=modalities)
        staging = folder / f".{TEXT_JSON}.{os.getpid()}.tmp"
        staging.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
        os.replace(staging, path)
    return joint
