"""``legend.json``: names, codes and colours of every label raster of a scene.

The file maps each label family (``landcover``, ``croptype``, ``change``,
``cloudmask``) to its entries ``{"value": id, "name": ..., "color": [r, g, b],
"description": ...}``, and lists the object classes and the nodata codes. The
experiment config and the evaluation readers read this format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eoforge.classes import ClassInfo
from eoforge.synth.world import legend
from eoforge.synth.write.atomic import write_bytes_atomic
from eoforge.synth.write.manifest import WrittenFile

#: The manifest record of ``legend.json`` (a STAC collection asset).
LEGEND_FILE = WrittenFile(
    "legend.json",
    "json",
    "",
    "labels",
    "legend",
    media_type="application/json",
    roles=("metadata",),
)


def legend_entry(item: ClassInfo) -> dict[str, Any]:
    """One class as ``legend.json`` stores it: ``value``, ``name``, ``color`` [r, g, b], text."""
    return {
        "value": item.id,
        "name": item.name,
        "color": list(item.rgb),
        "description": item.description,
    }


def legend_document() -> dict[str, Any]:
    """Everything ``legend.json`` holds: every label raster's codes and colours."""
    return {
        **{name: [legend_entry(c) for c in family] for name, family in legend.LEGENDS.items()},
        "objects": list(legend.OBJECT_CLASSES),
        "label_nodata": {"landcover": legend.NODATA, "others": legend.LABEL_NODATA},
    }


def write_legend(root: Path) -> WrittenFile:
    """Write ``root/legend.json`` (temporary name, then rename).

    Args:
        root: Scene folder.

    Returns:
        Its manifest record.
    """
    write_bytes_atomic(root / "legend.json", json.dumps(legend_document(), indent=2).encode())
    return LEGEND_FILE
