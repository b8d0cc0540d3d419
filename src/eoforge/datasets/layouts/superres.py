"""Super-resolution layouts (WorldStrat): Sentinel-2 revisits with a SPOT 6/7 target.

``worldstrat`` reads the Zenodo record as published:

* ``hr_dataset.zip``: ``hr_dataset/<aoi>/<aoi>_ps.tiff`` (pan-sharpened RGBN,
  1.5 m), ``<aoi>_pan.tiff``, ``<aoi>_rgbn.tiff`` (native 6 m RGBN) and
  ``<aoi>_rgb.png``;
* ``lr_dataset_l1c.zip`` / ``lr_dataset_l2a.zip``:
  ``lr_dataset/<aoi>/L1C/<aoi>-<n>-L1C_data.tiff`` (and ``L2A``), revisit ``n``
  counted from 1;
* ``metadata.csv``: one row per revisit (``tile``, ``n``, ``lowres_date``, ...);
* ``stratified_train_val_test_split.csv``: ``tile``, ``split`` per AOI.

Prepared form, per split: ``<split>/<aoi>/hr/`` with hard links to the AOI's
high-resolution files under their published names, and
``<split>/<aoi>/lr/L1C/`` and ``lr/L2A/`` with hard links to the revisits
renamed ``<lowres_date>_<n>.tiff`` (``n`` two digits), so that name order is
date order. Counts are AOIs (``samples``); class counts are AOIs per IPCC
class when ``metadata.csv`` has a column named ``IPCC...``, else empty. AOIs of
``hr_dataset`` that the split file does not list are counted as unassigned.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from eoforge.datasets.download import not_downloaded
from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import extract_all
from eoforge.datasets.layouts.common import Parsed, Parser, SplitSummary, Step, find_dir, place
from eoforge.errors import ConfigError

LEVELS = {"lr_dataset_l1c.zip": "L1C", "lr_dataset_l2a.zip": "L2A"}
"""Low-resolution archive to the processing level folder it holds."""

SPLIT_FILE = "stratified_train_val_test_split.csv"
METADATA_FILE = "metadata.csv"


def _rows(path: Path, entry: DatasetEntry, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a CSV file that must have ``columns``.

    Raises:
        MissingFileError: The file is not there.
        ConfigError: A column is missing.
    """
    if not path.is_file():
        raise not_downloaded(entry, path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(
                f"{path.name} has no column {missing[0]!r} (columns: {reader.fieldnames}).",
                path=path,
                fix="the file is not the published one: download it again.",
            )
        return list(reader)


def _date_name(date: str) -> str:
    """A revisit date as a file-name part (``2021-03-01``; other characters dropped)."""
    return re.sub(r"[^0-9A-Za-z-]", "", date.strip().replace(" ", "T"))


def _revisits(
    lr_dir: Path, aoi: str, level: str, dates: dict[tuple[str, int], str], metadata: Path
) -> list[tuple[str, int, Path]]:
    """``(date, n, path)`` of the AOI's revisits at ``level``, in date order.

    Raises:
        ConfigError: A revisit has no row (no ``lowres_date``) in ``metadata``.
    """
    pattern = re.compile(rf"^{re.escape(aoi)}-(\d+)-{level}_data\.tiff?$")
    found = []
    for path in sorted(lr_dir.iterdir()):
        match = pattern.match(path.name)
        if match is None:
            continue
        n = int(match.group(1))
        date = dates.get((aoi, n))
        if not date:
            raise ConfigError(
                f"revisit {path.name} has no lowres_date in {metadata.name} "
                f"(no row with tile {aoi!r} and n {n}).",
                path=path,
                fix=f"download {metadata.name} again; it must list every revisit.",
            )
        found.append((_date_name(date), n, path))
    return sorted(found)


def _holds_revisits(level: str) -> Callable[[Path], bool]:
    """Whether a folder holds ``<aoi>/<level>/<aoi>-<n>-<level>_data.tiff`` files."""
    return lambda p: any(p.glob(f"*/{level}/*-{level}_data.tif*"))


def _worldstrat(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    hr_root = find_dir(
        extracted["hr_dataset.zip"],
        lambda p: any(p.glob("*/*_ps.tif*")),
        "AOI folders with <aoi>_ps.tiff",
    )
    lr_roots = {
        level: find_dir(
            extracted[archive],
            _holds_revisits(level),
            f"AOI folders with {level}/<aoi>-<n>-{level}_data.tiff",
        )
        for archive, level in LEVELS.items()
    }
    split_csv, meta_csv = folder / SPLIT_FILE, folder / METADATA_FILE
    assigned = _rows(split_csv, entry, ("tile", "split"))
    metadata = _rows(meta_csv, entry, ("tile", "n", "lowres_date"))
    dates = {(r["tile"], int(r["n"])): r["lowres_date"] for r in metadata if r["n"].isdigit()}
    columns = list(metadata[0]) if metadata else []
    class_column = next((c for c in columns if c.lower().startswith("ipcc")), None)
    aoi_class = {r["tile"]: r[class_column] for r in metadata} if class_column else {}
    summaries = []
    listed: set[str] = set()
    for split in entry.splits:
        if step is not None:
            step(f"linking the {split} AOIs")
        aois = list(dict.fromkeys(r["tile"] for r in assigned if r["split"].strip() == split))
        listed.update(aois)
        counts = Counter[str]()
        for aoi in aois:
            hr_dir = hr_root / aoi
            if not hr_dir.is_dir():
                raise ConfigError(
                    f"AOI {aoi!r} of {split_csv.name} is not in hr_dataset.zip.",
                    path=hr_root,
                    fix="the archive is incomplete or not the published one: download it again.",
                )
            for path in sorted(hr_dir.iterdir()):
                if path.is_file():
                    place(path, out / split / aoi / "hr" / path.name)
            for level, lr_root in lr_roots.items():
                lr_dir = lr_root / aoi / level
                if not lr_dir.is_dir():
                    raise ConfigError(
                        f"AOI {aoi!r} of {split_csv.name} has no {level} revisits.",
                        path=lr_root,
                        fix=f"the {level} archive is incomplete: download it again.",
                    )
                for date, n, path in _revisits(lr_dir, aoi, level, dates, meta_csv):
                    place(path, out / split / aoi / "lr" / level / f"{date}_{n:02d}.tiff")
            if aoi in aoi_class:
                counts[aoi_class[aoi]] += 1
        (out / split).mkdir(parents=True, exist_ok=True)
        summaries.append(SplitSummary(split, out / split, len(aois), dict(sorted(counts.items()))))
    unassigned = sum(1 for p in hr_root.iterdir() if p.is_dir() and p.name not in listed)
    return Parsed(summaries, "samples", unassigned)


PARSERS: dict[str, Parser] = {"worldstrat": _worldstrat}
"""Layout name to parser."""
