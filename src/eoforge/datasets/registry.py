"""The registry of public datasets: one :class:`DatasetEntry` each, looked up by name.

Checksums are copied from the dataset's publisher or from the record of an
established loader for the same URL (named in ``checksum_source``); where
none is known the field is None and the first download records the file's
SHA-256 (see :mod:`eoforge.datasets.download`). Sizes are exact only where
published; ``approx_size`` is a rough figure for listings.

Example:
    >>> from eoforge.datasets import get
    >>> entry = get("eurosat-rgb")
    >>> entry.task, entry.bands, len(entry.classes)
    ('scene_classification', ('RGB.red', 'RGB.green', 'RGB.blue'), 10)
"""

from __future__ import annotations

from eoforge.datasets.entries import ALL
from eoforge.datasets.entry import DatasetEntry
from eoforge.errors import ConfigError, available_list, close_matches, did_you_mean


def _check_layout(entry: DatasetEntry) -> DatasetEntry:
    # Deferred: the parsers import rasterio and numpy, which listing datasets does not need
    # (the built-in entries' layouts are checked by the test suite).
    from eoforge.datasets.layouts import PARSERS

    if entry.layout not in PARSERS:
        raise ConfigError(
            f"dataset {entry.name!r} names an unknown layout {entry.layout!r}.",
            fix=f"use one of {available_list(PARSERS)}.",
        )
    return entry


_ENTRIES: dict[str, DatasetEntry] = {}
for _entry in ALL:
    if _entry.name in _ENTRIES:
        raise RuntimeError(f"dataset {_entry.name!r} is defined twice")  # a programming error
    _ENTRIES[_entry.name] = _entry


def entries() -> list[DatasetEntry]:
    """Every registered dataset, sorted by name."""
    return [_ENTRIES[name] for name in sorted(_ENTRIES)]


def get(name: str) -> DatasetEntry:
    """The entry called ``name`` (case-insensitive).

    Raises:
        ConfigError: No such dataset; the message suggests close names.
    """
    entry = _ENTRIES.get(name.strip().lower())
    if entry is not None:
        return entry
    hint = did_you_mean(close_matches(name, _ENTRIES))
    raise ConfigError(
        f"unknown dataset {name!r}. {hint}".strip(),
        fix=f"use one of {available_list(_ENTRIES)} (`eoforge datasets list`).",
    )


def register(entry: DatasetEntry, *, replace: bool = False) -> DatasetEntry:
    """Add a dataset entry (a private mirror, a dataset of your own) to the registry.

    Args:
        entry: The entry; its ``layout`` must be one of the known parsers.
        replace: Replace an entry of the same name instead of refusing.

    Returns:
        The entry.

    Raises:
        ConfigError: An entry of that name exists and ``replace`` is False, or its
            layout is not a known parser.
    """
    if entry.name in _ENTRIES and not replace:
        raise ConfigError(
            f"a dataset called {entry.name!r} is registered already.",
            fix="choose another name, or pass replace=True.",
        )
    _ENTRIES[entry.name] = _check_layout(entry)
    return entry


def unregister(name: str) -> None:
    """Remove a dataset entry added with :func:`register` (no error if absent)."""
    _ENTRIES.pop(name, None)
