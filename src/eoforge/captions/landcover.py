"""Facts of a land-cover window: class shares, where each class lies, what crosses it.

Positions are measured on a class's mask, with pixel centres at
``x = (col + 0.5) / W`` and ``y = (row + 0.5) / H`` (0-1, north-west origin).
A term is true when the mask's pixels fall in the named part of the window:

* ``north`` / ``south`` / ``west`` / ``east``: at least :data:`HALF_SHARE` of
  them in that half (``y < 0.5`` for north, ``x > 0.5`` for east...);
* ``north-west``, ``north-east``, ``south-west``, ``south-east``: at least
  :data:`QUADRANT_SHARE` in that quadrant;
* ``north edge``... ``west edge``: at least :data:`EDGE_SHARE` in the outer
  quarter strip along that side, and the pixels in the strip spanning at least
  half of the side's length;
* ``centre``: at least :data:`CENTRE_SHARE` in the central box ``0.25-0.75``;
* ``scattered``: at least :data:`SCATTER_SHARE` in each of the four quadrants.

A class crosses the window from west to east when one 8-connected component of
its mask touches both the first and the last column (north-south: rows).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from eoforge.captions.facts import ClassShare, Crossing, Placement

HALF_SHARE = 2 / 3
"""Share of a class's pixels that must lie in a half for ``north``, ``east``..."""

QUADRANT_SHARE = 0.6
"""Share of a class's pixels that must lie in a quadrant for ``north-west``..."""

EDGE_SHARE = 0.6
"""Share of a class's pixels that must lie in the outer quarter strip for ``... edge``."""

CENTRE_SHARE = 0.6
"""Share of a class's pixels that must lie in the central box for ``centre``."""

SCATTER_SHARE = 0.15
"""Share of a class's pixels that each quadrant must hold for ``scattered``."""

PLACE_MIN = 0.03
"""Smallest share of the window for which a class's position is measured."""

PLACE_MAX = 0.6
"""Largest share of the window for which a class's position is measured (beyond: everywhere)."""

LINEAR_NAMES = frozenset({"water", "river", "road", "railway", "canal", "stream", "track"})
"""Class names whose crossings are measured (the ones people call linear features)."""

HALVES = ("north", "south", "west", "east")
QUADRANTS = ("north-west", "north-east", "south-west", "south-east")
EDGES = ("north edge", "south edge", "west edge", "east edge")
REGIONS = (*EDGES, *QUADRANTS, *HALVES, "centre", "scattered")
"""Every position term, most specific first."""

Labels = npt.NDArray[np.integer[Any]]
Mask = npt.NDArray[np.bool_]


def class_shares(labels: Labels, names: Mapping[int, str], valid: Mask) -> tuple[ClassShare, ...]:
    """Share of every class present among the valid pixels, largest first.

    Args:
        labels: Class ids ``[H, W]``.
        names: Class name by id (every id that occurs among valid pixels).
        valid: Valid pixels ``[H, W]``.

    Returns:
        One :class:`ClassShare` per class present; ties are ordered by name.
    """
    values = labels[valid].astype(np.int64)
    total = int(values.size)
    if total == 0:
        return ()
    counts = np.bincount(values)
    out = [
        ClassShare(names[int(i)], float(counts[i]) / total, int(counts[i]))
        for i in np.flatnonzero(counts)
    ]
    return tuple(sorted(out, key=lambda s: (-s.pixels, s.name)))


