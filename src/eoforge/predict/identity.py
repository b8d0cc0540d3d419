"""Which model made an output: a fingerprint of a bundle's weights, bands and normalisation.

Vectors of two different models live in different spaces: comparing them
gives meaningless similarities. Embedding tables and the indexes built over
them carry a :class:`ModelIdentity`, and whatever combines them checks that
the fingerprints agree. The fingerprint hashes the weights file's bytes, the
band names in channel order and the normalisation statistics (and, for
ensembles and test-time augmentation, every member and the flag), so a
retrained, re-normalised or re-banded model gets another one while a copied
or moved bundle folder keeps it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eoforge.errors import ConfigError, MissingFileError
from eoforge.models.bundle import WEIGHTS_FILE, read_bundle_json


@dataclass(frozen=True)
class ModelIdentity:
    """The model behind a table of vectors.

    Attributes:
        fingerprint: 16 hex digits of SHA-256 over weights, bands and normalisation.
        bundles: The bundle folders (as given), for messages.
        bands: Band names the model read, in channel order.
    """

    fingerprint: str
    bundles: tuple[str, ...]
    bands: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (stored in file metadata)."""
        return {
            "fingerprint": self.fingerprint,
            "bundles": list(self.bundles),
            "bands": list(self.bands),
        }

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
        return cls(fingerprint, tuple(str(b) for b in bundles), tuple(str(b) for b in bands))

    def describe(self) -> str:
        """``"bundle a (fingerprint 0123abcd...)"`` for messages."""
        return f"{' + '.join(self.bundles)} (fingerprint {self.fingerprint})"


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
    return ModelIdentity(digest.hexdigest()[:16], tuple(str(b) for b in bundles), tuple(bands))


def same_model(
    expected: ModelIdentity | None, given: ModelIdentity | None, *, what: str, fix: str
) -> None:
    """Refuse to combine vectors of two models.

    Args:
        expected: The identity already there (an index, the first table).
        given: The identity of the vectors to combine with it.
        what: What is being combined, for the message (e.g. ``"the index at X"``).
        fix: What to do about it.

    Raises:
        ConfigError: The fingerprints differ (a missing identity differs from any other).
    """
    if (expected.fingerprint if expected else None) == (given.fingerprint if given else None):
        return
    first = expected.describe() if expected else "an unknown model"
    second = given.describe() if given else "an unknown model"
    raise ConfigError(
        f"{what} holds vectors of {first}, but these vectors come from {second}; "
        "vectors of different models cannot be compared.",
        fix=fix,
    )


def _weights_digest(path: Path) -> bytes:
    if not path.is_file():
        raise MissingFileError(
            "model bundle weights not found.", path=path, fix="re-export the bundle."
        )
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()
