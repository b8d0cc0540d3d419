"""Turn a dataset's extracted files into eoforge's chip folders, one per official split.

``prepare(entry)`` extracts archives not yet extracted (into
``<root>/<name>/extracted/<archive stem>/``), runs the entry's layout parser and
writes, under ``<root>/<name>/``:

* ``eoforge/<split>/``: the split in the folder layout its ``data.kind`` reads
  (``class_folder``: ``<class>/<image>``; ``image_mask``: ``images/`` and
  ``masks/``; ``change_triplet``: ``A/``, ``B/``, ``label/``; ``bigearthnet``:
  one folder per patch). Files are hard links to the extracted ones (copies
  where the file system has none; BigEarthNet patch folders are relative
  symbolic links), so a prepared dataset takes almost no extra space;
  LandCover.ai's orthophotos are cut into its official 512x512 tiles.
* ``eoforge_splits.json``: the manifest: per split its folder, item count and
  class counts (images per class, patches per label, or pixels per class for
  masks), the items no official split lists, and a ``data`` section of an
  experiment config that trains on ``train`` and validates on ``val``.

The ``eoforge/`` folder is built beside its final place and renamed into it when
complete; preparing again replaces it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from eoforge import __version__
from eoforge.datasets.bigearthnet_labels import CLASS_43_TO_19, CLASSES_43
from eoforge.datasets.download import dataset_dir
from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import safe_extract
from eoforge.errors import ConfigError, MissingFileError

MANIFEST = "eoforge_splits.json"
"""Name of the split manifest in the dataset folder."""

PREPARED = "eoforge"
"""Name of the folder holding the prepared splits in the dataset folder."""

EXTRACTED = "extracted"
"""Name of the folder holding the extracted archives in the dataset folder."""

LANDCOVERAI_TILE = 512
"""Side of LandCover.ai's official tiles, pixels."""

Step = Callable[[str], None]
"""Called with a short description of what prepare is doing now."""


