"""Console state shared by every ``eoforge`` sub-command.

The root options ``--quiet`` and ``--debug`` are stored here (by
:func:`configure`, called from the root callback), and every sub-command prints
through the consoles below instead of creating its own, so that they all obey
the same rules:

* :func:`console` is for progress, spinners, summary tables and notes. Under
  ``--quiet`` it prints nothing, and :func:`progress` / :func:`status` show
  nothing.
* :func:`out` is for a command's result: the lines naming what was written
  (``wrote maps/scene_classes.tif``) and what a read-only command was asked to
  show (``eoforge info``, ``eoforge models``). It prints even under ``--quiet``,
  so scripts can use ``--quiet`` and still read the paths.
* :func:`err_console` is for errors (on stderr); it is never quiet.

``--debug`` only changes how errors are reported (full traceback before the
one-line message); :func:`is_debug` lets a command show more detail too.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn

FALLBACK_WIDTH = 160
"""Width of output sent to a pipe or file when ``COLUMNS`` is not set."""


class _State:
    quiet = False
    debug = False
    console: Console | None = None
    out: Console | None = None
    err: Console | None = None


_STATE = _State()


def _width() -> int | None:
    """Terminal width, ``COLUMNS``, or a wide default for pipes (tables stay readable)."""
    if os.environ.get("COLUMNS") or Console().is_terminal:
        return None
    return FALLBACK_WIDTH


def configure(*, quiet: bool = False, debug: bool = False) -> None:
    """Set the ``--quiet`` and ``--debug`` state and start fresh consoles.

    Called once per invocation by the root callback; the consoles pick up the
    terminal width and ``COLUMNS`` at that moment.
    """
    _STATE.quiet = quiet
    _STATE.debug = debug
    _STATE.console = _STATE.out = _STATE.err = None


def set_quiet(quiet: bool) -> None:
    """Turn ``--quiet`` on or off (the progress console is recreated)."""
    _STATE.quiet = quiet
    _STATE.console = None


def set_debug(debug: bool) -> None:
    """Turn ``--debug`` on or off."""
    _STATE.debug = debug


def is_quiet() -> bool:
    """Whether ``--quiet`` was given: no progress, tables or notes."""
    return _STATE.quiet


def is_debug() -> bool:
    """Whether ``--debug`` was given: full tracebacks on errors."""
    return _STATE.debug


def console() -> Console:
    """The stdout console for progress, tables and notes; silent under ``--quiet``."""
    if _STATE.console is None:
        _STATE.console = Console(width=_width(), quiet=_STATE.quiet, highlight=False)
    return _STATE.console


def out() -> Console:
    """The stdout console for a command's result; prints even under ``--quiet``."""
    if _STATE.out is None:
        _STATE.out = Console(width=_width(), highlight=False)
    return _STATE.out


def err_console() -> Console:
    """The stderr console for errors; never quiet."""
    if _STATE.err is None:
        _STATE.err = Console(stderr=True, width=_width(), highlight=False)
    return _STATE.err


def result(text: str) -> None:
    """Print one result line (e.g. ``wrote ...``) unwrapped, even under ``--quiet``."""
    out().print(text, soft_wrap=True, highlight=False)


def progress(*columns: str | ProgressColumn, transient: bool = False, **kwargs: Any) -> Progress:
    """A rich progress display on :func:`console`, disabled under ``--quiet``.

    Args:
        columns: Progress columns (rich's defaults when none are given).
        transient: Remove the bars when done.
        kwargs: Further :class:`rich.progress.Progress` arguments.

    Returns:
        The progress display, to use as a context manager.
    """
    return Progress(*columns, console=console(), disable=is_quiet(), transient=transient, **kwargs)


def status(message: str) -> AbstractContextManager[object]:
    """A spinner with ``message`` while a block runs; nothing under ``--quiet``."""
    if is_quiet():
        return nullcontext()
    return console().status(message)
