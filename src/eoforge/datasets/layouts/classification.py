"""Class-folder layouts (EuroSAT, UC Merced, RSSCN7, So2Sat LCZ42): ``<class>/<image>`` files.

EuroSAT and UC Merced are split by published lists. RSSCN7 has no official
split: its ``RSSCN7-master/<class>/*.jpg`` images (the GitHub archive of the
dataset's repository) all go to the one split ``all``.

Prepared form: ``<split>/<class>/<image>`` (hard links), every class folder in
every split so class indices stay aligned; counts are images per class.

``so2sat`` reads So2Sat LCZ42's HDF5 files, one per split (``training.h5``,
``validation.h5``, ``testing.h5``), each holding ``sen1`` ``[N, 32, 32, 8]``,
``sen2`` ``[N, 32, 32, 10]`` (float64) and ``label`` ``[N, 17]`` (one-hot). It
writes every patch's Sentinel-2 bands as ``<split>/<class>/<index>.tif``: a
float32 GeoTIFF ``[10, 32, 32]`` without georeferencing (``index`` is the
patch's row in its file, zero-padded to 6 digits). The Sentinel-1 bands are
left out. Counts are patches per class. Reading needs h5py (GDAL's HDF5
driver reads only a 2-D slice of a 4-D array).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from eoforge.datasets.download import not_downloaded
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


SO2SAT_SIZE = 32
"""Side of a So2Sat patch, pixels."""

SO2SAT_CHUNK = 2048
"""Patches read from an HDF5 file at a time (about 20 MB of ``sen2``)."""


def _h5py() -> Any:
    """The h5py module.

    Raises:
        ConfigError: h5py is not installed.
    """
    try:
        import h5py  # deferred: only So2Sat's prepare reads HDF5 (start-up time of the CLI)
    except ImportError as exc:
        raise ConfigError(
            "reading So2Sat's HDF5 files needs h5py, which is not installed.",
            fix="pip install h5py, then run prepare again.",
        ) from exc
    return h5py


def _so2sat_file(path: Path, bands: int, classes: int) -> Any:
    """The So2Sat HDF5 file at ``path`` opened read-only, its arrays checked.

    Raises:
        ConfigError: Not an HDF5 file, ``sen2`` or ``label`` missing or of another shape.
    """
    h5py = _h5py()
    fix = "the file is incomplete or not So2Sat LCZ42 version 2: delete it and download it again."
    try:
        file = h5py.File(path, "r")
    except OSError as exc:
        raise ConfigError(f"not a readable HDF5 file ({exc}).", path=path, fix=fix) from exc
    expected = {"label": (classes,), "sen2": (SO2SAT_SIZE, SO2SAT_SIZE, bands)}
    for name, tail in expected.items():
        shape = tuple(file[name].shape) if name in file else None
        if shape is None or shape[1:] != tail or shape[0] != file["label"].shape[0]:
            file.close()
            raise ConfigError(
                f"array {name!r} is {'missing' if shape is None else f'of shape {shape}'}; "
                f"expected [N, {', '.join(map(str, tail))}] with N the rows of 'label'.",
                path=path,
                fix=fix,
            )
    return file


def _write_patch(values: np.ndarray[Any, Any], dest: Path) -> None:
    """``values`` ``[C, H, W]`` as a float32 GeoTIFF without georeferencing."""
    profile = {
        "driver": "GTiff",
        "width": values.shape[2],
        "height": values.shape[1],
        "count": values.shape[0],
        "dtype": "float32",
        "compress": "deflate",
    }
    with rasterio.open(dest, "w", **profile) as ds:
        ds.write(values.astype(np.float32))


def _so2sat(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    names = [c.name for c in entry.classes]
    counts = {s: Counter[str]() for s in entry.splits}
    for split in entry.splits:
        for name in names:  # every class in every split: class indices stay aligned
            (out / split / name).mkdir(parents=True, exist_ok=True)
    for split in entry.splits:
        (remote,) = entry.files_for(split)
        path = folder / remote.filename
        if not path.is_file():
            raise not_downloaded(entry, path)
        with _so2sat_file(path, len(entry.bands), len(names)) as file:
            sen2, label = file["sen2"], file["label"]
            total = int(label.shape[0])
            for start in range(0, total, SO2SAT_CHUNK):
                if step is not None:
                    step(f"writing {split} patches {start + 1}-{min(total, start + SO2SAT_CHUNK)}")
                onehot = np.asarray(label[start : start + SO2SAT_CHUNK])
                bad = np.flatnonzero(((onehot != 0).sum(axis=1) != 1) | (onehot.max(axis=1) != 1))
                if bad.size:
                    row = start + int(bad[0])
                    raise ConfigError(
                        f"label row {row} is not one-hot ({onehot[bad[0]].tolist()}).",
                        path=path,
                        fix="the file is damaged or not So2Sat LCZ42 version 2: delete it and "
                        "download it again.",
                    )
                ids = onehot.argmax(axis=1)
                patches = np.asarray(sen2[start : start + SO2SAT_CHUNK]).transpose(0, 3, 1, 2)
                for offset, (class_id, patch) in enumerate(zip(ids, patches, strict=True)):
                    name = names[int(class_id)]
                    _write_patch(patch, out / split / name / f"{start + offset:06d}.tif")
                    counts[split][name] += 1
    summaries = [
        SplitSummary(s, out / s, sum(counts[s].values()), {n: counts[s][n] for n in names})
        for s in entry.splits
    ]
    return Parsed(summaries, "patches")


PARSERS: dict[str, Parser] = {
    "eurosat_rgb": _eurosat,
    "eurosat_ms": _eurosat,
    "ucmerced": _ucmerced,
    "rsscn7": _rsscn7,
    "so2sat": _so2sat,
}
"""Layout name to parser."""
