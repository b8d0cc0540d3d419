"""From a question to evidence: the passages and windows of a knowledge base closest to it.

The question is embedded by the knowledge base's own text model (another is
refused) and searched exactly (cosine) among the text items that pass the
filters. Windows come from the image index when the knowledge base is one
joint image-text space; otherwise they are the windows under the retrieved
captions (overlapping by at least :data:`MIN_OVERLAP` of the smaller footprint,
whatever the scene names: a caption table names the labels' scene, an
embedding table the image's), scored by the caption that led to them. Each
window carries the captions over it and their map facts, so the evidence says
what is there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faiss
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from eoforge.errors import ConfigError
from eoforge.knowledge.evidence import Evidence, Passage, Window
from eoforge.knowledge.filters import Filters
from eoforge.knowledge.items import facts_of
from eoforge.knowledge.store import KnowledgeBase
from eoforge.text import TextEmbedder, check_texts

MIN_OVERLAP = 0.5
"""Share of the smaller footprint that a caption and a window must share to be linked."""


class Retriever:
    """Retrieves evidence from a knowledge base with its own text model.

    Args:
        knowledge: The knowledge base.
        embedder: The text model that made its text vectors.

    Raises:
        ConfigError: ``embedder`` is not the knowledge base's text model.
    """

    def __init__(self, knowledge: KnowledgeBase, embedder: TextEmbedder) -> None:
        knowledge.check_embedder(embedder)
        self.knowledge = knowledge
        self.embedder = embedder
        items = knowledge.items
        self._ids = {modality: _rows_by_vector(items, modality) for modality in knowledge.indexes}
        self._windows = items[items["kind"] == "window"]
        self._captions = items[items["kind"] == "caption"]

    def retrieve(self, question: str, k: int = 5, filters: Filters | None = None) -> Evidence:
        """The ``k`` passages and up to ``k`` windows closest to ``question``.

        Args:
            question: A sentence; empty or whitespace-only is an error.
            k: Passages (and windows) to return, >= 1.
            filters: Where and when the evidence may come from.

        Raises:
            ConfigError: The question is empty or ``k`` < 1.
        """
        check_texts([question], "question")
        if k < 1:
            raise ConfigError(f"k is {k}.", fix="ask for at least one piece of evidence (k >= 1).")
        chosen = filters or Filters()
        allowed = chosen.mask(self.knowledge.items)
        query = self.embedder.encode([question]).astype(np.float32)
        text_allowed = allowed & (self.knowledge.items["modality"] == "text").to_numpy()
        passages = [self._passage(i, s) for i, s in self._search("text", query, k, text_allowed)]
        if self.knowledge.joint:
            window_allowed = allowed & (self.knowledge.items["kind"] == "window").to_numpy()
            hits = self._search("image", query, k, window_allowed)
            windows = [self._window(i, s, "image-text similarity") for i, s in hits]
        else:
            windows = self._under(passages, k, allowed)
        return Evidence(question, tuple(passages), tuple(windows), chosen.describe())

    # -- search ----------------------------------------------------------------

    def _search(
        self, modality: str, query: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.bool_]
    ) -> list[tuple[int, float]]:
        """``(item id, score)`` of the best ``k`` allowed items of one modality."""
        index = self.knowledge.indexes.get(modality)
        if index is None or not allowed.any():
            return []
        by_vector = self._ids[modality]
        rows = self.knowledge.items["vector"].to_numpy()[allowed]
        wanted = min(k, len(rows))
        params: Any = None
        if len(rows) < index.ntotal:
            # only the allowed rows are scanned (faiss's stubs do not know the keyword)
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows.astype(np.int64)))  # type: ignore[call-arg]
        norm = np.linalg.norm(query, axis=1, keepdims=True)
        unit = np.ascontiguousarray(query / np.where(norm > 0, norm, 1.0), dtype=np.float32)
        scores, found = index.search(unit, wanted, params=params)
        return [
            (int(by_vector[v]), float(s))
            for v, s in zip(found[0], scores[0], strict=True)
            if v >= 0
        ]

    def _under(
        self, passages: list[Passage], k: int, allowed: npt.NDArray[np.bool_]
    ) -> list[Window]:
        """Windows under the retrieved captions, in the captions' order, at most ``k``."""
        windows: list[Window] = []
        seen: set[int] = set()
        if self._windows.empty:
            return windows
        for passage in passages:
            if passage.footprint is None:
                continue
            for item, _share in _overlapping(self._windows, passage.footprint):
                if allowed[item] and item not in seen:
                    seen.add(item)
                    windows.append(self._window(item, passage.score, f"overlaps {passage.id}"))
                if len(windows) == k:
                    return windows
        return windows

    # -- evidence ----------------------------------------------------------------

    def _passage(self, item: int, score: float) -> Passage:
        row = self.knowledge.items.loc[item]
        return Passage(
            id=f"{row['kind']}:{item}",
            kind=str(row["kind"]),
            text=str(row["text"]),
            score=score,
            scene=_text_or_none(row["scene"]),
            time=_time(row["time"]),
            footprint=_geometry(row.geometry),
            facts=facts_of(row["facts"]),
            source=str(row["source"]),
        )

    def _window(self, item: int, score: float, found_by: str) -> Window:
        row = self.knowledge.items.loc[item]
        footprint = _geometry(row.geometry)
        captions: dict[str, str] = {}
        facts = None
        if footprint is not None and not self._captions.empty:
            for caption, _share in _overlapping(self._captions, footprint):
                captions[f"caption:{caption}"] = str(self._captions.loc[caption, "text"])
                if facts is None:
                    facts = facts_of(self._captions.loc[caption, "facts"])
        return Window(
            id=f"window:{item}",
            score=score,
            found_by=found_by,
            scene=str(row["scene"]),
            row=_int_or_none(row["row"]),
            col=_int_or_none(row["col"]),
            time=_time(row["time"]),
            footprint=footprint,
            captions=captions,
            facts=facts,
            source=str(row["source"]),
        )


def _rows_by_vector(items: gpd.GeoDataFrame, modality: str) -> npt.NDArray[np.int64]:
    """Item id of each vector row of one modality's index."""
    part = items[items["modality"] == modality]
    out = np.zeros(len(part), np.int64)
    out[part["vector"].to_numpy()] = part.index.to_numpy()
    return out


def _overlapping(frame: gpd.GeoDataFrame, footprint: Any) -> list[tuple[int, float]]:
    """Items that overlap ``footprint`` by at least :data:`MIN_OVERLAP`, most first.

    The overlap is the intersection's share of the smaller of the two footprints:
    a caption of a 64-px window inside a 224-px embedding window describes it,
    and so does a caption of a larger window around it.

    Returns:
        ``(item id, share)`` pairs.
    """
    # the frame is one of the retriever's own subsets: its spatial index is built once
    near = frame.iloc[frame.sindex.query(footprint, predicate="intersects")]
    if near.empty:
        return []
    # areas in square degrees: only their ratios are used, over one small window
    shapes = near.geometry.to_numpy()
    smaller = np.minimum(shapely.area(shapes), footprint.area)
    inter = shapely.area(shapely.intersection(shapes, footprint))
    shares = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    order = np.argsort(-shares, kind="stable")
    return [(int(near.index[i]), float(shares[i])) for i in order if shares[i] >= MIN_OVERLAP]


def _geometry(value: Any) -> Any:
    return None if value is None or getattr(value, "is_empty", True) else value


def _time(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    stamp: datetime = pd.Timestamp(value).to_pydatetime()
    return stamp


def _text_or_none(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
