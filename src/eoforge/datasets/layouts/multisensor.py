"""Multi-sensor layouts (METER-ML, GAMUS, GeoPlant): several sensors per sample.

* ``meter_ml`` reads ``<split>_dataset.geojson`` (a GeoJSON FeatureCollection
  whose features name their image folder in ``Image_Folder``, e.g.
  ``val_images/<folder>``, and their facility types in ``Type``: names joined
  by ``-``, or ``Negative``/``Roundabout``) and the folders under
  ``<split>_images/`` (train's spread over ``train_images_1..3/``), each
  holding ``naip.png``, ``sentinel-1.npy``, ``sentinel-2-10m.npy``,
  ``sentinel-2-20m.npy`` and ``sentinel-2-60m.npy``. It writes
  ``<split>/<folder>/`` (hard links of the five files) and
  ``<split>/labels.csv`` (``sample,label``; several labels joined by ``;``).
  Counts are samples per class; folders no geojson lists are unassigned.
* ``gamus`` reads ``images/<split>/<tile>IMG.h5`` (RGB ``[H, W, 3]`` uint8),
  ``classes/<split>/<tile>CLS.h5`` (class ids ``[H, W]``) and
  ``heights/<split>/<tile>AGL.h5`` (height above ground ``[H, W]``, metres),
  one HDF5 dataset each. It writes lossless GeoTIFFs (no georeferencing):
  ``<split>/images/<tile>.tif`` float32 ``[4, H, W]`` (R, G, B as published,
  0-255, then the height in metres: the entry's bands, what ``data.kind:
  image_mask`` reads), ``<split>/masks/<tile>.tif`` ``[1, H, W]`` class ids
  and ``<split>/heights/<tile>.tif`` float32 ``[1, H, W]`` (the height alone,
  for models that take it as a separate input). Counts are pixels per class.
* ``geoplant`` reads the presence-absence tables ``PA_metadata_<split>.csv``
  (one row per survey and species: ``surveyId``, ``lat``, ``lon``,
  ``speciesId``, ...) and the Sentinel-2 patch archives
  (``<CD>/<AB>/<surveyId>.tiff``, CD and AB the last four digits of the id).
  It writes ``<split>/surveys.csv`` (``surveyId,lat,lon,species``: the
  survey's species ids, space-separated, ascending) and hard links
  ``<split>/patches/<surveyId>.tiff``. Counts are surveys per species id;
  patches no survey names are unassigned.
* ``agbd`` reads the authors' release: 40 HDF5 patch files
  ``data_subset-<year>-v4_<i>-20.h5`` (one group per Sentinel-2 tile, holding
  the GEDI footprints' patches; not opened), the split file
  ``biomes_splits_to_name.pkl`` (a pickled dict: split -> tile names; read
  with an unpickler that builds plain values and NumPy arrays only) and the
  tables ``<split>_features-v6.csv`` (one row per footprint). It writes
  ``<split>/tiles.txt`` (the split's tile names, sorted, one a line), hard
  links ``<split>/<split>_features-v6.csv`` and ``<split>/patches/<file>.h5``
  (all 40 files). Counts are footprints (the table's rows); there are no
  classes. A tile in two splits is refused.
"""

from __future__ import annotations

import csv
import json
import pickle
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from eoforge.datasets.download import not_downloaded
from eoforge.datasets.entries.multisensor import AGBD_FEATURES, AGBD_H5, AGBD_SPLITS_FILE
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
)
from eoforge.errors import ConfigError, UnreadableFileError

INCOMPLETE = "the download is incomplete or damaged: delete it and download it again."
"""The fix for published files that lack a part."""

METER_ML_FILES = (
    "naip.png",
    "sentinel-1.npy",
    "sentinel-2-10m.npy",
    "sentinel-2-20m.npy",
    "sentinel-2-60m.npy",
)
"""The files of one METER-ML location, in the entry's band order."""

METER_ML_NEGATIVES = {"Negative": "Negative", "Roundabout": "Negative"}
"""METER-ML ``Type`` values that mean no methane-emitting facility."""


