"""Exceptions raised by eoforge for predictable input mistakes.

Every exception carries a message that says what was wrong, in which file, and
what to do about it. They all derive from :class:`EoforgeError`, so callers
(and the CLI) can catch one type and print a one-line message instead of a deep
traceback from GDAL or PyTorch.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from os import PathLike


def _path_text(path: str | PathLike[str]) -> str:
    """The path itself (``os.fspath``), also for path-like objects whose ``str`` is no path."""
    return os.fspath(path) if isinstance(path, str | PathLike) else str(path)


def _fmt_path(path: str | PathLike[str] | None) -> str:
    return "" if path is None else f"{_path_text(path)}: "


class EoforgeError(Exception):
    """Base class of every error eoforge raises for bad input.

    Args:
        message: What went wrong.
        path: The file or folder concerned, if any; it prefixes the message.
        fix: What the user should do about it; it is appended to the message.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = None if path is None else _path_text(path)
        self.fix = fix
        self.reason = message
        text = f"{_fmt_path(path)}{message}"
        if fix:
            text = f"{text} Fix: {fix}"
        super().__init__(text)


class UnreadableFileError(EoforgeError):
    """A file cannot be opened or decoded (corrupt, truncated, wrong format)."""


class EmptyFileError(UnreadableFileError):
    """A file has zero bytes."""


class MissingFileError(EoforgeError, FileNotFoundError):
    """A path that was given does not exist."""


class NotGeoreferencedError(EoforgeError):
    """A raster has no CRS or no geotransform, so it cannot be placed on a grid."""


class OutsideSourcesError(EoforgeError):
    """A requested window does not overlap any source."""


class LabelsOutsideSceneError(EoforgeError):
    """A label layer does not overlap the scene (or request grid) it should label."""


class BandNotFoundError(EoforgeError, KeyError):
    """A band name is unknown, or no source provides it."""

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return Exception.__str__(self)


class CRSMismatchError(EoforgeError):
    """Two coordinate reference systems cannot be reconciled or reprojected."""


class UnsupportedDtypeError(EoforgeError):
    """A raster's data type cannot be turned into float32 without a user choice."""


class MetadataError(EoforgeError):
    """Product metadata (MTL, MTD, STAC) is missing a field or malformed."""


class RadiometryError(EoforgeError):
    """Pixel values are not the physical quantity an operation needs (dB, not linear, say)."""


class CatalogError(EoforgeError):
    """A catalog cannot be built, loaded or queried as asked."""


class ConfigError(EoforgeError):
    """A configuration value is invalid."""


class DownloadError(EoforgeError):
    """A file cannot be downloaded, or what arrived is not the published file."""


class UnsafeArchiveError(EoforgeError):
    """An archive holds a member that would escape its folder or exceed the size bound."""


def available_list(names: Iterable[str], limit: int = 40) -> str:
    """Format a list of available names for an error message.

    Args:
        names: The names to list.
        limit: How many to show before eliding the rest.

    Returns:
        A comma-separated string, elided with a count past ``limit``.
    """
    items = sorted(set(names))
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f", ... ({len(items) - limit} more)"
    return shown or "(none)"


class UnsafeModelFileError(EoforgeError):
    """A weights file would need unpickling arbitrary Python objects to load."""


def close_matches(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The candidates closest to a mistyped ``name`` (case-insensitive), best first.

    Args:
        name: The name that was not found.
        candidates: Valid names.
        limit: How many to return at most.

    Returns:
        Up to ``limit`` candidates, spelled as given; empty when none is close.
    """
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(candidate.lower(), candidate)
    found = difflib.get_close_matches(name.lower(), list(by_key), n=limit, cutoff=0.6)
    return [by_key[key] for key in found]


def did_you_mean(matches: Sequence[str]) -> str:
    """``"Did you mean S2.B09 or S2.B12?"`` for the given close matches, ``""`` for none."""
    if not matches:
        return ""
    listed = matches[0] if len(matches) == 1 else f"{', '.join(matches[:-1])} or {matches[-1]}"
    return f"Did you mean {listed}?"
