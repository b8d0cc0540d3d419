"""Multi-label patch layouts (BigEarthNet v1.0 and v2.0): one folder per patch with its labels.

Prepared form (what ``data.kind: bigearthnet`` reads): ``<split>/<patch>``, a
folder of one GeoTIFF per band beside ``<patch>_labels_metadata.json``; counts
are patches per class (19-class nomenclature).

* ``bigearthnet`` (v1.0): ``BigEarthNet-v1.0/<patch>/`` folders as published
  (band files and labels metadata), split by the CSVs of Sumbul et al. (2021);
  each prepared patch is a relative symbolic link to the extracted folder.
* ``bigearthnet_v2`` (v2.0, reBEN): ``BigEarthNet-S2/<tile>/<patch_id>/`` with
  ``<patch_id>_<B01..B12>.tif``, ``BigEarthNet-S1/<tile>/<s1_name>/`` with
  ``<s1_name>_VV.tif`` and ``_VH.tif``, and ``metadata.parquet`` (``patch_id``,
  ``labels``: 19-class names, ``split``: train/validation/test, ``s1_name``).
  v2.0 patch folders hold no metadata, so each prepared patch is a folder of
  hard links to its 12 band files plus a written metadata file:
  ``labels_19`` (the official labels, which the reader takes with
  ``num_classes: 19`` and refuses with 43: v2.0 has no 43-class labels) and
  ``corresponding_s1_patch``. The Sentinel-1 partners of every split go to
  one folder ``s1/<s1_name>/`` (links to VV and VH, a metadata file naming
  ``corresponding_s2_patch``), the ``root_s1`` of training and validation
  alike (partners are matched by that name). Sentinel-2 patches that
  metadata.parquet does not list (seasonal snow, clouds, shadows) are counted
  as unassigned.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pyarrow import ArrowException

from eoforge.datasets.bigearthnet_labels import CLASS_43_TO_19, CLASSES_19, CLASSES_43
from eoforge.datasets.download import not_downloaded
from eoforge.datasets.entries.common import S2_12
from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import extract_all
from eoforge.datasets.layouts.common import (
    Parsed,
    Parser,
    SplitSummary,
    Step,
    find_dir,
    link_dir,
    place,
)
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


V2_SPLITS = {"train": "train", "validation": "val", "test": "test"}
"""The ``split`` values of v2.0's metadata.parquet to eoforge's split names."""

V2_COLUMNS = ("patch_id", "labels", "split", "s1_name")
"""The metadata.parquet columns prepare reads."""

S2_BAND_IDS = tuple(band.split(".", 1)[1] for band in S2_12)
"""The band suffixes of a v2.0 Sentinel-2 patch's files (``B01`` ... ``B12``, no ``B10``)."""

S1_BAND_IDS = ("VV", "VH")
"""The band suffixes of a v2.0 Sentinel-1 patch's files."""


def _patch_folders(base: Path) -> dict[str, Path]:
    """Patch folder name to folder, for the ``<tile>/<patch>/`` folders under ``base``."""
    found: dict[str, Path] = {}
    for tile in sorted(p for p in base.iterdir() if p.is_dir()):
        for patch in tile.iterdir():
            if patch.is_dir():
                found[patch.name] = patch
    return found


def _top_folder(extracted: dict[str, Path], sensor: str) -> Path:
    """The ``BigEarthNet-<sensor>/`` folder extracted from ``BigEarthNet-<sensor>.tar.zst``."""
    top = f"BigEarthNet-{sensor}"
    base = extracted[f"{top}.tar.zst"]  # itself called BigEarthNet-<sensor>: look inside
    return find_dir(base, lambda p: p.name == top and p != base, f"{top}/ folder of {top}.tar.zst")


def _v2_rows(entry: DatasetEntry, path: Path) -> list[dict[str, Any]]:
    """The rows of metadata.parquet (:data:`V2_COLUMNS`), as dicts.

    Raises:
        MissingFileError: Not downloaded.
        ConfigError: Unreadable, or a column is missing.
    """
    if not path.is_file():
        raise not_downloaded(entry, path)
    try:
        table = pq.read_table(path, columns=list(V2_COLUMNS))
    except (ArrowException, OSError) as exc:
        raise ConfigError(
            f"cannot read the columns {list(V2_COLUMNS)} ({exc}).",
            path=path,
            fix="delete metadata.parquet and download it again.",
        ) from exc
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _band_files(folder: Path, name: str, bands: tuple[str, ...], where: Path) -> list[Path]:
    """``<folder>/<name>_<band>.tif`` for each band, checked to exist."""
    files = [folder / f"{name}_{band}.tif" for band in bands]
    for file in files:
        if not file.is_file():
            raise ConfigError(
                f"patch {name} has no band file {file.name}.",
                path=file,
                fix=f"the archive behind {where.name} is incomplete: delete it and its extracted "
                "folder and download it again.",
            )
    return files


