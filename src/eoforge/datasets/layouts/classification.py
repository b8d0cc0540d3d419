"""Class-folder layouts (EuroSAT, UC Merced, RSSCN7): ``<class>/<image>`` files.

EuroSAT and UC Merced are split by published lists. RSSCN7 has no official
split: its ``RSSCN7-master/<class>/*.jpg`` images (the GitHub archive of the
dataset's repository) all go to the one split ``all``.

Prepared form: ``<split>/<class>/<image>`` (hard links), every class folder in
every split so class indices stay aligned; counts are images per class.
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
    place,
    read_lines,
)
from eoforge.errors import ConfigError


def class_folders(
    entry: DatasetEntry, images: Path, lists: dict[str, list[str]], out: Path
) -> Parsed:
    """Link ``images/<class>/<file>`` into ``out/<split>/<class>/<file>`` by the split lists."""
    split_of = {Path(item).stem: split for split, items in lists.items() for item in items}
    names = [c.name for c in entry.classes]
    counts = {s: Counter[str]() for s in entry.splits}
    unassigned = 0
    for split in entry.splits:
        for name in names:  # every class in every split: class indices stay aligned
            (out / split / name).mkdir(parents=True, exist_ok=True)
    for folder in sorted(p for p in images.iterdir() if p.is_dir()):
        if folder.name not in names:
            raise ConfigError(
                f"unexpected class folder {folder.name!r}.",
                path=folder,
                fix=f"the entry's classes are {names}; the archive has changed.",
            )
        for image in sorted(p for p in folder.iterdir() if p.is_file()):
            chosen = split_of.get(image.stem)
            if chosen is None:
                unassigned += 1
                continue
            place(image, out / chosen / folder.name / image.name)
            counts[chosen][folder.name] += 1
    summaries = [
        SplitSummary(s, out / s, sum(counts[s].values()), {n: counts[s][n] for n in names})
        for s in entry.splits
    ]
    return Parsed(summaries, "images", unassigned)


def split_lists(entry: DatasetEntry, folder: Path, prefix: str) -> dict[str, list[str]]:
    """Each split's list ``<folder>/<prefix>-<split>.txt``, read."""
    return {s: read_lines(folder / f"{prefix}-{s}.txt", entry) for s in entry.splits}


def _eurosat(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    if entry.layout == "eurosat_rgb":
        images = find_dir(extracted, lambda p: p.name == "2750", "2750/ folder of JPEG chips")
    else:
        images = find_dir(
            extracted,
            lambda p: p.name == "tif" and (p / entry.classes[0].name).is_dir(),
            "ds/images/remote_sensing/otherDatasets/sentinel_2/tif/ folder",
        )
    if step is not None:
        step("linking the split images")
    return class_folders(entry, images, split_lists(entry, folder, "eurosat"), out)


def _ucmerced(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    images = find_dir(
        extracted,
        lambda p: p.name == "Images" and (p / entry.classes[0].name).is_dir(),
        "UCMerced_LandUse/Images/ folder",
    )
    if step is not None:
        step("linking the split images")
    return class_folders(entry, images, split_lists(entry, folder, "uc_merced"), out)


RSSCN7_SUFFIXES = (".jpg", ".jpeg")
"""Image file suffixes of RSSCN7 (other files in the class folders are left out)."""


def _rsscn7(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    names = [c.name for c in entry.classes]
    images = find_dir(
        extracted,
        lambda p: all((p / name).is_dir() for name in names),
        f"RSSCN7-master/ folder with the class folders {names}",
    )
    if step is not None:
        step("linking the images")
    split = entry.splits[0]
    counts = Counter[str]()
    for name in names:
        files = sorted(
            p
            for p in (images / name).iterdir()
            if p.is_file() and p.suffix.lower() in RSSCN7_SUFFIXES
        )
        if not files:
            raise ConfigError(
                f"class folder {name!r} holds no JPEG images.",
                path=images / name,
                fix="the archive is incomplete: delete it and the extracted folder and download "
                "it again.",
            )
        (out / split / name).mkdir(parents=True, exist_ok=True)
        for image in files:
            place(image, out / split / name / image.name)
        counts[name] = len(files)
    summary = SplitSummary(split, out / split, sum(counts.values()), {n: counts[n] for n in names})
    return Parsed([summary], "images")


PARSERS: dict[str, Parser] = {
    "eurosat_rgb": _eurosat,
    "eurosat_ms": _eurosat,
    "ucmerced": _ucmerced,
    "rsscn7": _rsscn7,
}
"""Layout name to parser."""
