"""bench_text's pieces: its tables are what eoforge embed writes, its brute force is exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from benchmarks.bench_text import (
    GSD,
    MODEL,
    WINDOW_PX,
    clustered,
    exact_float64,
    main,
    numpy_load,
    numpy_top,
    queries_near,
    recall,
    write_table,
    write_tables,
)

from eoforge.embeddings import build_index, read_tables


def test_tables_read_back_as_embedding_tables_with_their_lattice(tmp_path: Path) -> None:
    vectors, _ = clustered(10, 8, 3, seed=0)
    path = write_table(tmp_path / "a_embeddings.parquet", vectors, "a", (500_000.0, 5_800_000.0))
    table = read_tables(path)
    np.testing.assert_array_equal(table.vectors, vectors)
    assert table.model == MODEL
    # 10 windows on a lattice 4 windows wide: window 6 is row 1, column 2
    window = table.windows.iloc[6]
    assert (window.row, window.col, window.height) == (WINDOW_PX, 2 * WINDOW_PX, WINDOW_PX)
    size = WINDOW_PX * GSD
    assert window.geometry.bounds == pytest.approx(
        (500_000 + 2 * size, 5_800_000 - 2 * size, 500_000 + 3 * size, 5_800_000 - size)
    )
    lattice = table.lattices[0]
    assert (lattice.window, lattice.stride, lattice.shape) == (64, 64, (3 * 64, 4 * 64))
    assert str(table.windows.time.iloc[0]) == "2024-06-01 00:00:00+00:00"


def test_brute_force_is_exact_and_agrees_with_the_index(tmp_path: Path) -> None:
    vectors, centres = clustered(500, 16, 5, seed=0)
    paths = write_tables(tmp_path, vectors, 3)
    matrix = numpy_load(paths)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, rtol=1e-5)
    queries = queries_near(centres, 20, seed=1)
    top = numpy_top(matrix, queries, 10)
    np.testing.assert_array_equal(top, exact_float64(matrix, queries, 10))
    index = build_index(paths)
    found = index.search(queries, 10, model=MODEL)
    assert list(found.id) == list(top.reshape(-1))


def test_recall_counts_shared_neighbours() -> None:
    found = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    truth = np.array([[4, 3, 2, 1], [5, 6, 9, 10]])
    assert recall(found, truth) == pytest.approx((1.0 + 0.5) / 2)


def test_a_tiny_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "text.json"
    argv = ["--windows", "400", "--dim", "32", "--queries", "64", "--rounds", "1"]
    result = main([*argv, "--data", str(tmp_path / "data"), "--out", str(out)])
    assert json.loads(out.read_text()) == result
    assert result["build"]["windows"] == 400
    assert set(result["build"]["windows_per_s"]) == {"eoforge", "eoforge_with_save", "numpy"}
    assert all(v > 0 for v in result["build"]["windows_per_s"].values())
    single = result["queries"]["single"]
    assert set(single) == {"eoforge_search", "faiss", "numpy", "faiss_1_thread"}
    assert single["numpy"]["calls"] == 64 and single["numpy"]["p95_ms"] >= single["numpy"]["p50_ms"]
    assert result["queries"]["batch_64"]["faiss"]["calls"] == 1
    assert set(result["queries"]["batch_64"]) == {
        "eoforge_search",
        "faiss",
        "numpy",
        "faiss_1_thread",
    }
    assert result["recall_at_10"]["index_vs_numpy"] == 1.0
    assert result["goals_met"]["recall_index_vs_exact==1.0"] is True
    assert "bare NumPy" in result["notes"]["batched_search"]