def region_shares(mask: Mask) -> dict[str, float]:
    """Share of a mask's pixels in each part of the window (see the module's definitions).

    Args:
        mask: ``[H, W]`` bool, at least one True.

    Returns:
        Share per half, quadrant, edge strip (``"north edge"``...), ``"centre"``,
        the edges' spans (``"north edge span"``... as a fraction of the side) and
        ``"scattered"`` (the smallest quadrant share).
    """
    height, width = mask.shape
    rows, cols = np.nonzero(mask)
    total = float(rows.size)
    y = (rows + 0.5) / height
    x = (cols + 0.5) / width
    north, west = y < 0.5, x < 0.5
    out = {
        "north": float(north.sum()) / total,
        "south": float((~north).sum()) / total,
        "west": float(west.sum()) / total,
        "east": float((~west).sum()) / total,
        "north-west": float((north & west).sum()) / total,
        "north-east": float((north & ~west).sum()) / total,
        "south-west": float((~north & west).sum()) / total,
        "south-east": float((~north & ~west).sum()) / total,
        "centre": float(((x > 0.25) & (x < 0.75) & (y > 0.25) & (y < 0.75)).sum()) / total,
    }
    strips = {
        "north edge": (y < 0.25, cols, width),
        "south edge": (y > 0.75, cols, width),
        "west edge": (x < 0.25, rows, height),
        "east edge": (x > 0.75, rows, height),
    }
    for name, (inside, along, side) in strips.items():
        out[name] = float(inside.sum()) / total
        positions = along[inside]
        out[f"{name} span"] = (
            float(positions.max() - positions.min() + 1) / side if positions.size else 0.0
        )
    out["scattered"] = min(out[q] for q in QUADRANTS)
    return out


def true_regions(shares: Mapping[str, float]) -> tuple[str, ...]:
    """The position terms that :func:`region_shares` supports, most specific first."""
    out: list[str] = []
    for edge in EDGES:
        if shares[edge] >= EDGE_SHARE and shares[f"{edge} span"] >= 0.5:
            out.append(edge)
    out += [q for q in QUADRANTS if shares[q] >= QUADRANT_SHARE]
    out += [h for h in HALVES if shares[h] >= HALF_SHARE]
    if shares["centre"] >= CENTRE_SHARE:
        out.append("centre")
    if shares["scattered"] >= SCATTER_SHARE:
        out.append("scattered")
    return tuple(out)


def placements(
    labels: Labels, shares: tuple[ClassShare, ...], ids: Mapping[str, int], valid: Mask
) -> tuple[Placement, ...]:
    """Positions of the classes that cover :data:`PLACE_MIN` to :data:`PLACE_MAX` of the window.

    Args:
        labels: Class ids ``[H, W]``.
        shares: The window's class shares.
        ids: Class id by name.
        valid: Valid pixels ``[H, W]``.

    Returns:
        One :class:`Placement` per such class with at least one true term.
    """
    out = []
    for item in shares:
        if not PLACE_MIN <= item.share <= PLACE_MAX:
            continue
        regions = true_regions(region_shares((labels == ids[item.name]) & valid))
        if regions:
            out.append(Placement(item.name, regions))
    return tuple(out)


def crosses(mask: Mask) -> tuple[str, ...]:
    """Axes along which one connected part of a mask joins opposite sides.

    Args:
        mask: ``[H, W]`` bool.

    Returns:
        ``"west-east"`` and/or ``"north-south"``.
    """
    if not mask.any():
        return ()
    parts, _ = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    out = []
    west, east = set(np.unique(parts[:, 0])) - {0}, set(np.unique(parts[:, -1])) - {0}
    if west & east:
        out.append("west-east")
    north, south = set(np.unique(parts[0, :])) - {0}, set(np.unique(parts[-1, :])) - {0}
    if north & south:
        out.append("north-south")
    return tuple(out)


def crossings(
    labels: Labels,
    shares: tuple[ClassShare, ...],
    ids: Mapping[str, int],
    valid: Mask,
    linear: Collection[str] = LINEAR_NAMES,
) -> tuple[Crossing, ...]:
    """Linear classes that cross the window (see :func:`crosses`).

    Args:
        labels: Class ids ``[H, W]``.
        shares: The window's class shares.
        ids: Class id by name.
        valid: Valid pixels ``[H, W]``.
        linear: Names of the classes to test.

    Returns:
        One :class:`Crossing` (source ``"labels"``) per class and axis.
    """
    out = []
    for item in shares:
        if item.name in linear and item.share < 1.0:
            for axis in crosses((labels == ids[item.name]) & valid):
                out.append(Crossing(item.name, axis, "labels"))
    return tuple(out)
