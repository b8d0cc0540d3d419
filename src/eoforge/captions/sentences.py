"""Captions from facts: varied sentences, each one true of the window's labels.

Every fact offers candidate sentences (a template and its slot values); a
caption draws ``sentences`` of them with a seeded generator: the overview
usually first, no two about the same thing, templates, synonyms, amounts
(fraction words or percent) and counts (digits or words) drawn at random among
those that are true. Only statements that :mod:`~eoforge.captions.verify` can
read back and check are written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from eoforge.captions.facts import ChangeFacts, WindowFacts
from eoforge.captions.landcover import EDGES, HALVES, QUADRANTS
from eoforge.captions.templates import AXIS_WORDS, EDGE_WORDS, by_kind, render
from eoforge.captions.vocabulary import (
    AREA_LADDER,
    RARE_SHARE,
    SCENE_WORDS,
    Vocabulary,
    count_text,
    date_text,
    fraction_phrases,
    length_phrase,
    percent_phrase,
    plural,
    singular,
)

SALIENT_ABSENT = ("water", "building", "forest", "road")
"""Classes whose absence is worth saying."""


@dataclass(frozen=True)
class Option:
    """A candidate sentence: the template kind, its topic and how to fill it.

    Attributes:
        kind: Template kind.
        topic: What it is about (two sentences of a caption never share one).
        slots: Slot values except the words drawn at render time.
        weight: Relative chance of being drawn.
        covers: Further topics it already speaks to (an overview of a class covers its share).
    """

    kind: str
    topic: str
    slots: Mapping[str, str | int | float]
    weight: float = 1.0
    covers: tuple[str, ...] = ()


def options(facts: WindowFacts) -> list[Option]:
    """Every sentence the facts support, before words are drawn."""
    out: list[Option] = []
    shares = facts.shares
    if not shares:
        return out
    first = shares[0]
    second = shares[1] if len(shares) > 1 else None
    third = shares[2].share if len(shares) > 2 else 0.0
    covers = (f"share:{first.name}",)
    if first.share >= 1.0:
        out.append(Option("entire", "overview", {"cls": first.name}, 3.0, covers))
    else:
        if first.share > 0.5:
            out.append(Option("mostly", "overview", {"cls": first.name}, 3.0, covers))
        if second is None or first.share > second.share:
            out.append(Option("dominant", "overview", {"cls": first.name}, 2.0, covers))
        if second is not None and second.share > third:
            pair = {"cls": first.name, "cls2": second.name}
            out.append(Option("top2", "overview", pair, 2.0))
            if first.share + second.share > 0.5:
                out.append(Option("pair_most", "overview", pair, 2.0))
    for item in shares[:4]:
        if item.share >= RARE_SHARE:
            out.append(
                Option("share", f"share:{item.name}", {"cls": item.name, "share": item.share}, 2.0)
            )
    for item in shares:
        if item.share < RARE_SHARE:
            out.append(Option("rare", f"share:{item.name}", {"cls": item.name}, 0.7))
    present = {s.name for s in shares}
    for name in SALIENT_ABSENT:
        if name in facts.legend and name not in present:
            out.append(Option("absent", f"share:{name}", {"cls": name}, 0.35))
    for place in facts.placements:
        out += _placement(place.name, place.regions)
    for crossing in facts.crossings:
        slots = {"axis": crossing.axis}
        if crossing.source == "labels":
            out.append(
                Option("cross", f"cross:{crossing.name}", {"cls": crossing.name, **slots}, 1.5)
            )
        else:
            out.append(
                Option(
                    "cross_line", f"cross:{crossing.name}", {"line": crossing.name, **slots}, 1.5
                )
            )
    for count in facts.counts:
        out += _count(count.noun, count.count, count.areas, count.kinds)
    for line in facts.lines:
        phrase = length_phrase(line.metres)
        if phrase is not None:
            out.append(
                Option("length", f"length:{line.layer}", {"length": phrase, "lnoun": line.noun})
            )
    if facts.change is not None:
        out += _change(facts.change)
    return out


def _placement(name: str, regions: tuple[str, ...]) -> list[Option]:
    topic = f"place:{name}"
    out = []
    for region in regions:
        if region in EDGES:
            word = next(w for w, r in EDGE_WORDS.items() if r == region)
            out.append(Option("edge", topic, {"cls": name, "edge": word}, 1.5))
        elif region in QUADRANTS or region in HALVES:
            out.append(Option("place", topic, {"cls": name, "region": region}, 1.5))
        elif region == "centre":
            out.append(Option("centre", topic, {"cls": name}, 1.0))
        else:
            out.append(Option("scattered", topic, {"cls": name}, 0.7))
    return out[:2]  # the most specific terms (regions are ordered that way)


def _count(noun: str, count: int, areas: tuple[float, ...], kinds: dict[str, int]) -> list[Option]:
    topic = f"count:{noun}"
    if count == 0:
        return [Option("none", topic, {"noun": noun}, 0.25)]
    out = [Option("count", topic, {"noun": noun, "n": count}, 1.5)]
    if count >= 2 and len(areas) == count:
        limit = next(
            (words for value, words in AREA_LADDER if sum(a < value for a in areas) * 2 > count),
            None,
        )
        if limit is not None:
            out.append(Option("count_size", topic, {"noun": noun, "n": count, "area": limit}, 1.5))
    major = [k for k, v in kinds.items() if v * 2 > count]
    if count >= 2 and major:
        out.append(
            Option("count_kind", topic, {"noun": noun, "n": count, "kind": singular(major[0])}, 1.5)
        )
    return out


def _change(change: ChangeFacts) -> list[Option]:
    dates = {
        "date1": date_text(dt.date.fromisoformat(change.start)),
        "date2": date_text(dt.date.fromisoformat(change.end)),
    }
    if change.changed == 0:
        return [Option("unchanged", "change", dates, 2.0)]
    out = [Option("changed", "change", {**dates, "cpct": percent_phrase(change.changed)}, 1.0)]
    for gain in change.gains[:2]:
        slots = {**dates, "cls": gain.name, "cpct": percent_phrase(gain.share)}
        main = max(gain.sources.items(), key=lambda kv: (kv[1], kv[0]))
        if main[1] > 0.5:
            out.append(Option("gain_source", "change", {**slots, "cls2": main[0]}, 3.0))
        out.append(Option("gain", "change", slots, 1.5))
    for loss in change.losses[:2]:
        slots = {**dates, "cls": loss.name, "cpct": percent_phrase(loss.share)}
        out.append(Option("loss", "change", slots, 1.0))
    return out


def render_option(option: Option, vocab: Vocabulary, rng: np.random.Generator) -> str:
    """One sentence: a template of the option's kind with words drawn for its slots."""
    templates = by_kind(option.kind)
    template = templates[int(rng.integers(len(templates)))]
    slots: dict[str, str] = {"scene": str(rng.choice(SCENE_WORDS))}
    for key, value in option.slots.items():
        if key in ("cls", "cls2"):
            forms = vocab.forms.get(str(value), (str(value),))
            slots[key] = str(forms[int(rng.integers(len(forms)))])
        elif key == "share":
            phrases = fraction_phrases(float(value))
            slots["amount"] = phrases[int(rng.integers(len(phrases)))]
        elif key == "n":
            n = int(value)
            slots["count"] = count_text(n, words=bool(rng.integers(2)))
            slots["be"] = "is" if n == 1 else "are"
        elif key == "noun":
            n = int(option.slots.get("n", 0))
            slots["nouns"] = singular(str(value)) if n == 1 else plural(str(value))
        elif key == "axis":
            words = [w for w, a in AXIS_WORDS.items() if a == value]
            slots["axis"] = words[int(rng.integers(len(words)))]
        else:
            slots[key] = str(value)
    return render(template, slots)


