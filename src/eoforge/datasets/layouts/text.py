"""Image-text layouts (SkyScript): images with one caption each.

``skyscript`` reads the authors' release: the archives ``images2.zip`` ...
``images7.zip``, each unpacking to ``images<N>/<object>_<source>_<year>.jpg``,
and one caption CSV per split (the entry file whose ``splits`` is that split)
with the columns ``filepath`` (``images<N>/<name>.jpg``, relative to the
dataset root), ``title`` (the caption of the focus object),
``title_multi_objects`` and a similarity score.

Prepared form, per split: ``<split>/images/<name>.jpg``, hard links to the
extracted images under their published names, and ``<split>/captions.csv``
(``image,caption``; UTF-8; written to a temporary name and renamed), one row
per CSV row in the CSV's order, ``image`` relative to ``images/`` and
``caption`` from ``title``. Counts are images (distinct files); there are no
classes. Images that no split lists are not counted (the CSVs are filtered
subsets of the archives).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from eoforge.datasets.download import not_downloaded
from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import extract_all
from eoforge.datasets.layouts.common import Parsed, Parser, SplitSummary, Step, place
from eoforge.errors import ConfigError, MissingFileError

CAPTIONS = "captions.csv"
"""Name of a prepared split's caption table."""

IMAGE_COLUMN, CAPTION_COLUMN = "filepath", "title"


def _source(filepath: str, archives: dict[str, Path]) -> Path | None:
    """The extracted file a CSV ``filepath`` (``images<N>/<name>``) names, or None."""
    parts = PurePosixPath(filepath.strip()).parts
    if len(parts) < 2 or ".." in parts:
        return None
    folder = archives.get(f"{parts[0]}.zip")
    if folder is None:
        return None
    for candidate in (folder.joinpath(*parts), folder.joinpath(*parts[1:])):
        if candidate.is_file():
            return candidate
    return None


@contextmanager
def _caption_writer(dest: Path) -> Iterator[Any]:
    """A CSV writer of ``image,caption`` rows (UTF-8) for ``dest``; all or nothing."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["image", "caption"])
            yield writer
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _caption_csv(entry: DatasetEntry, folder: Path, split: str) -> Path:
    """The published caption CSV of ``split``."""
    for file in entry.files:
        if file.splits == (split,) and file.filename.lower().endswith(".csv"):
            return folder / file.filename
    raise ConfigError(
        f"entry {entry.name!r} has no caption CSV for the split {split!r}.",
        fix="give the entry one .csv file whose splits is that split.",
    )


def _skyscript(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    archives = extract_all(entry, folder.parent, step)
    summaries = []
    for split in entry.splits:
        csv_path = _caption_csv(entry, folder, split)
        if not csv_path.is_file():
            raise not_downloaded(entry, csv_path)
        if step is not None:
            step(f"linking the {split} images and writing their captions")
        images = out / split / "images"
        images.mkdir(parents=True, exist_ok=True)
        linked: dict[str, Path] = {}
        with (
            open(csv_path, newline="", encoding="utf-8") as f,
            _caption_writer(out / split / CAPTIONS) as captions,
        ):
            reader = csv.DictReader(f)
            for column in (IMAGE_COLUMN, CAPTION_COLUMN):
                if column not in (reader.fieldnames or []):
                    raise ConfigError(
                        f"{csv_path.name} has no column {column!r} (columns: {reader.fieldnames}).",
                        path=csv_path,
                        fix="the file is not the published one: download it again.",
                    )
            for row in reader:
                line = reader.line_num  # physical line: captions may hold line breaks
                filepath = row[IMAGE_COLUMN] or ""
                source = _source(filepath, archives)
                if source is None:
                    raise MissingFileError(
                        f"line {line} of {csv_path.name} names {filepath!r}, which is in "
                        "none of the extracted image archives.",
                        path=csv_path,
                        fix="download the image archives again (images2.zip to images7.zip); "
                        "if they are complete the CSV is not the published one.",
                    )
                name = source.name
                if name not in linked:
                    place(source, images / name)
                    linked[name] = source
                elif not linked[name].samefile(source):
                    raise ConfigError(
                        f"line {line} of {csv_path.name} names {filepath!r}, a second image "
                        f"called {name!r} in the same split.",
                        path=csv_path,
                        fix="the CSV is not the published one: download it again.",
                    )
                captions.writerow((name, row[CAPTION_COLUMN] or ""))
        summaries.append(SplitSummary(split, out / split, len(linked), {}))
    return Parsed(summaries, "images")


PARSERS: dict[str, Parser] = {"skyscript": _skyscript}
"""Layout name to parser."""
