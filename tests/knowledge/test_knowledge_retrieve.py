"""Retrieval with a real sentence tower: a question finds the captions that answer it and the
windows under them, filters keep evidence to a place and a time, and a joint image-text space
finds windows by their own vectors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from benchmarks.bench_text import write_table
from tests.embeddings.windows import CRS, PATTERN
from tests.knowledge.conftest import Sources
from tests.knowledge.sources import NAMES, SENTENCES

from eoforge.errors import ConfigError
from eoforge.knowledge import Filters, KnowledgeBase, Retriever, build_knowledge, parse_bbox
from eoforge.predict.identity import bundle_identity
from eoforge.text import SentenceTower

MATERIAL = PATTERN.reshape(-1)  # material of window id (row-major)
WATER = NAMES.index("water")


@pytest.fixture(scope="module")
def knowledge(tower: SentenceTower, sources: Sources) -> KnowledgeBase:
    return build_knowledge(
        tower,
        captions=[sources.captions],
        embeddings=[sources.embeddings],
        documents=[sources.document],
    )


def window_refs(kb: KnowledgeBase, ids: list[str]) -> list[int]:
    """Row ids (in the embedding table) of evidence windows."""
    return [int(kb.items.loc[int(i.split(":")[1]), "ref"]) for i in ids]


def test_a_question_finds_its_captions_and_the_windows_under_them(
    knowledge: KnowledgeBase, tower: SentenceTower
) -> None:
    evidence = Retriever(knowledge, tower).retrieve("Where is there open water, like a lake?", k=6)
    assert len(evidence.passages) == 6
    assert all(p.kind == "caption" and p.text in SENTENCES["water"] for p in evidence.passages)
    assert [p.score for p in evidence.passages] == sorted(
        (p.score for p in evidence.passages), reverse=True
    )
    assert all(
        p.facts == {"shares": {"water": 1.0}, "dominant": "water"} for p in evidence.passages
    )
    # each caption leads to the window it describes: all water windows, none twice
    refs = window_refs(knowledge, [w.id for w in evidence.windows])
    assert len(refs) == len(set(refs)) >= 3 and all(MATERIAL[r] == WATER for r in refs)
    for window in evidence.windows:
        assert window.found_by.startswith("overlaps caption:")
        assert set(window.captions.values()) == set(SENTENCES["water"])
        assert window.facts == {"shares": {"water": 1.0}, "dominant": "water"}
        assert window.score == evidence.get(window.found_by.split()[1]).score
    assert evidence.ids()[:6] == [p.id for p in evidence.passages]


def test_documents_answer_what_captions_do_not(
    knowledge: KnowledgeBase, tower: SentenceTower
) -> None:
    evidence = Retriever(knowledge, tower).retrieve("When is the wheat harvested?", k=2)
    first = evidence.passages[0]
    assert first.kind == "document" and first.text.startswith("Wheat and maize")
    assert first.footprint is None and first.scene is None


def test_filters_keep_evidence_to_a_place_and_a_time(
    knowledge: KnowledgeBase, tower: SentenceTower
) -> None:
    retriever = Retriever(knowledge, tower)
    # the left two columns of windows, in the scene's CRS, 1 m inside their edges
    left = Filters(bbox=(600001, 5699361, 600319, 5699999), crs=CRS)
    # 2 water windows there, so 4 water captions
    evidence = retriever.retrieve("open water", k=4, filters=left)
    allowed = {r * 6 + c for r in range(4) for c in range(2)}
    assert all(p.text in SENTENCES["water"] for p in evidence.passages)
    area = gpd.GeoSeries([shapely.box(*left.bbox)], crs=CRS).to_crs(4326).iloc[0]  # type: ignore[misc]
    assert evidence.passages and all(p.footprint.intersects(area) for p in evidence.passages)  # type: ignore[union-attr]
    refs = window_refs(knowledge, [w.id for w in evidence.windows])
    assert refs and set(refs) <= allowed and all(MATERIAL[r] == WATER for r in refs)
    assert {r for r in allowed if MATERIAL[r] == WATER} == set(refs)
    assert evidence.filters["crs"] == CRS and evidence.filters["bbox"] == list(left.bbox)  # type: ignore[misc]

    recent = Filters(start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 12, 31, tzinfo=UTC))
    evidence = retriever.retrieve("open water", k=30, filters=recent)
    assert len(evidence.passages) == 24  # the captions of window rows 0-1
    assert evidence.passages and all(
        p.time is not None and p.time.year == 2024 for p in evidence.passages
    )
    assert all(p.kind == "caption" for p in evidence.passages)  # documents have no time
    # windows of unknown time (the scene has none) never pass a time filter
    assert evidence.windows == ()

    nowhere = Filters(bbox=(0.0, 0.0, 1.0, 1.0))
    empty = retriever.retrieve("open water", k=5, filters=nowhere)
    assert len(empty) == 0


def test_bad_questions_and_filters_are_clear_errors(
    knowledge: KnowledgeBase, tower: SentenceTower
) -> None:
    retriever = Retriever(knowledge, tower)
    with pytest.raises(ConfigError, match="question 0 is empty"):
        retriever.retrieve("   ")
    with pytest.raises(ConfigError, match="k is 0"):
        retriever.retrieve("water", k=0)
    with pytest.raises(ConfigError, match="is empty"):
        Filters(bbox=(1.0, 0.0, 0.0, 1.0))
    with pytest.raises(ConfigError, match="starts"):
        Filters(start=datetime(2024, 2, 1), end=datetime(2024, 1, 1))
    with pytest.raises(ConfigError, match="not four numbers"):
        parse_bbox("1,2,3")
    assert parse_bbox(" 4.3, 50.8,4.5,50.9") == (4.3, 50.8, 4.5, 50.9)


def test_a_joint_image_text_space_finds_windows_by_their_own_vectors(
    tower: SentenceTower, sources: Sources, tmp_path: Path
) -> None:
    """The image tower of an image-text bundle is stood in for by one that maps each window to
    the sentence vector of what it holds (a perfectly trained tower): the knowledge base must
    then find the water windows from the image index, without going through captions."""
    said = {name: tower.encode([" ".join(SENTENCES[name])])[0] for name in NAMES}
    rng = np.random.default_rng(0)
    vectors = np.stack([said[NAMES[m]] for m in MATERIAL]) + rng.normal(0, 0.01, (24, 384))
    identity = bundle_identity([sources.bundle])
    table = write_table(
        tmp_path / "joint_embeddings.parquet",
        vectors.astype(np.float32),
        "joint",
        (600000.0, 5700000.0),
        model=identity,
    )
    kb = build_knowledge(
        tower, documents=[sources.document], embeddings=[table], image_text_bundle=sources.bundle
    )
    assert kb.joint and kb.text_bundle == str(sources.bundle)
    evidence = Retriever(kb, tower).retrieve("open water, a lake", k=8)
    refs = window_refs(kb, [w.id for w in evidence.windows])
    assert sorted(refs) == sorted(np.flatnonzero(MATERIAL == WATER).tolist())
    assert all(w.found_by == "image-text similarity" for w in evidence.windows)
    assert evidence.windows[0].score > 0.5 and evidence.windows[0].captions == {}
    kb.save(tmp_path / "kb")
    assert KnowledgeBase.load(tmp_path / "kb").joint is True
