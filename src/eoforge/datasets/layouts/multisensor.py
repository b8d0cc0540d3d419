"""Multi-sensor layouts (METER-ML, GAMUS, GeoPlant, AGBD).

Being written: no parser registered yet.
"""

from __future__ import annotations

from eoforge.datasets.layouts.common import Parser

PARSERS: dict[str, Parser] = {}
"""Layout name to parser."""
