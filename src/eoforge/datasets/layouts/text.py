"""Image-text layouts: images (or keys to images published elsewhere) with captions.

Every parser writes per split a ``<split>/captions.csv`` (UTF-8; written to a
temporary name and renamed, all or nothing; several captions of one image give
several rows) and, where the dataset distributes its images,
``<split>/images/<name>``: hard links to the extracted images under their
published names. Counts are images or patches (distinct files or keys; see
each parser); there are no classes.

``skyscript`` reads the authors' release: the archives ``images2.zip`` ...
``images7.zip``, each unpacking to ``images<N>/<object>_<source>_<year>.jpg``,
and one caption CSV per split (the entry file whose ``splits`` is that split)
with the columns ``filepath`` (``images<N>/<name>.jpg``, relative to the
dataset root), ``title`` (the caption of the focus object),
``title_multi_objects`` and a similarity score. It writes ``images/`` and
``captions.csv`` (``image,caption``), one row per CSV row in the CSV's order,
``image`` relative to ``images/`` and ``caption`` from ``title``. Images that
no split lists are not counted (the CSVs are filtered subsets of the archives).

``gaia`` reads one JSON file per split (``train_data.json``,
``val_data.json``, ``test_data.json``): a JSON array of records (JSON Lines,
one record a line, is read too), each with ``id``, ``image_src`` (the web
address of the image; GAIA distributes no images, the authors rebuild them with
img2dataset), ``captions`` (a list of synthetic captions, five per image) and
metadata (``image_alt``, ``credits``, ``location``, ``lat``, ``lon``, ``tag``,
``resolution``, ``satellite``, ``sensor``, ``modalities``). It writes only
``captions.csv`` (``id,image_src,caption``), one row per caption in the file's order, captions
stripped of surrounding white space; a table img2dataset reads as it is
(``--url_col image_src --caption_col caption``). A record without an id, an
image address or captions, or a repeated id, is refused naming the file.

``chatearthnet`` reads the authors' Zenodo release: ``json_files.zip``, which
unpacks to ``json_files/ChatEarthNet_caps_35_{train,val,test}.json`` (the
ChatGPT-3.5 captions; ``ChatEarthNet_caps_4v_*.json``, the ChatGPT-4V ones, are
not read) holding a JSON array of records with ``image`` (the PNG's name or
path) and ``caption`` (a string; a list of strings is read too), and
``s2_rgb_images.zip``, which unpacks to ``s2_images/<name>.png`` (Sentinel-2
RGB, 8 bit). Images are matched by file name anywhere in the extracted archive.
It writes ``images/`` and ``captions.csv`` (``image,caption``) per split, one
row per caption in the file's order; counts are images. Images in no split are
unassigned. A record naming an image the archive does not hold is refused
naming the caption file and the image.

``bigearthnet_txt`` reads ``BigEarthNet.txt.parquet``, one row per text
annotation with the columns ``ID``, ``s1_name`` (the BigEarthNet v2.0
Sentinel-1 patch), ``patch_id`` (the Sentinel-2 patch), ``input`` (the
instruction or question), ``output`` (the reference answer or caption),
``type`` (``captioning``, ``binary``, ``mcq``, ``bounding box``),
``category``, ``split`` (the entry's split names) and ``country``, ``season``,
``climate_zone``. The images are BigEarthNet v2.0's, not distributed with it.
It writes only ``captions.csv`` (``patch_id,s1_name,caption``) per split from
the ``captioning`` rows in file order (caption = ``output``, stripped). Counts
are patches with at least one caption; patches captioned only in rows of
another split value are unassigned. A caption row without a patch or a caption
is refused naming the file and the row ``ID``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.parquet as pq
from pyarrow import ArrowException

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
def _caption_writer(dest: Path, header: tuple[str, ...] = ("image", "caption")) -> Iterator[Any]:
    """A CSV writer (UTF-8) for ``dest`` whose first row is ``header``; all or nothing.

    The table is written to a hidden temporary name and renamed to ``dest`` only
    when the ``with`` block ends without an error.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            yield writer
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _split_file(entry: DatasetEntry, folder: Path, split: str, suffix: str) -> Path:
    """The downloaded caption file of ``split``: the entry file ending in ``suffix``.

    Raises:
        ConfigError: The entry names no such file.
        MissingFileError: It has not been downloaded.
    """
    for file in entry.files:
        if file.splits == (split,) and file.filename.lower().endswith(suffix):
            path = folder / file.filename
            if not path.is_file():
                raise not_downloaded(entry, path)
            return path
    raise ConfigError(
        f"entry {entry.name!r} has no {suffix} caption file for the split {split!r}.",
        fix=f"give the entry one {suffix} file whose splits is that split.",
    )


