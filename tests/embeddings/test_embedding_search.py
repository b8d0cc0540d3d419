"""Similarity search over real window embeddings: windows of the same content come first,
the index survives saving, points find their window, and other bundles' vectors are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.embeddings.windows import PATTERN, embedding_bundle, write_scene

from eoforge.embeddings import EmbeddingIndex, build_index, embed, open_index, read_tables
from eoforge.errors import ConfigError


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(bundle, table) of the synthetic scene, windows side by side."""
    root = tmp_path_factory.mktemp("search")
    bundle = embedding_bundle(root / "bundle")
    result = embed(bundle, write_scene(root / "in" / "scene.tif"), root / "out")
    return bundle, result[0].paths["embeddings"]


def test_a_window_finds_the_windows_of_its_content_first(embedded: tuple[Path, Path]) -> None:
    _, table = embedded
    index = open_index(table)
    materials = PATTERN.reshape(-1)  # row ids are row-major windows
    assert len(index) == materials.size == 24
    for row in range(len(index)):
        found = index.like(row, k=7)  # each material has 8 windows: 7 others
        assert row not in set(found.id)
        assert list(found["rank"]) == list(range(7))
        assert np.all(np.diff(found.score) <= 1e-6)
        precision = float(np.mean(materials[found.id] == materials[row]))
        assert precision == 1.0, f"window {row}: precision@7 {precision}"
        eighth = index.like(row, k=8).iloc[7]
        assert materials[eighth.id] != materials[row] and eighth.score < found.score.min()


def test_a_saved_index_answers_like_the_tables(embedded: tuple[Path, Path], tmp_path: Path) -> None:
    _, table = embedded
    built = build_index(table, tmp_path / "index")
    loaded = EmbeddingIndex.load(tmp_path / "index")
    assert loaded.model == built.model and loaded.tables == [str(table)]
    a, b = built.like(5, k=10), loaded.like(5, k=10)
    assert list(a.id) == list(b.id)
    np.testing.assert_allclose(a.score, b.score, rtol=1e-6)
    assert list(b.columns) == [
        "query", "rank", "id", "score", "scene", "row", "col", "height", "width", "valid",
        "time", "geometry",
    ]  # fmt: skip
    # a point 5 m inside window (row 1, col 2) of 160-m windows picks that window
    assert loaded.at(600000 + 2 * 160 + 5, 5700000 - 160 - 5) == 1 * 6 + 2
    assert loaded.at(4.0, 51.0, crs="EPSG:4326") in range(24)  # far away: the nearest one
    vector = read_tables(table).vectors[9]
    same = loaded.search(vector, k=1, model=loaded.model)
    assert same.id.iloc[0] == 9 and same.score.iloc[0] == pytest.approx(1.0, abs=1e-5)


def test_vectors_of_another_bundle_are_refused(embedded: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, table = embedded
    other = embedding_bundle(tmp_path / "retrained", seed=1)
    other_table = embed(other, write_scene(tmp_path / "scene.tif"), tmp_path / "out")[0].paths[
        "embeddings"
    ]
    index = open_index(table)
    with pytest.raises(ConfigError) as error:
        index.like_row(read_tables(other_table), 0)
    message = str(error.value)
    assert str(bundle) in message and str(other) in message and "rebuild the index" in message
    with pytest.raises(ConfigError, match="same bundle"):
        read_tables([table, other_table])
    with pytest.raises(ConfigError, match="not in the index"):
        index.like(24)


def test_overlapping_windows_point_to_the_nearest_centre_and_can_be_left_out(
    embedded: tuple[Path, Path], tmp_path: Path
) -> None:
    bundle, _ = embedded
    scene = write_scene(tmp_path / "scene.tif")
    table = embed(bundle, scene, tmp_path / "out", stride=8)[0].paths["embeddings"]
    index = open_index(table)
    assert len(index) == 7 * 11
    # 4 windows contain the pixel at (row 20, col 36); the one starting at (16, 32) has its
    # centre (24, 40) nearest, 8-px windows apart: rows 0..6, cols 0..10
    row = index.at(600000 + 36 * 10 + 5, 5700000 - 20 * 10 - 5)
    assert (index.windows.row[row], index.windows.col[row]) == (16, 32)
    plain = index.like(row, k=5)
    apart = index.like(row, k=5, exclude_overlapping=True)
    footprint = index.windows.geometry[row]
    assert (plain.geometry.intersection(footprint).area > 0).any()  # its own neighbours
    assert (apart.geometry.intersection(footprint).area == 0).all()
    assert list(apart["rank"]) == list(range(5)) and row not in set(apart.id)
