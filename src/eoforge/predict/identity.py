"""Which model made an output: a fingerprint of a bundle's weights, bands and normalisation.

Vectors of two different models live in different spaces: comparing them
gives meaningless similarities. Embedding tables and the indexes built over
them carry a :class:`ModelIdentity`, and whatever combines them checks that
the fingerprints agree. The fingerprint hashes the weights file's bytes, the
band names in channel order and the normalisation statistics (and, for
ensembles and test-time augmentation, every member and the flag), so a
retrained, re-normalised or re-banded model gets another one while a copied
or moved bundle folder keeps it.

Towers trained into one shared joint space (CLOSP: an optical and a SAR
tower aligned through one text side) make vectors of different models that
are comparable: their bundles record a ``joint_space`` id (in ``text.json``,
the fingerprint of the shared text side), and searches
(``same_model(..., joint=True)``) accept vectors of the same joint space.
Everything else (merging tables, location and knowledge bundles) still
needs the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.io.handles import FileStamp, file_stamp
from eoforge.models.bundle import WEIGHTS_FILE, read_bundle_json

JOINT_SPACE_FILE = "text.json"
"""The file of an image-text bundle that records its joint space (its text side's description)."""


@dataclass(frozen=True)
class ModelIdentity:
    """The model behind a table of vectors.

    Attributes:
        fingerprint: 16 hex digits of SHA-256 over weights, bands and normalisation.
        bundles: The bundle folders (as given), for messages.
        bands: Band names the model read, in channel order.
        joint_space: The joint space the model's vectors lie in, shared with the
            other towers trained into it (None: the model's own space only).
    """

    fingerprint: str
    bundles: tuple[str, ...]
    bands: tuple[str, ...]
    joint_space: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (stored in file metadata; ``joint_space`` only when set)."""
        out: dict[str, object] = {
            "fingerprint": self.fingerprint,
            "bundles": list(self.bundles),
            "bands": list(self.bands),
        }
        if self.joint_space is not None:
            out["joint_space"] = self.joint_space
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> ModelIdentity:
        """Read :meth:`to_dict`'s form back.

        Raises:
            ValueError: A key is missing or of the wrong type.
        """
        fingerprint, bundles, bands = raw.get("fingerprint"), raw.get("bundles"), raw.get("bands")
        if not (
            isinstance(fingerprint, str) and isinstance(bundles, list) and isinstance(bands, list)
        ):
            raise ValueError(f"not a model identity: {dict(raw)}")
        joint = raw.get("joint_space")
        if joint is not None and not isinstance(joint, str):
            raise ValueError(f"not a model identity: {dict(raw)}")
        return cls(fingerprint, tuple(str(b) for b in bundles), tuple(str(b) for b in bands), joint)

    def describe(self) -> str:
        """``"bundle a (fingerprint 0123abcd..., joint space 4567...)"`` for messages."""
        joint = "" if self.joint_space is None else f", joint space {self.joint_space}"
        return f"{' + '.join(self.bundles)} (fingerprint {self.fingerprint}{joint})"


def bundle_identity(bundles: Sequence[str | Path], tta: bool = False) -> ModelIdentity:
    """The identity of bundle folders used together (one, or an ensemble).

    Args:
        bundles: Bundle folders, in the order the model averages them.
        tta: Whether outputs are averaged over rotations and flips.

    Raises:
        MissingFileError: A bundle's description or weights are missing.
    """
    digest = hashlib.sha256()
    bands: list[str] = []
    for folder in bundles:
        info = read_bundle_json(folder)
        digest.update(_weights_digest(Path(folder) / WEIGHTS_FILE))
        described = {"bands": info.bands, "normalization": info.normalization.model_dump()}
        digest.update(json.dumps(described, sort_keys=True).encode())
        bands += [b for b in info.bands if b not in bands]
    digest.update(b"tta" if tta else b"")
    # an ensemble or test-time augmentation averages vectors: only one plain tower keeps its space
    joint = joint_space_of(bundles[0]) if len(bundles) == 1 and not tta else None
    return ModelIdentity(
        digest.hexdigest()[:16], tuple(str(b) for b in bundles), tuple(bands), joint
    )


def joint_space_of(folder: str | Path) -> str | None:
    """The ``joint_space`` id a bundle's ``text.json`` records (None: none recorded).

    Raises:
        UnreadableFileError: ``text.json`` is not JSON, or the id is not a string.
    """
    path = Path(folder) / JOINT_SPACE_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise UnreadableFileError(
            f"corrupt text side ({error}).", path=path, fix="re-export the bundle."
        ) from None
    value = raw.get("joint_space") if isinstance(raw, dict) else None
    if value is not None and not isinstance(value, str):
        raise UnreadableFileError(
            f"joint_space must be a string, got {value!r}.", path=path, fix="re-export the bundle."
        )
    return value


def same_model(
    expected: ModelIdentity | None,
    given: ModelIdentity | None,
    *,
    what: str,
    fix: str,
    joint: bool = False,
) -> None:
    """Refuse to combine vectors of two models.

    Args:
        expected: The identity already there (an index, the first table).
        given: The identity of the vectors to combine with it.
        what: What is being combined, for the message (e.g. ``"the index at X"``).
        fix: What to do about it.
        joint: Also accept two models of one recorded joint space (searching an
            index of one CLOSP tower's vectors with another tower or the shared text side).

    Raises:
        ConfigError: The fingerprints differ (a missing identity differs from any other)
            and, under ``joint``, so do the joint spaces (or one is not recorded).
    """
    if (expected.fingerprint if expected else None) == (given.fingerprint if given else None):
        return
    if (
        joint
        and expected is not None
        and given is not None
        and expected.joint_space is not None
        and expected.joint_space == given.joint_space
    ):
        return
    first = expected.describe() if expected else "an unknown model"
    second = given.describe() if given else "an unknown model"
    raise ConfigError(
        f"{what} holds vectors of {first}, but these vectors come from {second}; "
        "vectors of different models cannot be compared.",
        fix=fix,
    )


def _weights_digest(path: Path) -> bytes:
    """SHA-256 of a weights file, kept per process while the file is unchanged."""
    if not path.is_file():
        raise MissingFileError(
            "model bundle weights not found.", path=path, fix="re-export the bundle."
        )
    key, stamp = str(path.resolve()), file_stamp(path)
    kept = _DIGESTS.get(key)
    if kept is not None and stamp is not None and kept[0] == stamp:
        return kept[1]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if stamp is not None:
        if len(_DIGESTS) >= 64:
            _DIGESTS.clear()
        _DIGESTS[key] = (stamp, digest.digest())
    return digest.digest()


_DIGESTS: dict[str, tuple[FileStamp, bytes]] = {}
"""Resolved weights path → (its stamp when hashed, digest): a rewritten file is hashed again."""