def _skyscript(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    archives = extract_all(entry, folder.parent, step)
    summaries = []
    for split in entry.splits:
        csv_path = _split_file(entry, folder, split, ".csv")
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


GAIA_FIELDS = ("id", "image_src", "captions")
"""The fields of a GAIA record that prepare reads."""


def _gaia_records(path: Path) -> list[dict[str, Any]]:
    """The records of a GAIA split file: a JSON array of objects (or JSON Lines).

    Raises:
        ConfigError: The file is not JSON, not an array of objects, or a record
            lacks a field of :data:`GAIA_FIELDS` or has no captions.
    """
    fix = "the file is not the published one: delete it and download it again."
    try:
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("["):
            records = json.loads(text)
        else:  # JSON Lines: one record a line
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path.name} is not JSON ({exc}).", path=path, fix=fix) from exc
    if not isinstance(records, list):
        raise ConfigError(f"{path.name} is not a JSON array of records.", path=path, fix=fix)
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ConfigError(
                f"record {number} of {path.name} is not an object.", path=path, fix=fix
            )
        missing = [field for field in GAIA_FIELDS if record.get(field) in (None, "")]
        captions = record.get("captions")
        if not missing and not (
            isinstance(captions, list) and captions and all(isinstance(c, str) for c in captions)
        ):
            missing = ["captions (a non-empty list of strings)"]
        if missing:
            raise ConfigError(
                f"record {number} of {path.name} (id {record.get('id')!r}) has no "
                f"{', '.join(missing)}.",
                path=path,
                fix=fix,
            )
    return records


