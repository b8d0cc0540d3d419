"""Object-detection layouts (DOTA, DIOR/DIOR-R, NWPU VHR-10, xView3-SAR, M4-SAR).

Being written: no parser registered yet.
"""

from __future__ import annotations

from eoforge.datasets.layouts.common import Parser

PARSERS: dict[str, Parser] = {}
"""Layout name to parser."""
