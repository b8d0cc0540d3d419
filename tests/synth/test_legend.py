"""The synthetic legend: ClassInfo classes, and legend.json in the format its readers expect."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eoforge.classes import ClassInfo
from eoforge.synth.world import legend
from eoforge.synth.write.legend_json import legend_document

#: SHA-256 of legend.json as the generator has always written it (readers depend on it).
LEGEND_SHA256 = "d3e8cf9dad6270db2576964f2cac0f6f3d89b9788d009cbcf5f4f39675ea679b"


def test_legend_json_bytes_are_unchanged() -> None:
    data = json.dumps(legend_document(), indent=2).encode()
    assert hashlib.sha256(data).hexdigest() == LEGEND_SHA256


def test_legend_json_entries_read_back_as_the_classes(scene_root: Path) -> None:
    document = json.loads((scene_root / "legend.json").read_text())
    for family, classes in legend.LEGENDS.items():
        entries = document[family]
        assert [set(e) for e in entries] == [{"value", "name", "color", "description"}] * len(
            classes
        )
        read = tuple(
            ClassInfo(id=e["value"], name=e["name"], color=e["color"], description=e["description"])
            for e in entries
        )
        assert read == classes
    building = next(e for e in document["landcover"] if e["name"] == "building")
    assert building["value"] == legend.BUILDING and building["color"] == [200, 30, 30]


def test_colour_tables_are_opaque_rgba() -> None:
    table = legend.colormap(legend.LAND_COVER)
    assert table[legend.WATER] == (38, 115, 202, 255)
    assert set(table) == {c.id for c in legend.LAND_COVER}
