"""What a caption may say about a window: facts measured on its labels, as plain records.

Facts are measured once (:mod:`~eoforge.captions.landcover`,
:mod:`~eoforge.captions.vectors`, :mod:`~eoforge.captions.change`), turned
into sentences (:mod:`~eoforge.captions.sentences`) and stored with every
caption as JSON (:meth:`WindowFacts.to_json`), so that a caption can be checked
against them later (:func:`~eoforge.captions.verify.verify`). Shares are
fractions of the window's valid (not nodata) pixels, 0-1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ClassShare:
    """One class present in a window.

    Attributes:
        name: Class name (from the legend).
        share: Fraction of the window's valid pixels, 0-1.
        pixels: Pixel count.
    """

    name: str
    share: float
    pixels: int


@dataclass(frozen=True)
class Placement:
    """Where a class lies in a window: every position term true of its mask.

    Attributes:
        name: Class name.
        regions: The true terms among ``north``, ``south``, ``east``, ``west``,
            ``north-west``... (quadrants), ``north edge``... (edges),
            ``centre`` and ``scattered``
            (definitions in :mod:`~eoforge.captions.landcover`).
    """

    name: str
    regions: tuple[str, ...]


@dataclass(frozen=True)
class Crossing:
    """A linear feature that crosses the window from one side to the opposite one.

    Attributes:
        name: Class name (labels) or feature noun (vectors, e.g. ``"major road"``).
        axis: ``"west-east"`` or ``"north-south"``.
        source: ``"labels"`` or the vector layer's name.
    """

    name: str
    axis: str
    source: str


@dataclass(frozen=True)
class FeatureCount:
    """Features of a vector layer whose centroid lies in the window.

    Attributes:
        layer: Layer name (file stem, e.g. ``"buildings"``).
        noun: Singular noun of one feature (``"building"``, ``"ship"``).
        count: Number of features.
        areas: Footprint areas, m², one per feature (whole footprints, not clipped).
        kinds: Count per value of the layer's class column (empty without one).
    """

    layer: str
    noun: str
    count: int
    areas: tuple[float, ...] = ()
    kinds: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LineLength:
    """Length of a line layer inside the window.

    Attributes:
        layer: Layer name (e.g. ``"roads"``).
        noun: Plural noun spoken for it (``"roads"``).
        metres: Length clipped to the window, m.
    """

    layer: str
    noun: str
    metres: float


@dataclass(frozen=True)
class Gain:
    """Pixels that became a class between two dates.

    Attributes:
        name: Class on the later date.
        share: Fraction of the pixels valid on both dates, 0-1.
        sources: Fraction of these pixels by their class on the earlier date.
    """

    name: str
    share: float
    sources: dict[str, float]


@dataclass(frozen=True)
class Loss:
    """Pixels that stopped being a class between two dates.

    Attributes:
        name: Class on the earlier date.
        share: Fraction of the pixels valid on both dates, 0-1.
    """

    name: str
    share: float


@dataclass(frozen=True)
class ChangeFacts:
    """Changes between two class maps of the same window.

    Attributes:
        start: Earlier date, ISO ``YYYY-MM-DD``.
        end: Later date, ISO.
        changed: Fraction of the pixels valid on both dates whose class changed.
        gains: One entry per class that gained pixels.
        losses: One entry per class that lost pixels.
    """

    start: str
    end: str
    changed: float
    gains: tuple[Gain, ...] = ()
    losses: tuple[Loss, ...] = ()


@dataclass(frozen=True)
class WindowFacts:
    """Everything a caption of one window may state.

    Attributes:
        legend: Every class name of the legend (nodata excluded), also those absent.
        pixels: Valid pixels of the window.
        shares: Classes present, largest share first.
        placements: Positions of the notable classes.
        crossings: Linear features that cross the window.
        counts: Feature counts per vector layer (and per class for object layers).
        lines: Line lengths per vector layer.
        change: Changes from an earlier date, or None.
    """

    legend: tuple[str, ...]
    pixels: int
    shares: tuple[ClassShare, ...]
    placements: tuple[Placement, ...] = ()
    crossings: tuple[Crossing, ...] = ()
    counts: tuple[FeatureCount, ...] = ()
    lines: tuple[LineLength, ...] = ()
    change: ChangeFacts | None = None

    def share(self, name: str) -> float:
        """Share of a class, 0 when absent."""
        return next((s.share for s in self.shares if s.name == name), 0.0)

    def regions(self, name: str) -> tuple[str, ...]:
        """True position terms of a class (empty when not placed)."""
        return next((p.regions for p in self.placements if p.name == name), ())

    def to_json(self) -> str:
        """The facts as compact JSON (the caption table's ``facts`` column)."""
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> WindowFacts:
        """Facts back from :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        change = data.get("change")
        return cls(
            legend=tuple(data["legend"]),
            pixels=int(data["pixels"]),
            shares=tuple(ClassShare(**s) for s in data["shares"]),
            placements=tuple(
                Placement(p["name"], tuple(p["regions"])) for p in data.get("placements", [])
            ),
            crossings=tuple(Crossing(**c) for c in data.get("crossings", [])),
            counts=tuple(
                FeatureCount(
                    layer=c["layer"],
                    noun=c["noun"],
                    count=int(c["count"]),
                    areas=tuple(c.get("areas", ())),
                    kinds=dict(c.get("kinds", {})),
                )
                for c in data.get("counts", [])
            ),
            lines=tuple(LineLength(**item) for item in data.get("lines", [])),
            change=None
            if change is None
            else ChangeFacts(
                start=change["start"],
                end=change["end"],
                changed=float(change["changed"]),
                gains=tuple(Gain(**g) for g in change.get("gains", [])),
                losses=tuple(Loss(**item) for item in change.get("losses", [])),
            ),
        )
