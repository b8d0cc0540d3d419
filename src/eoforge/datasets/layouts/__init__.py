"""Layout parsers: a dataset's extracted files in, eoforge's prepared split folders out.

One module per family of layouts; each has a ``PARSERS`` dict (layout name to
:data:`~eoforge.datasets.layouts.common.Parser`) and documents the prepared
form it writes under ``<root>/<dataset>/eoforge/<split>/``:

* :mod:`~.classification`: class folders (EuroSAT, UC Merced, RSSCN7).
* :mod:`~.segmentation`: images and class-id masks (LandCover.ai, SpaceNet).
* :mod:`~.change`: image pairs with change masks (LEVIR-CD, S2Looking, OSCD, DSIFN, BRIGHT).
* :mod:`~.multilabel`: BigEarthNet patch folders.
* :mod:`~.detection`: images with an object table (DOTA, DIOR, NWPU VHR-10, xView3, M4-SAR).
* :mod:`~.pretraining`: unlabelled patches (SSL4EO-S12, SpectralEarth).
* :mod:`~.superres`: low-resolution revisits with a high-resolution target (WorldStrat).
* :mod:`~.text`: images with captions (SkyScript).
* :mod:`~.multisensor`: several sensors per sample (METER-ML, GAMUS, GeoPlant, AGBD).
"""

from __future__ import annotations

from eoforge.datasets.layouts import (
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
from eoforge.datasets.layouts.common import Parsed, Parser, SplitSummary, Step

PARSERS: dict[str, Parser] = {}
"""Every layout name to its parser."""
for _module in (
    classification,
    segmentation,
    change,
    multilabel,
    detection,
    pretraining,
    superres,
    text,
    multisensor,
):
    for _name, _parser in _module.PARSERS.items():
        if _name in PARSERS:
            raise RuntimeError(f"layout {_name!r} is defined twice")  # a programming error
        PARSERS[_name] = _parser

__all__ = ["PARSERS", "Parsed", "Parser", "SplitSummary", "Step"]
