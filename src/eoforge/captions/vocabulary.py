"""Words of captions: class synonyms, amounts in words or percent, numbers, plurals, dates.

Every phrase that states a quantity has an exact meaning, so a caption can be
read back into claims and checked (:mod:`~eoforge.captions.verify`):

* a fraction phrase (:data:`FRACTIONS`) claims the share lies in its interval;
* ``about N %`` (N a multiple of 5) claims the share is within 2.5 points of N;
* a change of ``N %`` claims it is within 0.5 points of N, ``less than 1 %``
  that it is above 0 and under 1 %;
* ``about 350 m`` (steps of 50 m) and ``about 1.2 km`` (steps of 100 m)
  claim a length within half a step.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

SYNONYMS: dict[str, tuple[str, ...]] = {
    "water": ("water", "open water"),
    "forest": ("forest", "woodland", "tree cover"),
    "grassland": ("grassland", "meadow", "grass"),
    "cropland": ("cropland", "farmland", "arable land"),
    "bare_soil": ("bare soil", "bare ground"),
    "wetland": ("wetland", "marshland"),
    "urban": ("urban ground", "built-up ground"),
    "building": ("building footprint", "built surface"),
    "road": ("road surface", "paved road"),
    "airfield": ("airfield", "airfield pavement"),
    "harbour": ("harbour", "port land", "quayside"),
}
"""Words for classes that eoforge's legends name; other classes are spoken by their name."""

FRACTIONS: tuple[tuple[str, float, float], ...] = (
    ("nearly all", 0.9, 1.0),
    ("about three quarters", 0.7, 0.8),
    ("about two thirds", 0.6, 0.72),
    ("more than half", 0.5 + 1e-9, 1.0),
    ("about half", 0.45, 0.55),
    ("about a third", 0.28, 0.38),
    ("about a quarter", 0.2, 0.3),
    ("about a fifth", 0.17, 0.23),
    ("about a tenth", 0.07, 0.13),
    ("less than a tenth", 1e-12, 0.1 - 1e-12),
)
"""Fraction phrases and the closed share interval each one claims."""

NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip
"""Counts up to twenty may be said in words."""

SCENE_WORDS = ("scene", "image", "area", "tile", "window")
"""Words for the window itself."""

RARE_SHARE = 0.05
"""A class under this share (and present) is rare: "a little water, under 5 % of the scene"."""

AREA_LADDER: tuple[tuple[float, str], ...] = (
    (100.0, "100 m²"),
    (200.0, "200 m²"),
    (500.0, "500 m²"),
    (1000.0, "1,000 m²"),
    (5000.0, "5,000 m²"),
    (10000.0, "1 ha"),
    (50000.0, "5 ha"),
    (100000.0, "10 ha"),
)
"""Size limits a caption may name ("mostly under 200 m²"), m²."""


@dataclass(frozen=True)
class Vocabulary:
    """The words of one legend: class name → its surface forms, and back.

    Attributes:
        forms: Surface forms by class name (lower case, unambiguous).
    """

    forms: dict[str, tuple[str, ...]]

    @classmethod
    def from_names(cls, names: Iterable[str]) -> Vocabulary:
        """Forms from :data:`SYNONYMS` or the name itself; a form two classes share is dropped."""
        wanted = {n: SYNONYMS.get(n, (n.replace("_", " ").lower(),)) for n in names}
        owners: dict[str, set[str]] = {}
        for name, forms in wanted.items():
            for form in forms:
                owners.setdefault(form, set()).add(name)
        return cls(
            {
                name: tuple(f for f in fs if len(owners[f]) == 1) or (name,)
                for name, fs in wanted.items()
            }
        )

    def name_of(self, form: str) -> str | None:
        """The class a surface form names, None when none does."""
        text = form.lower()
        return next((n for n, fs in self.forms.items() if text in fs), None)

    def all_forms(self) -> list[str]:
        """Every surface form, longest first (for regular expressions)."""
        return sorted({f for fs in self.forms.values() for f in fs}, key=lambda f: (-len(f), f))


def fraction_interval(phrase: str) -> tuple[float, float] | None:
    """The share interval of a fraction phrase, or of ``about N %``; None otherwise."""
    text = " ".join(phrase.lower().split())
    for words, low, high in FRACTIONS:
        if text == words:
            return low, high
    parts = text.split(" ")
    if len(parts) == 3 and parts[0] in ("about", "roughly", "around") and parts[1].isdigit():
        value = int(parts[1]) / 100
        return value - 0.025, value + 0.025
    return None


def fraction_phrases(share: float) -> list[str]:
    """Every amount phrase true of a share: fraction words and ``about N %``."""
    out = [words for words, low, high in FRACTIONS if low <= share <= high]
    percent = 5 * math.floor(share * 20 + 0.5)
    if percent >= 5:
        out += [f"about {percent} %", f"roughly {percent} %", f"around {percent} percent"]
    return out


def percent_phrase(share: float) -> str:
    """A change share as ``N %`` (nearest point) or ``less than 1 %``."""
    value = math.floor(share * 100 + 0.5)
    return "less than 1 %" if value < 1 else f"{value} %"


def percent_interval(phrase: str) -> tuple[float, float]:
    """The share interval of :func:`percent_phrase`'s text."""
    text = " ".join(phrase.lower().split())
    if text.startswith("less than 1"):
        return 1e-12, 0.01
    value = int(text.split(" ")[0]) / 100
    return value - 0.005, value + 0.005


def count_text(count: int, words: bool) -> str:
    """A count in digits, or in words up to twenty."""
    return NUMBER_WORDS[count] if words and count < len(NUMBER_WORDS) else str(count)


def count_value(text: str) -> int:
    """The count a :func:`count_text` string says."""
    low = text.lower()
    return NUMBER_WORDS.index(low) if low in NUMBER_WORDS else int(low.replace(",", ""))


def plural(noun: str) -> str:
    """English plural of a feature noun (``"small-vehicle"`` → ``"small vehicles"``)."""
    text = noun.replace("_", " ").replace("-", " ")
    if text.endswith(("s", "x", "ch", "sh")):
        return f"{text}es"
    if text.endswith("y") and text[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{text[:-1]}ies"
    return f"{text}s"


def singular(noun: str) -> str:
    """A feature noun as text (``"small-vehicle"`` → ``"small vehicle"``)."""
    return noun.replace("_", " ").replace("-", " ")


def length_phrase(metres: float) -> str | None:
    """``about 350 m`` / ``about 1.2 km``; None under 25 m (nothing worth saying)."""
    if metres < 25:
        return None
    if metres < 975:
        return f"about {50 * math.floor(metres / 50 + 0.5)} m"
    return f"about {math.floor(metres / 100 + 0.5) / 10:.1f} km"


def length_interval(phrase: str) -> tuple[float, float]:
    """The length interval, m, of :func:`length_phrase`'s text."""
    parts = phrase.lower().split()
    value = float(parts[-2])
    if parts[-1] == "km":
        return value * 1000 - 50, value * 1000 + 50
    return value - 25, value + 25


def area_limit(text: str) -> float:
    """The m² of an :data:`AREA_LADDER` phrase."""
    return next(limit for limit, words in AREA_LADDER if words == text)


def date_text(day: dt.date) -> str:
    """``1 March 2024``."""
    return f"{day.day} {day:%B} {day.year}"


def date_value(text: str) -> dt.date:
    """The date of a :func:`date_text` string."""
    return dt.datetime.strptime(text, "%d %B %Y").date()