def _write_patch(files: list[Path], meta: dict[str, Any], dest: Path) -> None:
    """A v1-style patch folder: hard links to ``files`` and ``<name>_labels_metadata.json``."""
    dest.mkdir(parents=True)
    for file in files:
        place(file, dest / file.name)
    (dest / f"{dest.name}_labels_metadata.json").write_text(json.dumps(meta) + "\n")


def _bigearthnet_v2(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    roots = {sensor: _top_folder(extracted, sensor) for sensor in ("S2", "S1")}
    parquet = folder / "metadata.parquet"
    rows = _v2_rows(entry, parquet)
    if step is not None:
        step("listing the patch folders")
    s2_patches = _patch_folders(roots["S2"])
    s1_patches = _patch_folders(roots["S1"])
    names = [c.name for c in entry.classes]
    counts = {s: Counter[str]() for s in entry.splits}
    sizes = Counter[str]()
    for split in entry.splits:
        (out / split).mkdir(parents=True, exist_ok=True)
    if step is not None:
        step(f"linking {len(rows)} Sentinel-2 patches and their Sentinel-1 partners")
    (out / "s1").mkdir()
    listed = set()
    for row in rows:
        patch, s1_name, labels = str(row["patch_id"]), str(row["s1_name"]), row["labels"]
        chosen = V2_SPLITS.get(str(row["split"]))
        if chosen is None:
            raise ConfigError(
                f"patch {patch} has the unknown split {row['split']!r}.",
                path=parquet,
                fix=f"the split column holds {sorted(V2_SPLITS)}: download metadata.parquet again.",
            )
        unknown = [label for label in labels if label not in CLASSES_19]
        if unknown:
            raise ConfigError(
                f"patch {patch} has labels outside the 19-class nomenclature: {unknown}.",
                path=parquet,
                fix="download metadata.parquet of BigEarthNet v2.0 again.",
            )
        s2, s1 = s2_patches.get(patch), s1_patches.get(s1_name)
        if s2 is None or s1 is None:
            sensor, name = ("S2", patch) if s2 is None else ("S1", s1_name)
            raise ConfigError(
                f"{parquet.name} lists the {sensor} patch {name}, which is not in "
                f"BigEarthNet-{sensor}.tar.zst.",
                path=roots[sensor],
                fix=f"BigEarthNet-{sensor}.tar.zst is incomplete or of another release: delete "
                "it and its extracted folder and download it again.",
            )
        if (out / "s1" / s1_name).exists():
            raise ConfigError(
                f"{parquet.name} pairs the S1 patch {s1_name} with more than one S2 patch "
                f"({patch} among them).",
                path=parquet,
                fix="download metadata.parquet of BigEarthNet v2.0 again.",
            )
        listed.add(patch)
        labels_19 = [str(label) for label in labels]
        s2_meta = {"labels_19": labels_19, "corresponding_s1_patch": s1_name}
        s1_meta = {"labels_19": labels_19, "corresponding_s2_patch": patch}
        _write_patch(
            _band_files(s2, patch, S2_BAND_IDS, roots["S2"]), s2_meta, out / chosen / patch
        )
        _write_patch(
            _band_files(s1, s1_name, S1_BAND_IDS, roots["S1"]),
            s1_meta,
            out / "s1" / s1_name,
        )
        counts[chosen].update(set(labels_19))
        sizes[chosen] += 1
    summaries = [
        SplitSummary(s, out / s, sizes[s], {n: counts[s][n] for n in names}) for s in entry.splits
    ]
    return Parsed(summaries, "patches", len(set(s2_patches) - listed))


PARSERS: dict[str, Parser] = {"bigearthnet": _bigearthnet, "bigearthnet_v2": _bigearthnet_v2}
"""Layout name to parser."""