@dataclass(frozen=True)
class SplitSummary:
    """One prepared split.

    Attributes:
        name: Split name.
        path: Its folder.
        count: Items (images, pairs, tiles or patches).
        class_counts: Class name to count (see :attr:`Prepared.unit`).
    """

    name: str
    path: Path
    count: int
    class_counts: dict[str, int]


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` wrote.

    Attributes:
        entry: The dataset.
        folder: The dataset folder.
        manifest: The manifest file.
        unit: What class counts count: ``images``, ``patches`` or ``pixels``.
        splits: The splits in the entry's order.
        unassigned: Items found that no official split lists (left out).
        config: The ``data`` section of an experiment config for the splits.
    """

    entry: DatasetEntry
    folder: Path
    manifest: Path
    unit: str
    splits: list[SplitSummary]
    unassigned: int = 0
    config: dict[str, Any] = field(default_factory=dict)


def extract_all(
    entry: DatasetEntry, root: str | os.PathLike[str] | None = None, step: Step | None = None
) -> dict[str, Path]:
    """Extract every archive of ``entry`` that is not extracted yet.

    Returns:
        Archive file name to its extraction folder.

    Raises:
        MissingFileError: An archive has not been downloaded.
    """
    folder = dataset_dir(entry, root)
    out = {}
    for file in entry.files:
        if not file.extract:
            continue
        target = folder / EXTRACTED / file.stem
        if not target.is_dir():
            archive = folder / file.filename
            if not archive.is_file():
                raise _missing(entry, archive)
            if step is not None:
                step(f"extracting {file.filename}")
            safe_extract(archive, target)
        out[file.filename] = target
    return out


def _missing(entry: DatasetEntry, path: Path) -> MissingFileError:
    return MissingFileError(
        "not downloaded yet.",
        path=path,
        fix=f"run `eoforge datasets download {entry.name}` (or place the file there and run "
        f"`eoforge datasets verify {entry.name}`).",
    )


def _find_dir(base: Path, wanted: Callable[[Path], bool], what: str) -> Path:
    """The shallowest folder under ``base`` (``base`` included) that ``wanted`` accepts."""
    level = [base]
    for _ in range(8):
        for folder in level:
            if wanted(folder):
                return folder
        level = sorted(p for f in level for p in f.iterdir() if p.is_dir() and not p.is_symlink())
        if not level:
            break
    raise ConfigError(
        f"no {what} found in the extracted files.",
        path=base,
        fix="delete the extracted folder and run prepare again; if it persists the archive's "
        "layout has changed.",
    )


def _place(source: Path, dest: Path) -> None:
    """Hard-link ``source`` as ``dest`` (a copy where hard links are not possible)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _read_lines(path: Path, entry: DatasetEntry) -> list[str]:
    if not path.is_file():
        raise _missing(entry, path)
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------ class folders


def _class_folders(
    entry: DatasetEntry, images: Path, lists: dict[str, list[str]], out: Path
) -> tuple[list[SplitSummary], int]:
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
            _place(image, out / chosen / folder.name / image.name)
            counts[chosen][folder.name] += 1
    summaries = [
        SplitSummary(s, out / s, sum(counts[s].values()), {n: counts[s][n] for n in names})
        for s in entry.splits
    ]
    return summaries, unassigned


def _split_lists(entry: DatasetEntry, folder: Path, prefix: str) -> dict[str, list[str]]:
    return {s: _read_lines(folder / f"{prefix}-{s}.txt", entry) for s in entry.splits}


def _eurosat(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Any:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    if entry.layout == "eurosat_rgb":
        images = _find_dir(extracted, lambda p: p.name == "2750", "2750/ folder of JPEG chips")
    else:
        images = _find_dir(
            extracted,
            lambda p: p.name == "tif" and (p / entry.classes[0].name).is_dir(),
            "ds/images/remote_sensing/otherDatasets/sentinel_2/tif/ folder",
        )
    if step is not None:
        step("linking the split images")
    return _class_folders(entry, images, _split_lists(entry, folder, "eurosat"), out)


def _ucmerced(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Any:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    images = _find_dir(
        extracted,
        lambda p: p.name == "Images" and (p / entry.classes[0].name).is_dir(),
        "UCMerced_LandUse/Images/ folder",
    )
    if step is not None:
        step("linking the split images")
    return _class_folders(entry, images, _split_lists(entry, folder, "uc_merced"), out)


# ------------------------------------------------------------------ masks


def _pixel_counts(mask: np.ndarray[Any, Any], names: list[str], binary: bool) -> Counter[str]:
    values = (mask > 0).astype(np.int64) if binary else mask.astype(np.int64)
    found = np.bincount(values.ravel(), minlength=len(names))
    counts = Counter[str]()
    for value, n in enumerate(found):
        if n:
            name = names[value] if value < len(names) else f"value {value}"
            counts[name] += int(n)
    return counts


def _read_band1(path: Path) -> np.ndarray[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return np.asarray(ds.read(1))


def _levircd(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Any:
    extracted = extract_all(entry, folder.parent, step)
    names = [c.name for c in entry.classes]
    summaries = []
    for file in entry.files:
        split = file.splits[0]
        base = _find_dir(
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
                _place(source, out / split / sub / image.name)
            counts.update(_pixel_counts(_read_band1(base / "label" / image.name), names, True))
            pairs += 1
        summaries.append(SplitSummary(split, out / split, pairs, {n: counts[n] for n in names}))
    return summaries, 0


def _landcoverai(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Any:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    base = _find_dir(
        extracted,
        lambda p: (
            (p / "images").is_dir() and (p / "masks").is_dir() and (p / "train.txt").is_file()
        ),
        "images/, masks/ and train.txt",
    )
    split_of = {
        tile: split for split in entry.splits for tile in _read_lines(base / f"{split}.txt", entry)
    }
    names = [c.name for c in entry.classes]
    counts = {s: Counter[str]() for s in entry.splits}
    tiles = Counter[str]()
    unassigned = 0
    size = LANDCOVERAI_TILE
    for image_path in sorted((base / "images").glob("*.tif")):
        mask_path = base / "masks" / image_path.name
        if not mask_path.is_file():
            raise ConfigError(
                "orthophoto without a mask.", path=mask_path, fix="download the archive again."
            )
        if step is not None:
            step(f"cutting {image_path.name} into {size}x{size} tiles")
        with rasterio.open(image_path) as image, rasterio.open(mask_path) as mask:
            k = 0  # split.py numbers every grid position, partial tiles at the edges included
            for y in range(0, image.height, size):
                for x in range(0, image.width, size):
                    tile_id = f"{image_path.stem}_{k}"
                    k += 1
                    if y + size > image.height or x + size > image.width:
                        continue
                    split = split_of.get(tile_id)
                    if split is None:
                        unassigned += 1
                        continue
                    window = Window(x, y, size, size)
                    ids = mask.read(1, window=window)
                    _write_tile(
                        image,
                        window,
                        image.read(window=window),
                        out / split / "images" / f"{tile_id}.tif",
                    )
                    _write_tile(mask, window, ids[None], out / split / "masks" / f"{tile_id}.tif")
                    counts[split].update(_pixel_counts(ids, names, False))
                    tiles[split] += 1
    for split in entry.splits:
        for sub in ("images", "masks"):
            (out / split / sub).mkdir(parents=True, exist_ok=True)
    summaries = [
        SplitSummary(s, out / s, tiles[s], {n: counts[s][n] for n in names}) for s in entry.splits
    ]
    return summaries, unassigned


def _write_tile(source: Any, window: Window, values: np.ndarray[Any, Any], dest: Path) -> None:
    """One tile of ``source`` as a lossless GeoTIFF on the window's grid."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": int(window.width),
        "height": int(window.height),
        "count": values.shape[0],
        "dtype": values.dtype.name,
        "crs": source.crs,
        "transform": window_transform(window, source.transform),
        "compress": "deflate",
    }
    with rasterio.open(dest, "w", **profile) as ds:
        ds.write(values)


# ------------------------------------------------------------------ BigEarthNet


def _bigearthnet(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Any:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    patches_dir = _find_dir(
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
            raise _missing(entry, csv_path)
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
            os.symlink(os.path.relpath(source, out / split), out / split / patch)
            labels = json.loads(meta.read_text()).get("labels", [])
            found = {CLASS_43_TO_19.get(index_43.get(label, -1), -1) for label in labels}
            counts.update(names[i] for i in found if i >= 0)
        summaries.append(
            SplitSummary(split, out / split, len(patches), {n: counts[n] for n in names})
        )
    return summaries, 0


PARSERS: dict[str, Callable[[DatasetEntry, Path, Path, Step | None], Any]] = {
    "eurosat_rgb": _eurosat,
    "eurosat_ms": _eurosat,
    "ucmerced": _ucmerced,
    "levircd": _levircd,
    "landcoverai": _landcoverai,
    "bigearthnet": _bigearthnet,
}
"""Layout name to parser: ``(entry, folder, output, step) -> (splits, unassigned)``."""

UNITS = {"class_folder": "images", "image_mask": "pixels", "change_triplet": "pixels"}


def data_config(entry: DatasetEntry, splits: Iterable[SplitSummary]) -> dict[str, Any]:
    """The ``data`` section of an experiment config: train on ``train``, validate on ``val``."""
    by_name = {s.name: str(s.path.resolve()) for s in splits}
    train, val = by_name.get("train"), by_name.get("val")
    kind = entry.data_kind
    config: dict[str, Any] = {"kind": kind}
    if kind in ("class_folder", "change_triplet"):
        config.update(root=train, val_root=val)
    elif kind == "image_mask":
        config.update(
            images=f"{train}/images",
            masks=f"{train}/masks",
            val_images=None if val is None else f"{val}/images",
            val_masks=None if val is None else f"{val}/masks",
        )
    elif kind == "bigearthnet":  # no val_root: validation is a val_fraction of root_s2
        config.update(root_s2=train, num_classes=len(entry.classes))
    if kind != "bigearthnet" and entry.bands:
        config["bands"] = list(entry.bands)
    return {k: v for k, v in config.items() if v is not None}


def prepare(
    entry: DatasetEntry, root: str | os.PathLike[str] | None = None, step: Step | None = None
) -> Prepared:
    """Extract (if needed) and lay out ``entry``'s official splits for eoforge.

    Args:
        entry: The dataset.
        root: Data root (see :func:`eoforge.datasets.download.data_root`).
        step: Called with what is being done (for a progress display).

    Returns:
        The splits, their class counts and where they were written.

    Raises:
        MissingFileError: A file has not been downloaded.
        UnsafeArchiveError: An archive was refused.
        ConfigError: The extracted files are not in the expected layout.
    """
    folder = dataset_dir(entry, root)
    if not folder.is_dir():
        raise _missing(entry, folder)
    final = folder / PREPARED
    tmp = Path(tempfile.mkdtemp(prefix=f".{PREPARED}.", suffix=".preparing", dir=folder))
    try:
        splits, unassigned = PARSERS[entry.layout](entry, folder, tmp, step)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    splits = [SplitSummary(s.name, final / s.name, s.count, s.class_counts) for s in splits]
    unit = (
        "patches" if entry.data_kind == "bigearthnet" else UNITS.get(entry.data_kind or "", "items")
    )
    config = data_config(entry, splits)
    manifest = folder / MANIFEST
    document = {
        "dataset": entry.name,
        "title": entry.title,
        "layout": entry.layout,
        "eoforge_version": __version__,
        "split_source": entry.split_source,
        "class_count_unit": unit,
        "classes": [c.model_dump() for c in entry.classes],
        "splits": {
            s.name: {
                "path": str(s.path.relative_to(folder)),
                "count": s.count,
                "class_counts": s.class_counts,
            }
            for s in splits
        },
        "unassigned": unassigned,
        "data": config,
    }
    tmp_manifest = folder / f".{MANIFEST}.tmp"
    tmp_manifest.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp_manifest, manifest)
    return Prepared(entry, folder, manifest, unit, splits, unassigned, config)