def _meter_ml_labels(geojson: Path, names: list[str]) -> list[tuple[str, list[str]]]:
    """``(folder name, class names)`` of each feature of a METER-ML split geojson.

    Raises:
        ConfigError: Not a FeatureCollection, a feature without ``Image_Folder``
            or ``Type``, or a type that is no class.
    """
    try:
        document = json.loads(geojson.read_text())
        features = document["features"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"not a GeoJSON FeatureCollection ({exc}).", path=geojson, fix=INCOMPLETE
        ) from exc
    known = set(names)
    labels = []
    for number, feature in enumerate(features, 1):
        properties = feature.get("properties") or {}
        folder, kind = properties.get("Image_Folder"), properties.get("Type")
        if not isinstance(folder, str) or not isinstance(kind, str):
            raise ConfigError(
                f"feature {number} has no Image_Folder or Type.", path=geojson, fix=INCOMPLETE
            )
        found: list[str] = []
        for part in (p.strip() for p in kind.split("-")):
            name = METER_ML_NEGATIVES.get(part, part)
            if name not in known:
                raise ConfigError(
                    f"feature {number} ({folder}) has the unknown Type {part!r}; known: "
                    f"{sorted(known | set(METER_ML_NEGATIVES))}.",
                    path=geojson,
                    fix="check that the file is METER-ML's; download it again if it is damaged.",
                )
            if name not in found:
                found.append(name)
        labels.append((folder.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1], found))
    return labels


