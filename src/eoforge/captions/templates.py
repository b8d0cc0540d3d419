"""Sentence templates, read both ways: filled to write a caption, matched to read it back.

A template is literal text with slots (``{cls}``, ``{amount}``, ``{count}``...)
and a kind that says which claims a sentence of it makes. Writing fills the
slots (:func:`render`); reading turns the same text into a regular expression
whose slots accept the words that may fill them (:func:`match`), so a caption
can only be written in sentences it can be read back from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from eoforge.captions.vocabulary import AREA_LADDER, FRACTIONS, NUMBER_WORDS, SCENE_WORDS

REGION_WORDS = (
    "north-west",
    "north-east",
    "south-west",
    "south-east",
    "north",
    "south",
    "east",
    "west",
)
EDGE_WORDS = {
    "northern": "north edge",
    "southern": "south edge",
    "eastern": "east edge",
    "western": "west edge",
}
AXIS_WORDS = {
    "west to east": "west-east",
    "east to west": "west-east",
    "north to south": "north-south",
    "south to north": "north-south",
}


@dataclass(frozen=True)
class Template:
    """One sentence pattern.

    Attributes:
        kind: What it claims (see :func:`eoforge.captions.verify.claims_of`).
        text: The sentence with ``{slot}`` fields.
    """

    kind: str
    text: str


TEMPLATES: tuple[Template, ...] = (
    # overview
    Template("mostly", "The {scene} is mostly {cls}."),
    Template("mostly", "Most of the {scene} is {cls}."),
    Template("dominant", "{cls} is the most common cover here."),
    Template("dominant", "The commonest land cover is {cls}."),
    Template("top2", "The {scene} is a mix of {cls} and {cls2}."),
    Template("pair_most", "{cls} and {cls2} make up most of the {scene}."),
    Template("entire", "The {scene} is entirely {cls}."),
    # shares
    Template("share", "{cls} covers {amount} of the {scene}."),
    Template("share", "{amount} of the {scene} is {cls}."),
    Template("share", "{cls} takes up {amount} of the {scene}."),
    Template("rare", "There is also a little {cls}, under 5 % of the {scene}."),
    Template("rare", "Small patches of {cls} cover less than 5 % of the {scene}."),
    Template("absent", "The {scene} holds no {cls}."),
    Template("absent", "No {cls} appears in the {scene}."),
    # where
    Template("place", "{cls} lies in the {region} of the {scene}."),
    Template("place", "Most of the {cls} is in the {region}."),
    Template("edge", "{cls} runs along the {edge} edge."),
    Template("edge", "A strip of {cls} lines the {edge} side of the {scene}."),
    Template("centre", "{cls} is concentrated in the centre."),
    Template("centre", "{cls} sits near the centre of the {scene}."),
    Template("scattered", "{cls} is scattered across the {scene}."),
    Template("scattered", "Patches of {cls} are spread all over the {scene}."),
    # linear features
    Template("cross", "A band of {cls} crosses the {scene} from {axis}."),
    Template("cross", "{cls} stretches across the {scene} from {axis}."),
    Template("cross_line", "A {line} crosses the {scene} from {axis}."),
    Template("cross_line", "A {line} runs through the {scene} from {axis}."),
    # vectors
    Template("count_size", "There {be} {count} {nouns}, mostly under {area}."),
    Template("count_size", "The {scene} holds {count} {nouns}, mostly small (under {area})."),
    Template("count_size", "{count} {nouns} can be seen, most of them smaller than {area}."),
    Template("count_kind", "There {be} {count} {nouns}, mostly {kind}."),
    Template("count", "There {be} {count} {nouns} in the {scene}."),
    Template("count", "The {scene} holds {count} {nouns}."),
    Template("count", "{count} {nouns} can be seen."),
    Template("none", "There are no {nouns} in the {scene}."),
    Template("none", "No {nouns} can be seen."),
    Template("length", "The {scene} holds {length} of {lnoun}."),
    Template("length", "There are {length} of {lnoun} in the {scene}."),
    # change
    Template(
        "gain_source",
        "Between {date1} and {date2}, {cls} spread over {cpct} of the {scene}, "
        "mostly replacing {cls2}.",
    ),
    Template("gain", "Between {date1} and {date2}, {cls} spread over {cpct} of the {scene}."),
    Template("gain", "{cls} gained {cpct} of the {scene} between {date1} and {date2}."),
    Template("loss", "{cls} lost {cpct} of the {scene} between {date1} and {date2}."),
    Template("changed", "Between {date1} and {date2}, {cpct} of the {scene} changed class."),
    Template("unchanged", "Nothing changed between {date1} and {date2}."),
)
"""Every sentence a caption may hold."""

SLOT = re.compile(r"\{(\w+)\}")


def by_kind(kind: str) -> list[Template]:
    """The templates of one kind."""
    return [t for t in TEMPLATES if t.kind == kind]


def render(template: Template, slots: Mapping[str, str]) -> str:
    """Fill a template's slots; the first letter is capitalised."""
    text = SLOT.sub(lambda m: slots[m.group(1)], template.text)
    return text[:1].upper() + text[1:]


