"""Bi-temporal change layouts (LEVIR-CD): image pairs with a change mask.

Prepared form (what ``data.kind: change_triplet`` reads): ``<split>/A/<name>``,
``<split>/B/<name>``, ``<split>/label/<name>`` (same file name in the three
folders); counts are pixels per class.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import extract_all
from eoforge.datasets.layouts.common import (
    Parsed,
    Parser,
    SplitSummary,
    Step,
    find_dir,
    pixel_counts,
    place,
    read_band1,
)
from eoforge.errors import ConfigError


def _levircd(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    names = [c.name for c in entry.classes]
    summaries = []
    for file in entry.files:
        split = file.splits[0]
        base = find_dir(
            extracted[file.filename],
            lambda p: all((p / d).is_dir() for d in ("A", "B", "label")),
            "A/, B/ and label/ folders",
        )
        if step is not None:
            step(f"linking and counting the {split} pairs")
        counts = Counter[str]()
        pairs = 0
        for image in sorted(p for p in (base / "A").iterdir() if p.is_file()):
            for sub in ("A", "B", "label"):
                source = base / sub / image.name
                if not source.is_file():
                    raise ConfigError(
                        f"{image.name} has no partner in {sub}/.",
                        path=base / sub,
                        fix="the archive is incomplete: download it again.",
                    )
                place(source, out / split / sub / image.name)
            counts.update(pixel_counts(read_band1(base / "label" / image.name), names, True))
            pairs += 1
        summaries.append(SplitSummary(split, out / split, pairs, {n: counts[n] for n in names}))
    return Parsed(summaries, "pixels")


PARSERS: dict[str, Parser] = {"levircd": _levircd}
"""Layout name to parser."""
