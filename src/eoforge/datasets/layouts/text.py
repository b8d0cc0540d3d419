"""Image-text layouts (SkyScript).

Being written: no parser registered yet.
"""

from __future__ import annotations

from eoforge.datasets.layouts.common import Parser

PARSERS: dict[str, Parser] = {}
"""Layout name to parser."""
