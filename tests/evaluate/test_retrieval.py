"""Retrieval metrics against rankings worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eoforge.errors import ConfigError
from eoforge.evaluate.retrieval import cross_modal_scores, rank_metrics


def test_binary_relevance_by_hand() -> None:
    # query 0 ranks candidates 2, 0, 1, 3; relevant {0, 3}: first hit at rank 2,
    # AP = (1/2 + 2/4) / 2 = 0.5
    # query 1 ranks 1, 3, 0, 2; relevant {1}: rank 1, AP = 1
    similarity = [[0.5, 0.1, 0.9, 0.0], [0.2, 0.8, 0.1, 0.3]]
    relevance = [[1, 0, 0, 1], [0, 1, 0, 0]]
    scores = rank_metrics(similarity, relevance, ks=(1, 2))
    assert scores.recall == {1: 0.5, 2: 1.0}
    assert scores.mean_rank == 1.5 and scores.median_rank == 1.5
    assert scores.map == pytest.approx(0.75)
    dcg0 = 1 / math.log2(3) + 1 / math.log2(5)
    ideal0 = 1 + 1 / math.log2(3)
    assert scores.ndcg == pytest.approx((dcg0 / ideal0 + 1.0) / 2)
    assert scores.queries == 2 and scores.skipped == 0


def test_graded_relevance_weighs_only_ndcg() -> None:
    similarity = [[0.9, 0.8, 0.1]]
    better_first = rank_metrics(similarity, [[2, 1, 0]])
    worse_first = rank_metrics(similarity, [[1, 2, 0]])
    assert better_first.ndcg == pytest.approx(1.0)
    expected = (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))
    assert worse_first.ndcg == pytest.approx(expected)
    assert better_first.map == worse_first.map == 1.0
    assert better_first.recall[1] == worse_first.recall[1] == 1.0


def test_ties_keep_candidate_order_and_unscorable_queries_are_counted() -> None:
    scores = rank_metrics([[0.5, 0.5, 0.5], [0.1, 0.2, 0.3]], [[0, 1, 0], [0, 0, 0]])
    assert scores.mean_rank == 2.0 and scores.recall[1] == 0.0
    assert scores.queries == 1 and scores.skipped == 1
    with pytest.raises(ConfigError, match="no query has a relevant"):
        rank_metrics([[0.1, 0.2]], [[0, 0]])
    with pytest.raises(ConfigError, match="must both be"):
        rank_metrics([[0.1, 0.2]], [[0, 1, 0]])


def test_cross_modal_scores_both_directions() -> None:
    images = np.eye(3, dtype=np.float32)
    # text 0 describes image 0 best; text 1 points halfway between images 1 and 2
    texts = np.array([[1, 0.1, 0], [0, 1, 1.2]], dtype=np.float32)
    relevance = [[1, 0, 0], [0, 1, 0]]
    out = cross_modal_scores(images, texts, relevance)
    assert out["t2i/recall@1"] == 0.5 and out["t2i/mean_rank"] == 1.5
    # image 0's best text is text 0 (rank 1), image 1's is text 1 (rank 1), image 2 has none
    assert out["i2t/recall@1"] == 1.0 and out["i2t/queries"] == 2.0
    with pytest.raises(ConfigError, match="do not fit"):
        cross_modal_scores(images, texts[:, :2], relevance)
