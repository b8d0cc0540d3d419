"""The truth check: read a caption back into claims and test each one against the facts.

:func:`parse_caption` splits a caption into sentences, matches each to the
template it was written from (:mod:`~eoforge.captions.templates`) and turns
its slots into :class:`Claim` records: a class share within the interval its
words state, the dominant class, a position, a crossing, a count, a size, a
length, a change. :func:`verify` checks every claim against a window's
:class:`~eoforge.captions.facts.WindowFacts`; a sentence no template fits is a
failure too, so a caption cannot slip in a statement the check cannot read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from eoforge.captions.facts import WindowFacts
from eoforge.captions.templates import AXIS_WORDS, EDGE_WORDS, Words, match
from eoforge.captions.vocabulary import (
    RARE_SHARE,
    Vocabulary,
    area_limit,
    count_value,
    date_value,
    fraction_interval,
    length_interval,
    percent_interval,
    plural,
    singular,
)

TOLERANCE = 1e-9
"""Slack for float comparisons of shares and lengths."""

SENTENCE_END = re.compile(r"(?<=\.)\s+(?=[A-Z0-9])")


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a caption.

    Attributes:
        kind: ``share``, ``dominant``, ``top2``, ``pair``, ``place``, ``cross``,
            ``count``, ``size``, ``kind``, ``length``, ``dates``, ``gain``,
            ``source``, ``loss`` or ``changed``.
        subject: The class name, feature noun (singular) or line layer noun it is about.
        other: Second class, region term, axis, kind or end date.
        low: Lower bound of the stated value (share 0-1, count, m², m), inclusive.
        high: Upper bound, inclusive.
        sentence: The sentence that makes it.
    """

    kind: str
    subject: str
    other: str = ""
    low: float = math.nan
    high: float = math.nan
    sentence: str = ""


@dataclass
class Verdict:
    """The outcome of :func:`verify`.

    Attributes:
        claims: Every claim read from the caption.
        failures: ``(what, why)`` for each false claim or unreadable sentence.
    """

    claims: list[Claim] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every sentence was read and every claim holds."""
        return not self.failures


def words_for(facts: WindowFacts, vocab: Vocabulary) -> Words:
    """The open word lists of a caption of these facts."""
    nouns = {w for c in facts.counts for w in (singular(c.noun), plural(c.noun))}
    kinds = {singular(k) for c in facts.counts for k in c.kinds}
    return Words(
        classes=tuple(vocab.all_forms()),
        nouns=tuple(sorted(nouns)),
        kinds=tuple(sorted(kinds)),
        line_nouns=tuple(sorted({line.noun for line in facts.lines})),
        lines=tuple(sorted({c.name for c in facts.crossings if c.source != "labels"})),
    )


def split_sentences(caption: str) -> list[str]:
    """A caption's sentences (numbers such as ``1.2 km`` stay whole)."""
    return [s.strip() for s in SENTENCE_END.split(caption.strip()) if s.strip()]


def parse_caption(caption: str, vocab: Vocabulary, words: Words) -> tuple[list[Claim], list[str]]:
    """Claims of a caption, and the sentences no template fits.

    Args:
        caption: The caption text.
        vocab: Words of the legend (class surface forms).
        words: Open word lists (see :func:`words_for`).

    Returns:
        ``(claims, unread sentences)``.
    """
    claims: list[Claim] = []
    unread: list[str] = []
    for sentence in split_sentences(caption):
        found = match(sentence, words)
        if found is None:
            unread.append(sentence)
            continue
        template, slots = found
        claims += claims_of(template.kind, slots, vocab, sentence)
    return claims, unread