def _alternation(words: Iterable[str]) -> str:
    items = sorted(set(words), key=lambda w: (-len(w), w))
    return "|".join(re.escape(w) for w in items) if items else r"(?!)"


def _fixed_slots() -> dict[str, str]:
    amounts = [w for w, _, _ in FRACTIONS]
    return {
        "scene": _alternation(SCENE_WORDS),
        "amount": rf"{_alternation(amounts)}|(?:about|roughly|around) \d{{1,3}} (?:%|percent)",
        "region": _alternation(REGION_WORDS),
        "edge": _alternation(EDGE_WORDS),
        "axis": _alternation(AXIS_WORDS),
        "count": rf"\d[\d,]*|{_alternation(NUMBER_WORDS[1:])}",
        "be": "is|are",
        "area": _alternation(words for _, words in AREA_LADDER),
        "length": r"about \d+(?:\.\d)? (?:m|km)",
        "cpct": r"\d{1,3} %|less than 1 %",
        "date1": r"\d{1,2} [A-Z][a-z]+ \d{4}",
        "date2": r"\d{1,2} [A-Z][a-z]+ \d{4}",
    }


@dataclass(frozen=True)
class Words:
    """The open word lists of a caption's slots.

    Attributes:
        classes: Class surface forms (``cls``, ``cls2``).
        nouns: Feature nouns, singular and plural (``nouns``).
        kinds: Kinds of counted features (``kind``).
        line_nouns: Plural nouns of line layers (``lnoun``).
        lines: Nouns of crossing lines (``line``).
    """

    classes: tuple[str, ...]
    nouns: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    line_nouns: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()


@lru_cache(maxsize=64)
def _patterns(words: Words) -> list[tuple[Template, re.Pattern[str]]]:
    slots = {
        **_fixed_slots(),
        "cls": _alternation(words.classes),
        "cls2": _alternation(words.classes),
        "nouns": _alternation(words.nouns),
        "kind": _alternation(words.kinds),
        "lnoun": _alternation(words.line_nouns),
        "line": _alternation(words.lines),
    }
    out = []
    for template in TEMPLATES:
        parts, end = [], 0
        for m in SLOT.finditer(template.text):
            parts.append(re.escape(template.text[end : m.start()]))
            parts.append(f"(?P<{m.group(1)}>{slots[m.group(1)]})")
            end = m.end()
        parts.append(re.escape(template.text[end:]))
        out.append((template, re.compile("".join(parts), re.IGNORECASE)))
    return out


def match(sentence: str, words: Words) -> tuple[Template, dict[str, str]] | None:
    """The template a sentence was written from, with its slot values; None when none fits."""
    for template, pattern in _patterns(words):
        found = pattern.fullmatch(sentence)
        if found is not None:
            return template, {k: v for k, v in found.groupdict().items() if v is not None}
    return None
