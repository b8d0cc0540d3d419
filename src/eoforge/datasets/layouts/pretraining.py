"""Unlabelled pretraining layouts (SSL4EO-S12, SpectralEarth).

Being written: no parser registered yet.
"""

from __future__ import annotations

from eoforge.datasets.layouts.common import Parser

PARSERS: dict[str, Parser] = {}
"""Layout name to parser."""