def claims_of(kind: str, slots: dict[str, str], vocab: Vocabulary, sentence: str) -> list[Claim]:
    """The claims a sentence of a template kind makes, from its slot values."""

    def cls(key: str = "cls") -> str:
        return vocab.name_of(slots[key]) or slots[key].lower()

    def claim(
        kind: str, subject: str, other: str = "", low: float = math.nan, high: float = math.nan
    ) -> Claim:
        return Claim(kind, subject, other, low, high, sentence)

    if kind == "mostly":
        return [claim("share", cls(), low=0.5 + TOLERANCE, high=1.0)]
    if kind == "dominant":
        return [claim("dominant", cls())]
    if kind == "top2":
        return [claim("top2", cls(), cls("cls2"))]
    if kind == "pair_most":
        return [
            claim("top2", cls(), cls("cls2")),
            claim("pair", cls(), cls("cls2"), 0.5 + TOLERANCE, 1.0),
        ]
    if kind == "entire":
        return [claim("share", cls(), low=1.0, high=1.0)]
    if kind == "share":
        interval = fraction_interval(slots["amount"])
        low, high = interval if interval is not None else (math.nan, math.nan)
        return [claim("share", cls(), low=low, high=high)]
    if kind == "rare":
        return [claim("share", cls(), low=1e-12, high=RARE_SHARE - 1e-12)]
    if kind == "absent":
        return [claim("share", cls(), low=0.0, high=0.0)]
    if kind == "place":
        return [claim("place", cls(), slots["region"].lower())]
    if kind == "edge":
        return [claim("place", cls(), EDGE_WORDS[slots["edge"].lower()])]
    if kind in ("centre", "scattered"):
        return [claim("place", cls(), kind)]
    if kind == "cross":
        return [claim("cross", cls(), AXIS_WORDS[slots["axis"].lower()])]
    if kind == "cross_line":
        return [claim("cross", slots["line"].lower(), AXIS_WORDS[slots["axis"].lower()])]
    if kind in ("count", "count_size", "count_kind", "none"):
        noun = slots["nouns"].lower()
        n = 0 if kind == "none" else count_value(slots["count"])
        out = [claim("count", noun, low=n, high=n)]
        if kind == "count_size":
            out.append(claim("size", noun, low=area_limit(slots["area"])))
        if kind == "count_kind":
            out.append(claim("kind", noun, slots["kind"].lower()))
        return out
    if kind == "length":
        low, high = length_interval(slots["length"])
        return [claim("length", slots["lnoun"].lower(), low=low, high=high)]
    out = [
        claim(
            "dates", date_value(slots["date1"]).isoformat(), date_value(slots["date2"]).isoformat()
        )
    ]
    if kind == "unchanged":
        return [*out, claim("changed", "", low=0.0, high=0.0)]
    low, high = percent_interval(slots["cpct"])
    if kind == "changed":
        return [*out, claim("changed", "", low=low, high=high)]
    if kind == "loss":
        return [*out, claim("loss", cls(), low=low, high=high)]
    out.append(claim("gain", cls(), low=low, high=high))
    if kind == "gain_source":
        out.append(claim("source", cls(), cls("cls2")))
    return out


def check(claim: Claim, facts: WindowFacts) -> str | None:
    """Why a claim is false of the facts, or None when it holds."""
    kind = claim.kind
    if kind in ("share", "dominant", "top2", "pair") and claim.subject not in facts.legend:
        return f"{claim.subject!r} is not a class of the legend"
    if kind in ("share", "dominant", "top2", "pair"):
        return _check_share(claim, facts)
    if kind == "place":
        ok = claim.other in facts.regions(claim.subject)
        return None if ok else f"{claim.subject} does not lie {claim.other!r}"
    if kind == "cross":
        ok = any(c.name == claim.subject and c.axis == claim.other for c in facts.crossings)
        return None if ok else f"no {claim.subject} crosses {claim.other}"
    if kind in ("count", "size", "kind"):
        return _check_count(claim, facts)
    if kind == "length":
        found = [line.metres for line in facts.lines if line.noun == claim.subject]
        return None if found and _within(claim, found[0]) else f"{claim.subject}: {found} m"
    return _check_change(claim, facts)


