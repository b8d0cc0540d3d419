"""Facts of change: what two class maps of one window say happened between their dates.

Only pixels valid on both dates count. A class *gains* the pixels that are it
on the later date and were another class on the earlier one, and *loses* the
reverse; the gained pixels' earlier classes are the gain's sources
("water spread over 18 % of the scene, mostly replacing cropland").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np

from eoforge.captions.facts import ChangeFacts, Gain, Loss
from eoforge.captions.landcover import Labels, Mask


def change_facts(
    before: Labels,
    after: Labels,
    names: Mapping[int, str],
    valid: Mask,
    start: dt.date,
    end: dt.date,
) -> ChangeFacts:
    """Gains, losses and their sources between two class maps of the same window.

    Args:
        before: Class ids ``[H, W]`` on the earlier date.
        after: Class ids ``[H, W]`` on the later date, same grid.
        names: Class name by id.
        valid: Pixels valid on both dates ``[H, W]``.
        start: Earlier date.
        end: Later date.

    Returns:
        The changes; shares are fractions of the valid pixels.
    """
    a = before[valid].astype(np.int64)
    b = after[valid].astype(np.int64)
    total = int(a.size)
    moved = a != b
    if total == 0 or not moved.any():
        return ChangeFacts(start.isoformat(), end.isoformat(), 0.0)
    gains, losses = [], []
    for value in np.unique(b[moved]):
        came = moved & (b == value)
        sources = np.bincount(a[came])
        gained = int(came.sum())
        gains.append(
            Gain(
                names[int(value)],
                gained / total,
                {names[int(s)]: float(sources[s]) / gained for s in np.flatnonzero(sources)},
            )
        )
    for value in np.unique(a[moved]):
        lost = int((moved & (a == value)).sum())
        losses.append(Loss(names[int(value)], lost / total))
    return ChangeFacts(
        start.isoformat(),
        end.isoformat(),
        float(moved.sum()) / total,
        tuple(sorted(gains, key=lambda g: (-g.share, g.name))),
        tuple(sorted(losses, key=lambda g: (-g.share, g.name))),
    )
