"""Object-detection datasets (DOTA, DIOR/DIOR-R, NWPU VHR-10, xView3-SAR, M4-SAR).

Being written: no entry yet.
"""

from __future__ import annotations

from eoforge.datasets.entry import DatasetEntry

ENTRIES: tuple[DatasetEntry, ...] = ()
"""The entries of this module, in listing order."""
