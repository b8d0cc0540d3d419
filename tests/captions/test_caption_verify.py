"""Facts of hand-made windows, templates read both ways, and verify() refusing false captions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from eoforge.captions import Vocabulary, caption, change_facts, verify, window_facts
from eoforge.captions.facts import FeatureCount, LineLength, WindowFacts
from eoforge.captions.sentences import options, render_option
from eoforge.captions.templates import TEMPLATES, Words, match
from eoforge.captions.verify import parse_caption, words_for
from eoforge.captions.vocabulary import (
    FRACTIONS,
    fraction_interval,
    fraction_phrases,
    length_interval,
    length_phrase,
    percent_interval,
    percent_phrase,
    plural,
)

NAMES = {1: "water", 2: "forest", 3: "cropland", 4: "road"}


def _forest_with_river() -> np.ndarray:
    """10 x 10: forest, a 3-column river along the east side (cols 7-9)."""
    labels = np.full((10, 10), 2, dtype=np.uint8)
    labels[:, 7:] = 1
    return labels


def test_facts_of_a_hand_made_window() -> None:
    labels = _forest_with_river()
    facts = window_facts(labels, labels > 0, NAMES)
    assert [(s.name, s.share, s.pixels) for s in facts.shares] == [
        ("forest", 0.7, 70),
        ("water", 0.3, 30),
    ]
    assert facts.legend == ("water", "forest", "cropland", "road")
    water = facts.regions("water")
    # 20 of its 30 pixels lie in the outer quarter (x > 0.75), spanning the whole side
    assert "east edge" in water and "east" in water and "west" not in water
    assert "centre" not in water and "scattered" not in water
    assert facts.regions("forest") == ()  # 70 % is more than a placed class covers
    assert [(c.name, c.axis) for c in facts.crossings] == [("water", "north-south")]


def test_facts_skip_nodata_and_find_a_road_crossing() -> None:
    labels = np.full((20, 20), 3, dtype=np.uint8)
    labels[9:11, :] = 4  # a road from west to east
    labels[:, 15:] = 0  # nodata
    facts = window_facts(labels, labels > 0, NAMES)
    assert facts.pixels == 300
    assert facts.share("road") == pytest.approx(30 / 300)
    assert facts.crossings == ()  # the road stops at the nodata, it does not reach the east side
    labels[:, 15:] = 3
    labels[9:11, :] = 4
    facts = window_facts(labels, labels > 0, NAMES)
    assert [(c.name, c.axis) for c in facts.crossings] == [("road", "west-east")]


def test_change_facts_gains_losses_and_sources() -> None:
    before = np.full((10, 10), 3, dtype=np.uint8)
    before[:, :2] = 2
    after = before.copy()
    after[:, :4] = 1  # water over 2 forest and 2 cropland columns
    change = change_facts(
        before, after, NAMES, np.ones((10, 10), bool), dt.date(2024, 5, 1), dt.date(2024, 7, 1)
    )
    assert change.changed == pytest.approx(0.4)
    assert [(g.name, g.share) for g in change.gains] == [("water", pytest.approx(0.4))]
    assert change.gains[0].sources == {"forest": 0.5, "cropland": 0.5}
    assert {(x.name, round(x.share, 6)) for x in change.losses} == {
        ("forest", 0.2),
        ("cropland", 0.2),
    }


def test_every_template_reads_back_as_itself() -> None:
    vocab = Vocabulary.from_names(NAMES.values())
    words = Words(
        classes=tuple(vocab.all_forms()),
        nouns=("building", "buildings", "winter wheat"),
        kinds=("winter wheat",),
        line_nouns=("roads",),
        lines=("major road",),
    )
    slots = {
        "cls": "open water", "cls2": "woodland", "amount": "about a third", "scene": "tile",
        "region": "north-west", "edge": "eastern", "axis": "south to north", "count": "twelve",
        "be": "are", "nouns": "buildings", "area": "200 m²", "kind": "winter wheat",
        "length": "about 1.2 km", "lnoun": "roads", "line": "major road", "cpct": "18 %",
        "date1": "1 March 2024", "date2": "25 July 2024",
    }  # fmt: skip
    for template in TEMPLATES:
        text = template.text.format(**slots)
        sentence = text[:1].upper() + text[1:]
        found = match(sentence, words)
        assert found is not None, sentence
        assert found[0].kind == template.kind, (sentence, found[0])


def test_amount_words_mean_what_they_say() -> None:
    for share in np.linspace(0.0005, 1.0, 400):
        phrases = fraction_phrases(float(share))
        assert phrases, share
        for phrase in phrases:
            interval = fraction_interval(phrase)
            assert interval is not None
            assert interval[0] - 1e-9 <= share <= interval[1] + 1e-9, (phrase, share)
    assert fraction_interval("about 35 %") == pytest.approx((0.325, 0.375))
    assert {w for w, _, _ in FRACTIONS} >= {"about half", "nearly all", "about a third"}
    assert percent_phrase(0.004) == "less than 1 %"
    assert percent_phrase(0.18) == "18 %"
    assert percent_interval("18 %") == pytest.approx((0.175, 0.185))
    assert length_phrase(10) is None
    assert length_phrase(349) == "about 350 m"
    assert length_phrase(1234) == "about 1.2 km"
    assert length_interval("about 1.2 km") == pytest.approx((1150, 1250))
    assert plural("small-vehicle") == "small vehicles"
    assert plural("ferry") == "ferries"
    assert plural("bus") == "buses"


def _facts_with_vectors() -> WindowFacts:
    labels = _forest_with_river()
    facts = window_facts(labels, labels > 0, NAMES)
    return WindowFacts(
        legend=facts.legend,
        pixels=facts.pixels,
        shares=facts.shares,
        placements=facts.placements,
        crossings=facts.crossings,
        counts=(
            FeatureCount("buildings", "building", 5, (50.0, 120.0, 150.0, 900.0, 80.0)),
            FeatureCount("objects", "ship", 2),
        ),
        lines=(LineLength("roads", "roads", 640.0),),
    )


def test_generated_captions_verify_and_cover_the_facts() -> None:
    facts = _facts_with_vectors()
    vocab = Vocabulary.from_names(facts.legend)
    kinds = set()
    texts = set()
    for seed in range(300):
        text = caption(facts, vocab, 4, np.random.default_rng(seed))
        verdict = verify(text, facts)
        assert verdict.ok, (text, verdict.failures)
        kinds |= {c.kind for c in verdict.claims}
        texts.add(text)
    assert {"share", "place", "cross", "count", "size", "length"} <= kinds
    assert len(texts) > 250  # varied: templates, synonyms, orders, numbers


@pytest.mark.parametrize(
    ("caption_text", "why"),
    [
        ("Forest covers about 40 % of the scene.", "covers 0.7000"),
        ("Forest covers about a third of the scene.", "covers 0.7000"),
        ("The scene is mostly water.", "water covers 0.3000"),
        ("Water is the most common cover here.", "not the largest"),
        ("Water lies in the west of the scene.", "does not lie 'west'"),
        ("Water runs along the western edge.", "does not lie 'west edge'"),
        ("A band of water crosses the scene from west to east.", "no water crosses west-east"),
        ("There are 6 buildings in the scene.", "5 buildings, not 6"),
        ("There are five buildings, mostly under 100 m².", "2 of 5 under 100"),
        ("Three ships can be seen.", "2 ships, not 3"),
        ("The scene holds about 900 m of roads.", "roads: [640.0] m"),
        ("The scene holds no forest.", "covers 0.7000"),
        ("Between 1 March 2024 and 1 July 2024, 18 % of the scene changed class.", "no change"),
        ("Water is lovely here.", "no template fits"),
    ],
)
def test_verify_refuses_false_statements(caption_text: str, why: str) -> None:
    facts = _facts_with_vectors()
    true_part = "Forest covers about 70 % of the image."
    verdict = verify(f"{true_part} {caption_text}", facts)
    assert not verdict.ok
    assert {sentence for sentence, _ in verdict.failures} == {caption_text}
    assert any(why in reason for _, reason in verdict.failures), verdict.failures


def test_true_statements_of_the_same_facts_pass() -> None:
    facts = _facts_with_vectors()
    text = (
        "Forest covers about 70 % of the image. Water runs along the eastern edge. "
        "Water lies in the east of the area. There are five buildings, mostly under 200 m². "
        "Two ships can be seen. The tile holds about 650 m of roads. "
        "Open water stretches across the window from south to north. "
        "No cropland appears in the scene."
    )
    verdict = verify(text, facts)
    assert verdict.ok, verdict.failures
    assert len(verdict.claims) == 9


def test_options_only_offer_what_the_facts_hold() -> None:
    facts = _facts_with_vectors()
    vocab = Vocabulary.from_names(facts.legend)
    for option in options(facts):
        text = render_option(option, vocab, np.random.default_rng(0))
        claims, unread = parse_caption(text, vocab, words_for(facts, vocab))
        assert not unread and claims, text
