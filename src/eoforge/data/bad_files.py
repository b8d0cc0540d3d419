"""What a dataset does with a bad file: raise its error, or skip it and write it down.

A corrupt image, a mask without its image or an unknown mask colour is an
:class:`~eoforge.errors.EoforgeError` naming the file. Under the ``error``
policy it is raised as is; under ``skip`` it is appended to a log file (one
``path<TAB>reason`` line), which works from DataLoader worker processes too
(each line is one small append), and the dataset goes on without the file.
Training reads the log at the end and reports each skipped file once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from eoforge.errors import EoforgeError

Policy = Literal["error", "skip"]


class BadFiles:
    """A bad-file policy and, when skipping, the log of what was skipped.

    Args:
        policy: ``"error"`` raises every bad-file error, ``"skip"`` logs it.
        log: The log file (needed for ``"skip"``); appended to, never truncated.
    """

    def __init__(self, policy: Policy = "error", log: str | os.PathLike[str] | None = None) -> None:
        if policy == "skip" and log is None:
            raise ValueError("skipping bad files needs a log file")
        self.policy = policy
        self.log = None if log is None else Path(log)

    @property
    def skipping(self) -> bool:
        """True when bad files are skipped rather than raised."""
        return self.policy == "skip"

    def handle(self, error: EoforgeError) -> None:
        """Raise ``error`` (policy ``error``) or log it as skipped (policy ``skip``).

        Raises:
            EoforgeError: ``error`` itself under the ``error`` policy.
        """
        if not self.skipping:
            raise error
        assert self.log is not None
        where = error.path or "-"
        reason = " ".join(error.reason.split())
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a", encoding="utf-8") as out:  # one short append per line
            out.write(f"{where}\t{reason}\n")

    def skipped(self) -> dict[str, str]:
        """Each skipped file once, with the first reason logged for it (empty: none)."""
        if self.log is None or not self.log.is_file():
            return {}
        found: dict[str, str] = {}
        for line in self.log.read_text(encoding="utf-8").splitlines():
            path, _, reason = line.partition("\t")
            found.setdefault(path, reason)
        return found


RAISE = BadFiles("error")
"""The default policy: every bad file is an error."""
