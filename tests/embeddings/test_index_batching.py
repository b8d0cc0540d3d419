"""Batched window search: one matrix product for all queries gives the answers that one
FAISS search per query gave, exact against brute force, with stable ties and filters."""

from __future__ import annotations

import faiss
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from threadpoolctl import ThreadpoolController

from eoforge.embeddings import index as index_module
from eoforge.embeddings.index import RESULT_COLUMNS, EmbeddingIndex, _blas_threads, normalized
from eoforge.errors import ConfigError


def lattice(count: int, side: int = 20, step: float = 8.0) -> gpd.GeoDataFrame:
    """``count`` 16-m windows ``step`` m apart, ``side`` per row (overlapping when step < 16)."""
    rows, cols = np.divmod(np.arange(count), side)
    footprints = shapely.box(cols * step, -rows * step - 16, cols * step + 16, -rows * step)
    return gpd.GeoDataFrame(
        {
            "scene": ["s"] * count,
            "row": (rows * 8).astype(np.int32),
            "col": (cols * 8).astype(np.int32),
            "height": np.full(count, 16, np.int32),
            "width": np.full(count, 16, np.int32),
            "valid": np.ones(count, np.float32),
            "time": pd.to_datetime(["2024-06-01"] * count, utc=True),
        },
        geometry=footprints,
        crs="EPSG:32631",
    )


def make_index(vectors: np.ndarray) -> EmbeddingIndex:
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(normalized(vectors))
    return EmbeddingIndex(flat, lattice(len(vectors)), None, [])


def brute(index: EmbeddingIndex, queries: np.ndarray, k: int) -> np.ndarray:
    """Top-k ids in float64, ``[Q, k]``."""
    scores = normalized(queries).astype(np.float64) @ index._matrix().astype(np.float64).T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


@pytest.fixture(scope="module")
def fixed() -> tuple[EmbeddingIndex, np.ndarray]:
    rng = np.random.default_rng(42)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    return make_index(vectors), rng.normal(size=(3, 16)).astype(np.float32)


def test_a_fixed_case_answers_as_one_faiss_search_per_query_did(
    fixed: tuple[EmbeddingIndex, np.ndarray],
) -> None:
    index, queries = fixed
    found = index.search(queries, 6, check_model=False, exclude=[[1, 2], [], [7]])
    assert list(found.columns) == RESULT_COLUMNS
    assert found.dtypes[["query", "rank", "id"]].tolist() == [np.dtype(np.int64)] * 3
    assert found.dtypes["score"] == np.float64 and found.crs == index.windows.crs
    # recorded from the index before batching (FAISS IndexFlatIP, one search per query)
    assert found.id.to_numpy().reshape(3, 6).tolist() == [
        [221, 5, 268, 384, 322, 189],
        [145, 297, 226, 340, 216, 319],
        [235, 263, 83, 11, 58, 144],
    ]
    np.testing.assert_allclose(
        found.score.to_numpy().reshape(3, 6),
        [
            [0.782731, 0.656486, 0.649592, 0.633342, 0.621952, 0.620361],
            [0.60868, 0.595619, 0.58987, 0.566036, 0.548574, 0.547281],
            [0.593311, 0.58068, 0.570086, 0.565097, 0.559442, 0.557204],
        ],
        atol=2e-6,
    )
    assert found["rank"].tolist() == list(range(6)) * 3
    assert found["query"].tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert index.like(17, 5, exclude_overlapping=True).id.tolist() == [309, 193, 355, 47, 21]
    # the windows come with their rows: footprints and columns of the ids found
    assert found.geometry.geom_equals(
        index.windows.geometry.iloc[found.id].reset_index(drop=True)
    ).all()
    assert (found.col.to_numpy() == index.windows.col.to_numpy()[found.id]).all()


