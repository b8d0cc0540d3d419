"""Spectral indices as band names: ``ASI.<index>`` for the Awesome Spectral Indices catalogue.

Any index of the catalogue (Montero et al. 2023, the ``spyndex`` package: NDVI, EVI,
NDWI, NBR, VHVVR...) can be named like a band, ``ASI.NDVI``, wherever bands are
named (``data.bands`` of a config, :func:`eoforge.io.read`, ``eoforge predict``
through a bundle's bands). Such a band is computed from the other bands of the
rasters read (:mod:`eoforge.io.derived`), so a model trained on
``[S2.B04, S2.B08, ASI.NDVI]`` gets its NDVI channel in training and in whole-scene
prediction alike. The names resolve lazily: the catalogue loads on the first
``ASI.*`` lookup, never at start-up.
"""

from __future__ import annotations

from functools import cache

from eoforge.errors import BandNotFoundError, did_you_mean
from eoforge.sensors.band import Band

PREFIX = "ASI"
"""The pseudo-sensor of catalogue indices (``ASI.NDVI``)."""


@cache
def _table() -> dict[str, tuple[str, str]]:
    """Lower-case short name -> (short name, long name) of every catalogue index."""
    # spyndex loads only when an ASI.* name is looked up: it imports requests (0.5 s start-up)
    import spyndex

    return {name.lower(): (name, str(entry.long_name)) for name, entry in spyndex.indices.items()}


def is_index_name(name: str) -> bool:
    """Whether ``name`` is written as a catalogue index band (``ASI.<something>``, any case)."""
    prefix, dot, _ = name.partition(".")
    return bool(dot) and prefix.upper() == PREFIX


def index_band(short: str) -> Band:
    """The band of catalogue index ``short`` (any case): ``index_band("ndvi").name == "ASI.NDVI"``.

    Raises:
        BandNotFoundError: The catalogue has no such index (close names suggested).
    """
    entry = _table().get(short.lower())
    if entry is None:
        close = [f"{PREFIX}.{_table()[k][0]}" for k in _close(short.lower())]
        raise BandNotFoundError(
            f"the Awesome Spectral Indices catalogue has no index {short!r}. {did_you_mean(close)}",
            fix="use a catalogue short name, e.g. ASI.NDVI, ASI.EVI, ASI.NDWI, ASI.NBR, ASI.VHVVR.",
        )
    name, long_name = entry
    return Band(
        name=f"{PREFIX}.{name}",
        sensor=PREFIX,
        id=name,
        description=f"{long_name} (Awesome Spectral Indices), computed from the bands read",
    )


def _close(short: str) -> list[str]:
    import difflib  # (only for the message of a mistyped name)

    return difflib.get_close_matches(short, list(_table()), n=3, cutoff=0.6)
