"""The work folder of a prediction: a Zarr store of block results, a journal and the job.

Every executor writes the same store and journal, so a run can be resumed by
any executor. Products are published out of the store under their final
names only when every block is final.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import zarr

from eoforge.predict.plan import Block


@dataclass(frozen=True)
class WorkStore:
    """Paths of a work folder (picklable for Dask workers).

    Attributes:
        folder: The work folder, beside the outputs (``<out>/.<scene>.work``).
    """

    folder: Path

    @property
    def store(self) -> Path:
        """The Zarr store: one group per block."""
        return self.folder / "blocks.zarr"

    @property
    def journal(self) -> Journal:
        """The journal of finished steps."""
        return Journal(self.folder / "journal.txt")

    def group(self, block: Block, mode: Literal["r", "r+", "w"] = "r") -> zarr.Group:
        """``block``'s Zarr group (``mode``: ``r``, ``r+``, ``w``)."""
        return zarr.open_group(str(self.store / block.name), mode=mode)

    def path(self, block: Block, name: str) -> Path:
        """Folder of array ``name`` of ``block``'s group."""
        return self.store / block.name / name

    def piece(self, block: Block, name: str) -> Path:
        """Path of file ``name`` of ``block`` beside the Zarr store (e.g. finished pixels)."""
        return self.folder / "pieces" / f"{block.name}.{name}"

    def save_arrays(self, block: Block, name: str, arrays: dict[str, npt.NDArray[Any]]) -> None:
        """Store a small table of ``block`` (e.g. its detections) as ``<block>/<name>.npz``.

        Written under a temporary name and renamed, so a killed run never leaves a
        torn table that a resumed one would read.
        """
        folder = self.store / block.name
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{name}.npz"
        tmp = folder / f".{name}.{os.getpid()}.partial.npz"
        np.savez(tmp, allow_pickle=False, **arrays)
        os.replace(tmp, final)

    def load_arrays(self, block: Block, name: str) -> dict[str, npt.NDArray[Any]]:
        """The table ``name`` of ``block`` stored by :meth:`save_arrays`."""
        with np.load(self.store / block.name / f"{name}.npz", allow_pickle=False) as data:
            return {key: data[key] for key in data.files}


class Journal:
    """Append-only record of finished steps (``computed <block>``, ``final <block>``).

    Each line is flushed and synced before the call returns, so a killed run never
    records a step whose data is not on disk.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def done(self) -> set[str]:
        """Steps recorded so far (a torn last line is ignored)."""
        if not self.path.exists():
            return set()
        return set(self.path.read_text().split("\n")[:-1])

    def add(self, step: str) -> None:
        """Record ``step``."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{step}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def prepare_work(work: WorkStore, fingerprint: dict[str, object], resume: bool) -> Journal:
    """Create (or, with ``resume``, reuse if it describes the same job) the work folder.

    Args:
        work: The work folder.
        fingerprint: JSON-ready description of the job; a different one starts over.
        resume: Keep the journal and store of an interrupted run of the same job.

    Returns:
        The journal (empty unless resuming).
    """
    path = work.folder / "job.json"
    text = json.dumps(fingerprint, sort_keys=True)
    same = path.exists() and path.read_text() == text
    if not (resume and same):
        shutil.rmtree(work.folder, ignore_errors=True)
        work.folder.mkdir(parents=True)
        path.write_text(text)
    return work.journal
