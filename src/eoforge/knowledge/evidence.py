"""What a question retrieves: passages (captions, documents) and image windows, each with an id.

Evidence ids are ``"<kind>:<item id>"`` (``caption:12``, ``document:3``,
``window:40``): stable within one knowledge base, and what an answer cites.
Footprints are in WGS84 (longitude, latitude); similarity scores are cosine
similarities of the question's vector and the item's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import shapely
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Passage:
    """A caption or document the question is close to.

    Attributes:
        id: Evidence id (``caption:12``).
        kind: ``"caption"`` or ``"document"``.
        text: The sentence or paragraph.
        score: Cosine similarity to the question.
        scene: The scene it describes (None for a document).
        time: When (UTC; None when unknown).
        footprint: Where, in WGS84 (None for a document that names no place).
        facts: The map facts a caption states (class shares, counts...), or None.
        source: The file it came from.
    """

    id: str
    kind: str
    text: str
    score: float
    scene: str | None = None
    time: datetime | None = None
    footprint: BaseGeometry | None = None
    facts: Mapping[str, object] | None = None
    source: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (footprint as GeoJSON geometry)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "score": round(self.score, 6),
            "scene": self.scene,
            "time": None if self.time is None else self.time.isoformat(),
            "footprint": _geojson(self.footprint),
            "facts": None if self.facts is None else dict(self.facts),
            "source": self.source,
        }


@dataclass(frozen=True)
class Window:
    """An image window of the knowledge base.

    Attributes:
        id: Evidence id (``window:40``).
        score: Cosine similarity of the question and the window's vector (joint
            space), or of the passage that led to it.
        found_by: ``"image-text similarity"``, or ``"overlaps caption:12"``.
        scene: The scene.
        row: Top-left pixel row of the window in the scene.
        col: Top-left pixel column.
        time: When the scene was taken (UTC; None when unknown).
        footprint: Where, in WGS84.
        captions: Evidence ids and texts of the captions over this window.
        facts: The map facts of the caption that covers most of the window, or None.
        source: The embedding table it came from.
    """

    id: str
    score: float
    found_by: str
    scene: str
    row: int | None = None
    col: int | None = None
    time: datetime | None = None
    footprint: BaseGeometry | None = None
    captions: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, object] | None = None
    source: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (footprint as GeoJSON geometry)."""
        return {
            "id": self.id,
            "score": round(self.score, 6),
            "found_by": self.found_by,
            "scene": self.scene,
            "row": self.row,
            "col": self.col,
            "time": None if self.time is None else self.time.isoformat(),
            "footprint": _geojson(self.footprint),
            "captions": dict(self.captions),
            "facts": None if self.facts is None else dict(self.facts),
            "source": self.source,
        }


@dataclass(frozen=True)
class Evidence:
    """Everything retrieved for one question, best first.

    Attributes:
        question: The question as asked.
        passages: Captions and documents, by decreasing similarity.
        windows: Image windows, by decreasing score.
        filters: The bounding box and time range applied (JSON-ready).
    """

    question: str
    passages: tuple[Passage, ...] = ()
    windows: tuple[Window, ...] = ()
    filters: Mapping[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.passages) + len(self.windows)

    def ids(self) -> list[str]:
        """Every evidence id: passages first, then windows."""
        return [p.id for p in self.passages] + [w.id for w in self.windows]

    def get(self, evidence_id: str) -> Passage | Window:
        """The passage or window with this id.

        Raises:
            KeyError: No evidence has this id.
        """
        for passage in self.passages:
            if passage.id == evidence_id:
                return passage
        for window in self.windows:
            if window.id == evidence_id:
                return window
        raise KeyError(evidence_id)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "question": self.question,
            "filters": dict(self.filters),
            "passages": [p.to_dict() for p in self.passages],
            "windows": [w.to_dict() for w in self.windows],
        }


def _geojson(geometry: BaseGeometry | None) -> object:
    if geometry is None or geometry.is_empty:
        return None
    return shapely.geometry.mapping(geometry)
