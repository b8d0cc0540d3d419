"""The registry's dataset entries, one module per task family.

Each module has an ``ENTRIES`` tuple; :mod:`eoforge.datasets.registry` gathers them.
"""

from __future__ import annotations

from eoforge.datasets.entries import (
    change,
    classification,
    detection,
    multilabel,
    multisensor,
    pretraining,
    segmentation,
    superres,
    text,
)
from eoforge.datasets.entry import DatasetEntry

ALL: tuple[DatasetEntry, ...] = (
    *classification.ENTRIES,
    *multilabel.ENTRIES,
    *segmentation.ENTRIES,
    *change.ENTRIES,
    *detection.ENTRIES,
    *multisensor.ENTRIES,
    *pretraining.ENTRIES,
    *superres.ENTRIES,
    *text.ENTRIES,
)
"""Every built-in entry."""
