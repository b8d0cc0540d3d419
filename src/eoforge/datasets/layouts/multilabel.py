"""Multi-label patch layouts (BigEarthNet v1): one folder per patch with its labels.

Prepared form (what ``data.kind: bigearthnet`` reads): ``<split>/<patch>``, a
relative symbolic link to the extracted patch folder; counts are patches per
class (19-class nomenclature).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from eoforge.datasets.bigearthnet_labels import CLASS_43_TO_19, CLASSES_43
from eoforge.datasets.download import not_downloaded
from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import extract_all
from eoforge.datasets.layouts.common import Parsed, Parser, SplitSummary, Step, find_dir, link_dir
from eoforge.errors import ConfigError


def _bigearthnet(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    patches_dir = find_dir(
        extracted,
        lambda p: any(p.glob("*/*_labels_metadata.json")),
        "patch folders with *_labels_metadata.json",
    )
    names = [c.name for c in entry.classes]
    index_43 = {name: i for i, name in enumerate(CLASSES_43)}
    summaries = []
    for split in entry.splits:
        csv_path = folder / f"bigearthnet-{split}.csv"
        if not csv_path.is_file():
            raise not_downloaded(entry, csv_path)
        if step is not None:
            step(f"linking and counting the {split} patches")
        with open(csv_path, newline="") as f:
            patches = [row[0].strip() for row in csv.reader(f) if row and row[0].strip()]
        counts = Counter[str]()
        (out / split).mkdir(parents=True, exist_ok=True)
        for patch in patches:
            source = patches_dir / patch
            meta = source / f"{patch}_labels_metadata.json"
            if not meta.is_file():
                raise ConfigError(
                    f"patch {patch!r} of {csv_path.name} is not in the archive.",
                    path=patches_dir,
                    fix="the archive is incomplete: download it again.",
                )
            link_dir(source, out / split / patch)
            labels = json.loads(meta.read_text()).get("labels", [])
            found = {CLASS_43_TO_19.get(index_43.get(label, -1), -1) for label in labels}
            counts.update(names[i] for i in found if i >= 0)
        summaries.append(
            SplitSummary(split, out / split, len(patches), {n: counts[n] for n in names})
        )
    return Parsed(summaries, "patches")


PARSERS: dict[str, Parser] = {"bigearthnet": _bigearthnet}
"""Layout name to parser."""
