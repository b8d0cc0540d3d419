"""Retrieval metrics: recall@k, mean and median rank, mAP and nDCG, text->image and image->text.

Queries rank every candidate by similarity (highest first; ties keep the
candidates' order). ``relevance[q, c]`` says how relevant candidate ``c`` is
to query ``q``: 0 for irrelevant, any positive number for relevant (1 for
binary relevance; larger for "more relevant", which only nDCG weighs).

* **recall@k**: share of queries with at least one relevant candidate among
  their first ``k`` (the usual image-text retrieval R@k).
* **mean / median rank**: 1-based rank of the first relevant candidate.
* **mAP**: mean over queries of average precision (precision at the rank of
  each relevant candidate, averaged over the relevant candidates).
* **nDCG**: discounted cumulative gain ``sum (2^rel - 1) / log2(rank + 1)``
  over the whole ranking (and over the first 10), divided by that of the
  ideal ranking.

Queries without any relevant candidate cannot be scored and are left out
(``queries`` counts the scored ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from eoforge.errors import ConfigError

KS = (1, 5, 10)


@dataclass(frozen=True)
class RetrievalScores:
    """Scores of one retrieval direction.

    Attributes:
        recall: ``{k: share of queries with a relevant candidate in the top k}``.
        mean_rank: Mean 1-based rank of the first relevant candidate.
        median_rank: Median of that rank.
        map: Mean average precision (relevance > 0 counts as relevant).
        ndcg: Mean nDCG over the whole ranking (graded relevance).
        ndcg_at_10: Mean nDCG over the first 10 candidates.
        queries: Queries scored (those with at least one relevant candidate).
        skipped: Queries left out for having no relevant candidate.
    """

    recall: dict[int, float] = field(default_factory=dict)
    mean_rank: float = float("nan")
    median_rank: float = float("nan")
    map: float = float("nan")
    ndcg: float = float("nan")
    ndcg_at_10: float = float("nan")
    queries: int = 0
    skipped: int = 0

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """Flat ``{"<prefix>recall@1": ..., "<prefix>map": ...}``."""
        out = {f"{prefix}recall@{k}": v for k, v in self.recall.items()}
        out.update(
            {
                f"{prefix}mean_rank": self.mean_rank,
                f"{prefix}median_rank": self.median_rank,
                f"{prefix}map": self.map,
                f"{prefix}ndcg": self.ndcg,
                f"{prefix}ndcg@10": self.ndcg_at_10,
                f"{prefix}queries": float(self.queries),
            }
        )
        return out


def _dcg(gains: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``sum (2^g - 1) / log2(rank + 1)`` along the last axis (rank 1-based)."""
    discounts = 1.0 / np.log2(np.arange(2, gains.shape[-1] + 2, dtype=np.float64))
    total: npt.NDArray[np.float64] = ((2.0**gains - 1.0) * discounts).sum(axis=-1)
    return total


def rank_metrics(
    similarity: npt.ArrayLike, relevance: npt.ArrayLike, ks: Sequence[int] = KS
) -> RetrievalScores:
    """Score rankings of candidates for each query.

    Args:
        similarity: ``[Q, N]`` scores, higher = more similar.
        relevance: ``[Q, N]`` relevance, 0 = irrelevant, > 0 relevant (bool allowed).
        ks: The ``k`` of recall@k.

    Raises:
        ConfigError: Shapes differ, negative relevance, or no query has a relevant candidate.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    rel = np.asarray(relevance, dtype=np.float64)
    if sim.ndim != 2 or sim.shape != rel.shape:
        raise ConfigError(
            f"similarity {sim.shape} and relevance {rel.shape} must both be [queries, candidates].",
            fix="give one relevance value per query and candidate.",
        )
    if (rel < 0).any() or not np.isfinite(rel).all():
        raise ConfigError("relevance must be finite and >= 0.", fix="use 0 for irrelevant.")
    scored = (rel > 0).any(axis=1)
    if not scored.any():
        raise ConfigError(
            "no query has a relevant candidate: nothing to score.",
            fix="check that the relevance matrix matches the queries and candidates.",
        )
    sim, rel = sim[scored], rel[scored]
    order = np.argsort(-sim, axis=1, kind="stable")
    ranked = np.take_along_axis(rel, order, axis=1)  # [Q, N] relevance in ranked order
    hits = ranked > 0
    first = hits.argmax(axis=1) + 1  # 1-based rank of the first relevant
    positions = np.arange(1, ranked.shape[1] + 1, dtype=np.float64)
    precision = np.cumsum(hits, axis=1) / positions
    ap = (precision * hits).sum(axis=1) / hits.sum(axis=1)
    ideal = -np.sort(-rel, axis=1)
    top = min(10, ranked.shape[1])
    return RetrievalScores(
        recall={int(k): float(np.mean(first <= k)) for k in ks},
        mean_rank=float(first.mean()),
        median_rank=float(np.median(first)),
        map=float(ap.mean()),
        ndcg=float(np.mean(_dcg(ranked) / _dcg(ideal))),
        ndcg_at_10=float(np.mean(_dcg(ranked[:, :top]) / _dcg(ideal[:, :top]))),
        queries=int(scored.sum()),
        skipped=int((~scored).sum()),
    )


def cross_modal_scores(
    image_vectors: npt.ArrayLike,
    text_vectors: npt.ArrayLike,
    relevance: npt.ArrayLike,
    ks: Sequence[int] = KS,
) -> dict[str, float]:
    """Text->image and image->text retrieval scores of vectors in one joint space.

    Args:
        image_vectors: ``[I, D]`` image vectors (any length; cosine similarity is used).
        text_vectors: ``[T, D]`` text vectors.
        relevance: ``[T, I]``: how relevant image ``i`` is to text ``t``.
        ks: The ``k`` of recall@k.

    Returns:
        ``{"t2i/recall@1": ..., "i2t/map": ...}`` (see :meth:`RetrievalScores.as_dict`).

    Raises:
        ConfigError: Widths or shapes do not agree.
    """
    images, texts = _unit(image_vectors), _unit(text_vectors)
    rel = np.asarray(relevance, dtype=np.float64)
    if images.shape[1] != texts.shape[1] or rel.shape != (len(texts), len(images)):
        raise ConfigError(
            f"{len(images)} image vectors of {images.shape[1]} values, {len(texts)} text vectors "
            f"of {texts.shape[1]} values and relevance {rel.shape} do not fit.",
            fix="give vectors of one joint space and relevance [texts, images].",
        )
    similarity = texts @ images.T
    out = rank_metrics(similarity, rel, ks).as_dict("t2i/")
    out.update(rank_metrics(similarity.T, rel.T, ks).as_dict("i2t/"))
    return out


def _unit(vectors: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.array(vectors, dtype=np.float64, ndmin=2)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    unit: npt.NDArray[np.float64] = array / np.where(norms > 0, norms, 1.0)
    return unit
