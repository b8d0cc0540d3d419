"""The whole chain on a synthetic scene: its labels captioned (eoforge.captions), its image
embedded (eoforge embed), both in one knowledge base; a question about a land-cover class
finds captions whose map facts contain that class and the image windows under them."""

from __future__ import annotations

import json

import pytest
from tests.embeddings.windows import embedding_bundle

from eoforge.captions import CaptionOptions, caption_windows, write_captions
from eoforge.embeddings import embed
from eoforge.knowledge import KnowledgeBase, Retriever, TemplateResponder, build_knowledge
from eoforge.synth import generate_scene
from eoforge.text import SentenceTower


@pytest.fixture(scope="module")
def synth_knowledge(
    tmp_path_factory: pytest.TempPathFactory, tower: SentenceTower
) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("synth_kb")
    scene = generate_scene(root / "flood", size=256, sensors="s2", dates=1, seed=1, clouds=0.0)
    made = caption_windows(scene.root, CaptionOptions(window=64, per_window=2, seed=0))
    captions = write_captions(made.frame, made.meta, root / "captions.parquet")
    bundle = embedding_bundle(root / "bundle")  # S2.B04, S2.B08, S2.B11
    collection = scene.root / "stac" / "collection.json"
    tables = [r.paths["embeddings"] for r in embed(bundle, collection, root / "emb", window=64)]
    return build_knowledge(tower, captions=[captions], embeddings=tables)


def shares(facts: object) -> dict[str, float]:
    """Class name -> share of a window, from a caption's facts."""
    assert isinstance(facts, dict)
    return {c["name"]: c["share"] for c in facts["shares"]}


def test_a_question_about_water_finds_windows_that_hold_water(
    synth_knowledge: KnowledgeBase, tower: SentenceTower
) -> None:
    kb = synth_knowledge
    assert kb.counts() == {"caption": 32, "window": 16}
    # k=3: the fourth closest caption says "The scene holds no open water." (a sentence
    # model hears the words, not the negation)
    evidence = Retriever(kb, tower).retrieve("a river of open water", k=3)
    watery = [shares(p.facts).get("water", 0.0) for p in evidence.passages]
    assert all(share > 0 for share in watery), [p.text for p in evidence.passages]
    assert evidence.windows, "the captions' windows must lead to image windows"
    for window in evidence.windows:
        assert window.found_by.startswith("overlaps caption:")
        caption = evidence.get(window.found_by.split()[1])
        assert caption.footprint is not None and window.footprint is not None
        inter = caption.footprint.intersection(window.footprint).area
        assert inter / min(caption.footprint.area, window.footprint.area) >= 0.5
        assert window.facts is not None and shares(window.facts).get("water", 0.0) > 0
        assert window.scene != caption.scene  # linked by place, not by scene name
    answer = TemplateResponder().answer("a river of open water", evidence)
    assert set(answer.citations) == set(evidence.ids())
    json.dumps(evidence.to_dict())  # JSON-ready