def test_batches_match_brute_force_and_single_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(12, 32)).astype(np.float32)
    vectors = centres[rng.integers(0, 12, 3000)] + rng.normal(0, 0.5, (3000, 32)).astype(np.float32)
    index = make_index(vectors)
    queries = centres[rng.integers(0, 12, 40)] + rng.normal(0, 0.5, (40, 32)).astype(np.float32)
    batch = index.search(queries, 10, check_model=False)
    ids = batch.id.to_numpy().reshape(40, 10)
    assert (ids == brute(index, queries, 10)).all()
    for q in (0, 17, 39):
        alone = index.search(queries[q], 10, check_model=False)
        assert alone.id.tolist() == ids[q].tolist()
        np.testing.assert_array_equal(alone.score, batch.score.to_numpy()[q * 10 : q * 10 + 10])
    # scored in blocks of a few queries: the same answers
    monkeypatch.setattr(index_module, "SCORE_BLOCK", 3 * 3000)
    assert index.search(queries, 10, check_model=False).id.tolist() == batch.id.tolist()
    # more than there are: every window once, best first
    everything = index.search(queries[:2], 5000, check_model=False)
    assert len(everything) == 6000 and (everything.groupby("query").id.nunique() == 3000).all()
    assert (np.diff(everything.score.to_numpy()[:3000]) <= 0).all()


def test_equal_vectors_tie_by_id_whatever_is_left_out() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(5, 8)).astype(np.float32)
    vectors = base[rng.integers(0, 5, 300)]  # about 60 copies of each
    index = make_index(vectors)
    copies = np.flatnonzero((vectors == base[2]).all(axis=1))
    found = index.search(base[2], 10, check_model=False)
    assert found.id.tolist() == copies[:10].tolist()  # lowest ids first
    assert found.score.nunique() == 1 and found.score.iloc[0] == pytest.approx(1.0, abs=1e-6)
    left_out = [int(copies[0]), int(copies[3])]
    apart = index.search(base[2], 10, check_model=False, exclude=[left_out])
    assert apart.id.tolist() == [c for c in copies if c not in left_out][:10]
    batch = index.search(np.stack([base[2], base[4]]), 70, check_model=False)
    first = batch[batch["query"] == 0]
    assert first.id.tolist()[: len(copies)] == copies.tolist()  # a whole tie group, in order


def test_keep_limits_results_to_the_windows_marked(
    fixed: tuple[EmbeddingIndex, np.ndarray],
) -> None:
    index, queries = fixed
    keep = np.zeros(len(index), bool)
    keep[::7] = True
    found = index.search(queries, 5, check_model=False, keep=keep)
    kept = np.flatnonzero(keep)
    expected = kept[brute(make_index(index._matrix()[kept]), queries, 5)]
    assert (found.id.to_numpy().reshape(3, 5) == expected).all()
    few = np.zeros(len(index), bool)
    few[[4, 9]] = True
    short = index.search(queries, 5, check_model=False, keep=few, exclude=[[4], [], []])
    assert short.groupby("query").size().tolist() == [1, 2, 2] and set(short.id) <= {4, 9}
    assert short["rank"].tolist() == [0, 0, 1, 0, 1]
    none = index.search(queries, 5, check_model=False, keep=np.zeros(len(index), bool))
    assert none.empty and list(none.columns) == RESULT_COLUMNS and none.crs == index.windows.crs


def test_bad_requests_are_refused(fixed: tuple[EmbeddingIndex, np.ndarray]) -> None:
    index, queries = fixed
    with pytest.raises(ConfigError, match="3 queries"):
        index.search(queries, 5, check_model=False, exclude=[[1]])
    with pytest.raises(ConfigError, match="outside the index"):
        index.search(queries[0], 5, check_model=False, exclude=[[400]])
    with pytest.raises(ConfigError, match="NaN"):
        index.search(np.full(16, np.nan), 5, check_model=False)
    with pytest.raises(ConfigError, match="one boolean per window"):
        index.search(queries, 5, check_model=False, keep=np.ones(10, bool))
    with pytest.raises(ConfigError, match="k is 0"):
        index.search(queries, 0, check_model=False)


def test_few_queries_run_on_one_blas_thread_and_the_setting_comes_back() -> None:
    def blas() -> list[int]:
        return [
            lib["num_threads"] for lib in ThreadpoolController().info() if lib["user_api"] == "blas"
        ]

    before = blas()
    with _blas_threads(1):
        assert set(blas()) == {1}
    assert blas() == before
    with _blas_threads(None):
        assert blas() == before
