"""Glob patterns on the command line: the revisits or masks of a multi-frame scene."""

from __future__ import annotations

import glob
from pathlib import Path

from eoforge.errors import ConfigError


def expand(pattern: str, what: str) -> list[Path]:
    """The files a glob pattern matches, sorted by name; a path without wildcards as itself.

    Args:
        pattern: A path or a pattern with ``*``, ``?`` or ``[``.
        what: The argument's name, for the error.

    Raises:
        ConfigError: A pattern that matches nothing.
    """
    if not any(c in pattern for c in "*?["):
        return [Path(pattern)]
    found = sorted(Path(p) for p in glob.glob(pattern))
    if not found:
        raise ConfigError(
            f"{what} {pattern!r} matches no file.",
            fix="check the pattern (quote it so the shell does not expand it).",
        )
    return found
