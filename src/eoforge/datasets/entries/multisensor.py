"""Multi-sensor datasets (METER-ML, GAMUS, GeoPlant, AGBD).

Being written: no entry yet.
"""

from __future__ import annotations

from eoforge.datasets.entry import DatasetEntry

ENTRIES: tuple[DatasetEntry, ...] = ()
"""The entries of this module, in listing order."""