def _meter_ml(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    base = find_dir(
        extracted,
        lambda p: any((p / f"{s}_dataset.geojson").is_file() for s in entry.splits),
        "<split>_dataset.geojson",
    )
    names = [c.name for c in entry.classes]
    summaries = []
    unassigned = 0
    for split in entry.splits:
        geojson = base / f"{split}_dataset.geojson"
        images = base / f"{split}_images"
        for needed in (geojson, images):
            if not needed.exists():
                raise ConfigError(f"{needed.name} is missing.", path=base, fix=INCOMPLETE)
        if step is not None:
            step(f"linking and counting the {split} locations")
        folders = {p.parent.name: p.parent for p in sorted(images.rglob(METER_ML_FILES[0]))}
        counts = Counter[str]()
        rows: list[tuple[str, str]] = []
        listed: set[str] = set()
        for sample, labels in _meter_ml_labels(geojson, names):
            if sample in listed:
                raise ConfigError(
                    f"{geojson.name} lists {sample!r} twice.", path=geojson, fix=INCOMPLETE
                )
            listed.add(sample)
            source = folders.pop(sample, None)
            if source is None:
                raise ConfigError(
                    f"{geojson.name} lists {sample!r}, which has no folder with "
                    f"{METER_ML_FILES[0]} in {images.name}/.",
                    path=geojson,
                    fix=INCOMPLETE,
                )
            for name in METER_ML_FILES:
                if not (source / name).is_file():
                    raise ConfigError(
                        f"location {sample!r} has no {name}.", path=source, fix=INCOMPLETE
                    )
                place(source / name, out / split / sample / name)
            counts.update(labels)
            rows.append((sample, ";".join(labels)))
        unassigned += len(folders)
        (out / split).mkdir(parents=True, exist_ok=True)
        with open(out / split / "labels.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("sample", "label"))
            writer.writerows(rows)
        summaries.append(SplitSummary(split, out / split, len(rows), {n: counts[n] for n in names}))
    return Parsed(summaries, "samples", unassigned)


GAMUS_SUFFIXES = {"images": "IMG.h5", "classes": "CLS.h5", "heights": "AGL.h5"}
"""GAMUS folder -> file name ending after the tile name."""

GAMUS_DATASETS = ("data", "image")
"""Names of the array in a GAMUS HDF5 file (the authors' loaders use both)."""


def _h5_array(path: Path) -> np.ndarray[Any, Any]:
    """The array of a one-array HDF5 file as ``[C, H, W]`` (``[1, H, W]`` for 2-D arrays).

    GDAL reads a 3-D ``[H, W, C]`` array as H bands of ``[W, C]``, which is
    ``[H, W, C]`` again; it is moved to ``[C, H, W]`` when its last axis is
    the short one (at most 4).

    Raises:
        UnreadableFileError: Not an HDF5 file GDAL can read.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            with rasterio.open(path) as ds:
                subdatasets = list(ds.subdatasets)
                values = None if subdatasets else np.asarray(ds.read())
            if values is None:
                named = [s for s in subdatasets if s.rsplit("/", 1)[-1] in GAMUS_DATASETS]
                with rasterio.open((named or subdatasets)[0]) as ds:
                    values = np.asarray(ds.read())
        except RasterioIOError as exc:
            raise UnreadableFileError(
                f"not a readable HDF5 file ({exc}).", path=path, fix=INCOMPLETE
            ) from exc
    if values.shape[0] > 4 and values.shape[2] <= 4:
        values = values.transpose(2, 0, 1)
    return values


def _write_plain_tif(values: np.ndarray[Any, Any], dest: Path) -> None:
    """``[C, H, W]`` values as a lossless GeoTIFF without georeferencing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": values.shape[2],
        "height": values.shape[1],
        "count": values.shape[0],
        "dtype": values.dtype.name,
        "compress": "deflate",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(dest, "w", **profile) as ds:
            ds.write(values)


def _gamus(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    base = find_dir(
        extracted,
        lambda p: all((p / d).is_dir() for d in GAMUS_SUFFIXES),
        "images/, classes/ and heights/ folders",
    )
    names = [c.name for c in entry.classes]
    summaries = []
    for split in entry.splits:
        if not (base / "images" / split).is_dir():
            raise ConfigError(
                f"the {split} split has no folder images/{split}/.", path=base, fix=INCOMPLETE
            )
        tiles: dict[str, dict[str, Path]] = {}
        for sub, suffix in GAMUS_SUFFIXES.items():
            for path in sorted((base / sub / split).glob(f"*{suffix}")):
                tiles.setdefault(path.name[: -len(suffix)], {})[sub] = path
        if step is not None:
            step(f"converting the {split} tiles to GeoTIFF")
        counts = Counter[str]()
        for tile, parts in sorted(tiles.items()):
            for sub, suffix in GAMUS_SUFFIXES.items():
                if sub not in parts:
                    have = next(iter(parts.values()))
                    raise ConfigError(
                        f"{have.name} has no partner {tile}{suffix} in {sub}/{split}/.",
                        path=have,
                        fix=INCOMPLETE,
                    )
            image = _h5_array(parts["images"])
            ids = _h5_array(parts["classes"])
            height = _h5_array(parts["heights"])
            if not image.shape[1:] == ids.shape[1:] == height.shape[1:]:
                raise ConfigError(
                    f"image {image.shape}, classes {ids.shape} and heights {height.shape} "
                    "differ in size.",
                    path=parts["images"],
                    fix=INCOMPLETE,
                )
            stem = tile.rstrip("_") or tile
            height = height.astype(np.float32)
            stacked = np.concatenate([image.astype(np.float32), height])
            _write_plain_tif(stacked, out / split / "images" / f"{stem}.tif")
            _write_plain_tif(ids, out / split / "masks" / f"{stem}.tif")
            _write_plain_tif(height, out / split / "heights" / f"{stem}.tif")
            counts.update(pixel_counts(ids[0], names, False))
        for sub in ("images", "masks", "heights"):
            (out / split / sub).mkdir(parents=True, exist_ok=True)
        summaries.append(
            SplitSummary(split, out / split, len(tiles), {n: counts[n] for n in names})
        )
    return Parsed(summaries, "pixels")


GEOPLANT_COLUMNS = ("surveyId", "lat", "lon")
"""Columns every GeoPlant survey table has (``speciesId`` too where labels are given)."""


def _integer(text: str) -> int:
    """A GeoPlant id written as ``123`` or ``123.0``."""
    return int(float(text))


def _geoplant_surveys(table: Path) -> dict[int, tuple[str, str, set[int]]]:
    """Survey id -> ``(lat, lon, species ids)`` of a presence-absence table.

    Raises:
        ConfigError: A needed column is missing or an id is not a number.
    """
    surveys: dict[int, tuple[str, str, set[int]]] = {}
    with open(table, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in GEOPLANT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(
                f"the survey table has no column {', '.join(missing)}.",
                path=table,
                fix=INCOMPLETE,
            )
        for line, row in enumerate(reader, 2):
            try:
                survey = _integer(row["surveyId"])
                species = (row.get("speciesId") or "").strip()
                ids = {_integer(species)} if species else set()
            except ValueError as exc:
                raise ConfigError(
                    f"line {line}: surveyId or speciesId is not a number ({exc}).",
                    path=table,
                    fix=INCOMPLETE,
                ) from exc
            surveys.setdefault(survey, (row["lat"], row["lon"], set()))[2].update(ids)
    return surveys


def _geoplant(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    summaries = []
    unassigned = 0
    for split in entry.splits:
        files = entry.files_for(split)
        table = folder / next(f.filename for f in files if not f.extract)
        archive = next(f.filename for f in files if f.extract)
        if not table.is_file():
            raise not_downloaded(entry, table)
        surveys = _geoplant_surveys(table)
        if step is not None:
            step(f"linking the {split} patches")
        patches = {p.stem: p for p in sorted(extracted[archive].rglob("*.tiff"))}
        counts = Counter[int]()
        rows = []
        for survey, (lat, lon, species) in sorted(surveys.items()):
            patch = patches.pop(str(survey), None)
            if patch is None:
                raise ConfigError(
                    f"survey {survey} of {table.name} has no patch {survey}.tiff in {archive}.",
                    path=table,
                    fix=INCOMPLETE,
                )
            place(patch, out / split / "patches" / f"{survey}.tiff")
            counts.update(species)
            rows.append((survey, lat, lon, " ".join(str(s) for s in sorted(species))))
        unassigned += len(patches)
        (out / split / "patches").mkdir(parents=True, exist_ok=True)
        with open(out / split / "surveys.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("surveyId", "lat", "lon", "species"))
            writer.writerows(rows)
        summaries.append(
            SplitSummary(split, out / split, len(rows), {str(s): counts[s] for s in sorted(counts)})
        )
    return Parsed(summaries, "surveys", unassigned)


PICKLE_GLOBALS = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("collections", "OrderedDict"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
    }
)
"""The only classes and functions a split pickle may name: containers and NumPy arrays."""


class _DataUnpickler(pickle.Unpickler):
    """Unpickles plain values, containers and NumPy arrays; refuses any other class or function."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name}")


def agbd_split_tiles(entry: DatasetEntry, path: Path) -> dict[str, list[str]]:
    """The Sentinel-2 tile names of each of ``entry``'s splits, from AGBD's split pickle.

    Args:
        entry: The dataset (its splits are the keys the pickle must have).
        path: ``biomes_splits_to_name.pkl``: a dict of split name -> tile names
            (a list, set or NumPy array of strings).

    Returns:
        Split -> its tile names, sorted and without repeats.

    Raises:
        MissingFileError: The file is not there.
        ConfigError: Not a pickle of plain values, a split missing, or a tile in two splits.
    """
    if not path.is_file():
        raise not_downloaded(entry, path)
    try:
        with open(path, "rb") as f:
            mapping = _DataUnpickler(f).load()
    except pickle.UnpicklingError as exc:
        raise ConfigError(
            f"the split file is not a pickle of plain values ({exc}); eoforge unpickles only "
            "containers, strings, numbers and NumPy arrays.",
            path=path,
            fix="the published file maps split names to tile names: download it again from "
            "the dataset's page.",
        ) from exc
    except (EOFError, ValueError, TypeError) as exc:
        raise ConfigError(f"not a readable pickle ({exc}).", path=path, fix=INCOMPLETE) from exc
    if not isinstance(mapping, dict) or any(s not in mapping for s in entry.splits):
        found = sorted(map(str, mapping)) if isinstance(mapping, dict) else type(mapping).__name__
        raise ConfigError(
            f"the split file should map {list(entry.splits)} to tile names; it holds {found}.",
            path=path,
            fix=INCOMPLETE,
        )
    tiles: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for split in entry.splits:
        values = mapping[split]
        names = np.asarray(list(values) if isinstance(values, set | frozenset) else values)
        tiles[split] = sorted({str(v) for v in names.ravel().tolist()})
        for tile in tiles[split]:
            if tile in seen:
                raise ConfigError(
                    f"tile {tile!r} is in both the {seen[tile]} and the {split} split.",
                    path=path,
                    fix=INCOMPLETE,
                )
            seen[tile] = split
    return tiles


def _table_rows(path: Path) -> int:
    """Data rows of a CSV table (its header not counted).

    Raises:
        ConfigError: The file is empty (not even a header).
    """
    with open(path, newline="") as f:
        rows = sum(1 for _ in csv.reader(f))
    if rows == 0:
        raise ConfigError("the feature table is empty.", path=path, fix=INCOMPLETE)
    return rows - 1


def _agbd(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    tiles = agbd_split_tiles(entry, folder / AGBD_SPLITS_FILE)
    patches = [folder / name for name in AGBD_H5]
    for path in patches:
        if not path.is_file():
            raise not_downloaded(entry, path)
    summaries = []
    for split in entry.splits:
        table = folder / AGBD_FEATURES.format(split=split)
        if not table.is_file():
            raise not_downloaded(entry, table)
        if step is not None:
            step(f"counting the footprints of {table.name}")
        footprints = _table_rows(table)
        place(table, out / split / table.name)
        for path in patches:
            place(path, out / split / "patches" / path.name)
        (out / split / "tiles.txt").write_text("".join(f"{tile}\n" for tile in tiles[split]))
        summaries.append(SplitSummary(split, out / split, footprints, {}))
    return Parsed(summaries, "footprints")


PARSERS: dict[str, Parser] = {
    "meter_ml": _meter_ml,
    "gamus": _gamus,
    "geoplant": _geoplant,
    "agbd": _agbd,
}
"""Layout name to parser."""
