"""Errors from DataLoader worker processes, given back as the eoforge error they were.

PyTorch sends an exception raised in a DataLoader worker to the main process
as its type and formatted traceback only (``torch._utils.ExceptionWrapper``),
and re-raises it there as ``type(message)``, the message starting ``Caught X
in DataLoader worker process N.`` and going on with the whole traceback. For
an :class:`~eoforge.errors.EoforgeError`, the user should read one line saying
what is wrong, in which file, and the fix: :func:`worker_errors_unwrapped`
turns the wrapped copy back into the original error, with the same type,
message and fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from eoforge.errors import EoforgeError

WRAPPED = re.compile(r"\ACaught \w+ in DataLoader worker process \d+\.\nOriginal Traceback")
"""Start of the message of an exception PyTorch re-raised from a DataLoader worker."""

FIX = " Fix: "
"""What :class:`~eoforge.errors.EoforgeError` puts between its message and its fix."""


def original_error(error: EoforgeError) -> EoforgeError:
    """The error a DataLoader worker raised, rebuilt from the wrapped copy PyTorch raises.

    The worker's traceback ends with the line ``module.ErrorType: <message>``;
    the rebuilt error has ``error``'s type and that message, with the fix
    split off again into ``fix``. The path (if any) stays part of the message,
    since the text cannot tell it apart from the message reliably.

    Args:
        error: An eoforge error, wrapped by PyTorch or not.

    Returns:
        The rebuilt error, or ``error`` itself when it does not come from a worker.
    """
    text = str(error)
    if not WRAPPED.match(text):
        return error
    kind = type(error)
    marker = f"\n{kind.__module__}.{kind.__qualname__}: "
    at = text.rfind(marker)
    if at < 0:
        return error
    line = text[at + len(marker) :].strip()
    reason, found, fix = line.rpartition(FIX)
    if not found:
        reason, fix = line, ""
    return kind(reason, fix=fix or None)


@contextmanager
def worker_errors_unwrapped() -> Iterator[None]:
    """Re-raise eoforge errors from DataLoader workers as the original error.

    The original is raised ``from`` PyTorch's wrapped copy, so a full
    traceback (``eoforge --debug``) still shows where the worker failed.

    Raises:
        EoforgeError: The error a worker raised (same type, message and fix),
            or any other eoforge error unchanged.
    """
    try:
        yield
    except EoforgeError as error:
        original = original_error(error)
        if original is error:
            raise
        raise original from error