def _gaia(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    summaries = []
    for split in entry.splits:
        path = _split_file(entry, folder, split, ".json")
        if step is not None:
            step(f"writing the {split} captions")
        records = _gaia_records(path)
        seen: dict[str, int] = {}
        with _caption_writer(out / split / CAPTIONS, ("id", "image_src", "caption")) as captions:
            for number, record in enumerate(records, start=1):
                key = str(record["id"])
                if key in seen:
                    raise ConfigError(
                        f"records {seen[key]} and {number} of {path.name} share the id {key!r}.",
                        path=path,
                        fix="the file is not the published one: delete it and download it again.",
                    )
                seen[key] = number
                for caption in record["captions"]:
                    captions.writerow((key, record["image_src"], caption.strip()))
        summaries.append(SplitSummary(split, out / split, len(seen), {}))
    return Parsed(summaries, "images")


BIGEARTHNET_TXT_COLUMNS = ("ID", "s1_name", "patch_id", "output", "type", "split")
"""The columns of ``BigEarthNet.txt.parquet`` that prepare reads."""

CAPTIONING = "captioning"
"""The ``type`` of a BigEarthNet.txt caption row."""


def _bigearthnet_txt(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    (file,) = entry.files
    path = folder / file.filename
    if not path.is_file():
        raise not_downloaded(entry, path)
    fix = "the file is not the published one: delete it and download it again."
    try:
        table = pq.ParquetFile(path)
    except (ArrowException, OSError) as exc:
        raise ConfigError(
            f"{path.name} is not a Parquet file ({exc}).", path=path, fix=fix
        ) from exc
    missing = [c for c in BIGEARTHNET_TXT_COLUMNS if c not in table.schema_arrow.names]
    if missing:
        raise ConfigError(
            f"{path.name} has no column {', '.join(missing)} (columns: "
            f"{table.schema_arrow.names}).",
            path=path,
            fix=fix,
        )
    if step is not None:
        step("writing the captions of every split")
    patches: dict[str, set[str]] = {split: set() for split in entry.splits}
    elsewhere: set[str] = set()
    with ExitStack() as stack:
        writers = {
            split: stack.enter_context(
                _caption_writer(out / split / CAPTIONS, ("patch_id", "s1_name", "caption"))
            )
            for split in entry.splits
        }
        for batch in table.iter_batches(columns=list(BIGEARTHNET_TXT_COLUMNS)):
            for row in batch.to_pylist():
                if row["type"] != CAPTIONING:
                    continue
                patch, caption = row["patch_id"], row["output"]
                if not patch or not isinstance(caption, str) or not caption.strip():
                    raise ConfigError(
                        f"caption row ID {row['ID']} of {path.name} has no "
                        f"{'patch_id' if not patch else 'caption (output)'}.",
                        path=path,
                        fix=fix,
                    )
                writer = writers.get(row["split"])
                if writer is None:
                    elsewhere.add(patch)
                    continue
                writer.writerow((patch, row["s1_name"] or "", caption.strip()))
                patches[row["split"]].add(patch)
    summaries = [
        SplitSummary(split, out / split, len(patches[split]), {}) for split in entry.splits
    ]
    assigned = set().union(*patches.values())
    return Parsed(summaries, "patches", unassigned=len(elsewhere - assigned))


CHATEARTHNET_CAPTIONS = "ChatEarthNet_caps_35_{split}.json"
"""The caption file of a split inside ``json_files.zip`` (the ChatGPT-3.5 captions)."""

CHATEARTHNET_ARCHIVES = ("json_files.zip", "s2_rgb_images.zip")
"""The caption archive and the RGB image archive."""


def _chatearthnet_records(path: Path) -> list[tuple[str, list[str]]]:
    """``(image name, captions)`` of each record of a ChatEarthNet caption file.

    Raises:
        ConfigError: The file is not JSON, or a record has no image or no caption.
    """
    fix = "delete json_files.zip and its extracted folder and download it again."
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path.name} is not JSON ({exc}).", path=path, fix=fix) from exc
    records = list(data.values()) if isinstance(data, dict) else data
    out = []
    for number, record in enumerate(records if isinstance(records, list) else [None], 1):
        image = record.get("image") if isinstance(record, dict) else None
        caption = record.get("caption") if isinstance(record, dict) else None
        captions = [caption] if isinstance(caption, str) else caption
        if (
            not isinstance(image, str)
            or not image.strip()
            or not isinstance(captions, list)
            or not captions
            or not all(isinstance(c, str) and c.strip() for c in captions)
        ):
            raise ConfigError(
                f"record {number} of {path.name} has no image name or no caption.",
                path=path,
                fix=fix,
            )
        out.append((PurePosixPath(image.strip().replace("\\", "/")).name, captions))
    return out


def _chatearthnet(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    archives = extract_all(entry, folder.parent, step)
    json_dir, image_dir = (archives[name] for name in CHATEARTHNET_ARCHIVES)
    pngs = {path.name: path for path in image_dir.rglob("*.png") if path.is_file()}
    linked_anywhere: set[str] = set()
    summaries = []
    for split in entry.splits:
        name = CHATEARTHNET_CAPTIONS.format(split=split)
        found = sorted(json_dir.rglob(name))
        if not found:
            raise MissingFileError(
                f"json_files.zip holds no {name}.",
                path=json_dir,
                fix="delete json_files.zip and its extracted folder and download it again.",
            )
        if step is not None:
            step(f"linking the {split} images and writing their captions")
        images = out / split / "images"
        images.mkdir(parents=True, exist_ok=True)
        linked: set[str] = set()
        with _caption_writer(out / split / CAPTIONS) as captions:
            for image, texts in _chatearthnet_records(found[0]):
                source = pngs.get(image)
                if source is None:
                    raise MissingFileError(
                        f"{name} names the image {image!r}, which s2_rgb_images.zip does not hold.",
                        path=found[0],
                        fix="delete s2_rgb_images.zip and its extracted folder and download it "
                        "again.",
                    )
                if image not in linked:
                    place(source, images / image)
                    linked.add(image)
                for text in texts:
                    captions.writerow((image, text.strip()))
        linked_anywhere |= linked
        summaries.append(SplitSummary(split, out / split, len(linked), {}))
    return Parsed(summaries, "images", unassigned=len(set(pngs) - linked_anywhere))


PARSERS: dict[str, Parser] = {
    "skyscript": _skyscript,
    "chatearthnet": _chatearthnet,
    "gaia": _gaia,
    "bigearthnet_txt": _bigearthnet_txt,
}
"""Layout name to parser."""
