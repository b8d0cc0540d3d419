"""What every text tower offers: sentences in, unit vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class TextEmbedder(Protocol):
    """Turns sentences into vectors of one fixed width.

    Implemented by eoforge's text towers (a frozen sentence model, or the text
    side of a trained image-text model) and by anything a user plugs in
    (a retrieval knowledge base only needs this).
    """

    @property
    def dim(self) -> int:
        """Width D of the vectors :meth:`encode` returns."""
        ...

    @property
    def name(self) -> str:
        """What made the vectors (model name or fingerprint); names that differ never mix."""
        ...

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed sentences.

        Args:
            texts: N sentences; an empty or whitespace-only sentence is an error.

        Returns:
            float32 ``[N, D]``, each row of unit length (cosine similarity is a dot product).
        """
        ...
