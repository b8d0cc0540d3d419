"""Image-text datasets (SkyScript).

Being written: no entry yet.
"""

from __future__ import annotations

from eoforge.datasets.entry import DatasetEntry

ENTRIES: tuple[DatasetEntry, ...] = ()
"""The entries of this module, in listing order."""