def caption(facts: WindowFacts, vocab: Vocabulary, sentences: int, rng: np.random.Generator) -> str:
    """A caption of up to ``sentences`` sentences, each about a different topic.

    Args:
        facts: The window's facts.
        vocab: Words of its legend.
        sentences: Sentences wanted (fewer when the facts support fewer topics).
        rng: Seeded generator (the caption is a function of its state).

    Returns:
        The sentences joined by spaces; empty when the window has no valid pixel.
    """
    pool = options(facts)
    chosen: list[Option] = []
    overview = [o for o in pool if o.topic == "overview"]
    if overview and rng.random() < 0.8:
        chosen.append(_draw(overview, rng))
    changes = [o for o in pool if o.topic == "change"]
    if changes and len(chosen) < sentences and rng.random() < 0.8:
        chosen.append(_draw(changes, rng))  # a change asked for is usually told
    while len(chosen) < sentences:
        used = {t for o in chosen for t in (o.topic, *o.covers)}
        left = [o for o in pool if o.topic not in used]
        if not left:
            break
        chosen.append(_draw(left, rng))
    if len(chosen) > 1 and rng.random() < 0.3:
        rest = chosen[1:]
        rng.shuffle(rest)
        chosen = [chosen[0], *rest]
    return " ".join(render_option(o, vocab, rng) for o in chosen)


def _draw(pool: list[Option], rng: np.random.Generator) -> Option:
    weights = np.array([o.weight for o in pool], dtype=np.float64)
    return pool[int(rng.choice(len(pool), p=weights / weights.sum()))]


__all__ = ["Option", "caption", "options", "render_option"]