def _within(claim: Claim, value: float) -> bool:
    return claim.low - TOLERANCE <= value <= claim.high + TOLERANCE


def _check_share(claim: Claim, facts: WindowFacts) -> str | None:
    shares = {s.name: s.share for s in facts.shares}
    value = facts.share(claim.subject)
    if claim.kind == "share":
        if _within(claim, value):
            return None
        return f"{claim.subject} covers {value:.4f}, not {claim.low:.4f}-{claim.high:.4f}"
    if claim.kind == "dominant":
        ok = value > 0 and all(value >= v for v in shares.values())
        return None if ok else f"{claim.subject} is not the largest class"
    other = facts.share(claim.other)
    if claim.kind == "pair":
        total = value + other
        return None if _within(claim, total) else f"the two cover {total:.4f}"
    rest = [v for k, v in shares.items() if k not in (claim.subject, claim.other)]
    ok = value > 0 and other > 0 and claim.subject != claim.other
    ok = ok and all(min(value, other) >= v for v in rest)
    return None if ok else f"{claim.subject} and {claim.other} are not the two largest classes"


def _check_count(claim: Claim, facts: WindowFacts) -> str | None:
    found = [
        c
        for c in facts.counts
        if claim.subject in (singular(c.noun).lower(), plural(c.noun).lower())
    ]
    if not found:
        return f"no count of {claim.subject}"
    count = found[0]
    if claim.kind == "count":
        ok = _within(claim, count.count)
        return None if ok else f"{count.count} {claim.subject}, not {claim.low:g}"
    if claim.kind == "size":
        small = sum(a < claim.low for a in count.areas)
        ok = small * 2 > count.count
        return None if ok else f"{small} of {count.count} under {claim.low:g} m²"
    number = sum(v for k, v in count.kinds.items() if singular(k).lower() == claim.other)
    ok = number * 2 > count.count
    return None if ok else f"{number} of {count.count} are {claim.other}"


def _check_change(claim: Claim, facts: WindowFacts) -> str | None:
    change = facts.change
    if change is None:
        return "the facts hold no change"
    if claim.kind == "dates":
        ok = (change.start, change.end) == (claim.subject, claim.other)
        return None if ok else f"the change runs from {change.start} to {change.end}"
    if claim.kind == "changed":
        ok = _within(claim, change.changed)
        return None if ok else f"{change.changed:.4f} changed"
    if claim.kind == "loss":
        value = next((g.share for g in change.losses if g.name == claim.subject), 0.0)
        return None if value > 0 and _within(claim, value) else f"{claim.subject} lost {value:.4f}"
    gain = next((g for g in change.gains if g.name == claim.subject), None)
    if gain is None:
        return f"{claim.subject} gained nothing"
    if claim.kind == "gain":
        ok = _within(claim, gain.share)
        return None if ok else f"{claim.subject} gained {gain.share:.4f}"
    share = gain.sources.get(claim.other, 0.0)
    return None if share > 0.5 else f"{claim.other} is {share:.2f} of the {claim.subject} gain"


def verify(caption: str, facts: WindowFacts, vocab: Vocabulary | None = None) -> Verdict:
    """Check every statement of a caption against a window's facts.

    Args:
        caption: The caption.
        facts: The facts of its window (e.g. ``WindowFacts.from_json(row.facts)``).
        vocab: Class words (default: built from ``facts.legend``).

    Returns:
        The claims read and the failures; ``verdict.ok`` when all hold.
    """
    words_of = vocab or Vocabulary.from_names(facts.legend)
    claims, unread = parse_caption(caption, words_of, words_for(facts, words_of))
    verdict = Verdict(claims=claims)
    verdict.failures += [(s, "no template fits this sentence") for s in unread]
    for item in claims:
        why = check(item, facts)
        if why is not None:
            verdict.failures.append((item.sentence, why))
    return verdict
