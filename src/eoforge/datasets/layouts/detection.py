"""Object-detection layouts (DOTA, DIOR/DIOR-R, NWPU VHR-10, xView3-SAR, M4-SAR).

Every parser writes, per split, ``<split>/images/<image file>`` (hard links to
the extracted images) and ``<split>/objects.csv`` (one row per object, see
:mod:`eoforge.datasets.layouts.objects` for the columns and the pixel
conventions). Class counts are objects per class (``Parsed.unit = "objects"``);
item counts are images (xView3: scenes).

Published layouts read:

* ``dota`` (DOTA v1.0/v1.5, TorchGeo's mirror): ``dotav1.0_images_<split>.tar.gz``
  holding ``<split>/images/P0000.png`` and ``dotav<version>_annotations_<split>.tar.gz``
  holding ``<split>/annotations/version<version>/P0000.txt`` (the official
  release's ``labelTxt/`` folder is read too): optional header lines
  ``imagesource:...`` and ``gsd:...``, then ``x1 y1 x2 y2 x3 y3 x4 y4 class
  difficult`` per object. Every image needs its label file and every label file
  its image.
* ``dior`` / ``dior_r``: ``JPEGImages-trainval.zip`` and ``JPEGImages-test.zip``
  (``00001.jpg`` ...), ``Annotations.zip`` (VOC XML per image; DIOR-R's oriented
  boxes under ``Oriented Bounding Boxes/``, horizontal ones under ``Horizontal
  Bounding Boxes/`` or directly under ``Annotations/``), ``ImageSets.zip``
  (``Main/train.txt``, ``val.txt``, ``test.txt``: image ids). ``dior`` reads
  ``bndbox``, ``dior_r`` reads ``robndbox``. Images no list names are counted as
  unassigned.
* ``nwpu_vhr10``: ``NWPU VHR-10 dataset.zip`` holding ``NWPU VHR-10 dataset/positive
  image set/001.jpg`` ... and ``negative image set/``, and the COCO file
  ``annotations.json`` (``images`` with ``file_name``/``id``, ``annotations``
  with ``image_id``/``category_id``/``bbox`` ``[x, y, w, h]``, ``categories`` 1..10
  with names such as ``storage_tank``). Split ``positive`` holds every positive
  image (with its boxes), ``negative`` every negative image (no rows).
* ``xview3``: ``xview3-<split>-scenes.tar`` holding scene folders
  ``<scene_id>/VV_dB.tif``, ``VH_dB.tif``, ancillary rasters; ``train.csv`` and
  ``validation.csv`` with one detection per row (``scene_id``,
  ``detect_scene_row``/``detect_scene_column`` (pixel indices), ``is_vessel``,
  ``is_fishing``, ``vessel_length_m``, ``confidence``, ``top``, ``left``,
  ``bottom``, ``right`` (may be empty)). Prepared form per split:
  ``scenes/<scene_id>`` (relative symbolic links to the scene folders),
  ``objects.csv`` with ``image`` = scene id and the attribute columns
  ``confidence`` and ``is_fishing``, and ``points.csv``: the detections left out
  of ``objects.csv`` (no box and no known length, or ``is_vessel`` unknown) with
  the reason; per scene, ``catalogs/<scene_id>.parquet`` (its bands ``S1.VV`` and
  ``S1.VH`` by name) and ``objects/<scene_id>.parquet`` (the boxes as polygons in
  the scene's CRS, through its geotransform), which ``data.kind: geo`` trains on
  (windows read from the scenes, never whole scenes). A row with a box keeps it; a
  row with only a length gets a square of ``vessel_length_m / 10`` pixels (10 m GRD
  pixels) centred on the pixel centre ``(column + 0.5, row + 0.5)``, clipped to the
  scene.
* ``m4sar``: ``M4-SAR.zip`` holding ``M4-SAR/optical/images/<split>/N.jpg``,
  ``M4-SAR/sar/images/<split>/N.jpg`` (same names) and YOLO-OBB labels
  ``M4-SAR/optical/labels/<split>/N.txt`` (``class_id x1 y1 ... x4 y4``, corners
  as fractions of the image size; an image without a label file has no objects).
  Prepared form adds ``<split>/images_sar/`` beside ``images/`` (same names).

Bad input raises :class:`~eoforge.errors.ConfigError` naming the file: an image
without its label file (or SAR partner), a label naming a missing image, a split
list naming a missing image, an unknown class, a degenerate box, a box wholly
outside its image.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import rasterio
import shapely
from rasterio.errors import NotGeoreferencedWarning

from eoforge.catalog import Catalog
from eoforge.datasets.download import not_downloaded
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
    read_lines,
)
from eoforge.datasets.layouts.objects import (
    SAR_PARTNERS,
    ObjectRow,
    check_box,
    from_coco_bbox,
    from_dota_line,
    from_yolo_obb_line,
    horizontal,
    read_voc,
    write_objects,
)
from eoforge.errors import ConfigError, NotGeoreferencedError, UnreadableFileError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
"""File endings taken as images."""

XVIEW3_PIXEL = 10.0
"""Pixel spacing of xView3's GRD scenes, metres."""

XVIEW3_COLUMNS = (
    "scene_id",
    "detect_scene_row",
    "detect_scene_column",
    "is_vessel",
    "is_fishing",
    "vessel_length_m",
    "confidence",
    "top",
    "left",
    "bottom",
    "right",
)
"""The columns of xView3's label CSVs that prepare reads."""


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image in pixels, from its header (PNG, JPEG, TIFF).

    Raises:
        UnreadableFileError: The file is not a readable image.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                return int(ds.width), int(ds.height)
    except rasterio.errors.RasterioIOError as error:
        raise UnreadableFileError(
            f"not a readable image ({error}).", path=path, fix="extract the archive again."
        ) from error


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _has(suffix: str) -> Callable[[Path], bool]:
    return lambda p: any(c.suffix.lower() == suffix for c in p.iterdir() if c.is_file())


def _named(names: tuple[str, ...], suffix: str) -> Callable[[Path], bool]:
    return lambda p: p.name in names and _has(suffix)(p)


def _summary(
    entry: DatasetEntry, out: Path, split: str, count: int, rows: list[ObjectRow]
) -> SplitSummary:
    counts = Counter(r.cls for r in rows)
    names = [c.name for c in entry.classes]
    return SplitSummary(split, out / split, count, {n: counts[n] for n in names})


def _image_split(
    entry: DatasetEntry,
    out: Path,
    split: str,
    images: Iterable[Path],
    objects: Callable[[Path], list[ObjectRow]],
) -> SplitSummary:
    """Link ``images`` into ``<split>/images/`` and write their checked objects."""
    rows: list[ObjectRow] = []
    count = 0
    (out / split / "images").mkdir(parents=True, exist_ok=True)
    for image in images:
        rows.extend(objects(image))
        place(image, out / split / "images" / image.name)
        count += 1
    write_objects(out / split / "objects.csv", rows)
    return _summary(entry, out, split, count, rows)


def _archive(entry: DatasetEntry, split: str, part: str) -> str:
    return next(f.filename for f in entry.files if f.splits == (split,) and part in f.filename)


def read_dota(path: Path, image: Path, names: Sequence[str]) -> list[ObjectRow]:
    """The objects of one DOTA label file, checked against the image's size.

    Args:
        path: The label file (header lines, then one object per line).
        image: Its image (for the file name and size).
        names: The dataset's class names.

    Raises:
        ConfigError: A line is not an object, an unknown class, a bad box.
    """
    size = image_size(image)
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith(("imagesource:", "gsd:")):
            continue
        row = from_dota_line(text, image.name, names, path, number)
        check_box(row, size, path)
        rows.append(row)
    return rows


def _dota(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    names = [c.name for c in entry.classes]
    summaries = []
    for split in entry.splits:
        labels_archive = _archive(entry, split, "_annotations_")
        version = labels_archive.removeprefix("dotav").split("_", 1)[0]
        images = find_dir(
            extracted[_archive(entry, split, "_images_")],
            _named(("images",), ".png"),
            "images/ folder of PNGs",
        )
        labels = find_dir(
            extracted[labels_archive],
            _named((f"version{version}", "labelTxt"), ".txt"),
            f"annotations/version{version}/ (or labelTxt/) folder of label files",
        )
        pngs = _images(images)
        stems = {p.stem for p in pngs}
        for label in sorted(labels.glob("*.txt")):
            if label.stem not in stems:
                raise ConfigError(
                    f"label file for image {label.stem} but no such image in {images}.",
                    path=label,
                    fix="the image and annotation archives do not match: download both again.",
                )

        def objects(image: Path, labels: Path = labels) -> list[ObjectRow]:
            label = labels / f"{image.stem}.txt"
            if not label.is_file():
                raise ConfigError(
                    f"image {image.name} has no label file.",
                    path=label,
                    fix="the image and annotation archives do not match: download both again.",
                )
            return read_dota(label, image, names)

        if step is not None:
            step(f"linking the {split} images and reading their labels")
        summaries.append(_image_split(entry, out, split, pngs, objects))
    return Parsed(summaries, "objects")


def _dior_parser(oriented: bool) -> Parser:
    def parse(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
        extracted = extract_all(entry, folder.parent, step)
        names = [c.name for c in entry.classes]
        by_id: dict[str, Path] = {}
        for archive in ("JPEGImages-trainval.zip", "JPEGImages-test.zip"):
            jpegs = find_dir(extracted[archive], _has(".jpg"), f"folder of JPEGs in {archive}")
            by_id.update((p.stem, p) for p in _images(jpegs))
        wanted = "Oriented Bounding Boxes" if oriented else "Horizontal Bounding Boxes"
        xmls = find_dir(
            extracted["Annotations.zip"],
            lambda p: (
                _has(".xml")(p) and (p.name == wanted or (not oriented and p.name == "Annotations"))
            ),
            f"'{wanted}' folder of XML files",
        )
        lists = find_dir(
            extracted["ImageSets.zip"],
            lambda p: all((p / f"{s}.txt").is_file() for s in entry.splits),
            "Main/ folder with train.txt, val.txt and test.txt",
        )
        listed: set[str] = set()
        summaries = []
        for split in entry.splits:
            split_list = lists / f"{split}.txt"
            ids = read_lines(split_list, entry)
            missing = [i for i in ids if i not in by_id]
            if missing:
                raise ConfigError(
                    f"the {split} list names {len(missing)} image(s) not in the image archives, "
                    f"first {missing[0]}.jpg.",
                    path=split_list,
                    fix="download JPEGImages-trainval.zip and JPEGImages-test.zip again.",
                )
            listed.update(ids)

            def objects(image: Path) -> list[ObjectRow]:
                xml = xmls / f"{image.stem}.xml"
                if not xml.is_file():
                    raise ConfigError(
                        f"image {image.name} has no annotation file.",
                        path=xml,
                        fix="download Annotations.zip again.",
                    )
                rows = read_voc(xml, image.name, names, oriented)
                size = image_size(image)
                for row in rows:
                    check_box(row, size, xml)
                return rows

            if step is not None:
                step(f"linking the {split} images and reading their annotations")
            summaries.append(_image_split(entry, out, split, (by_id[i] for i in ids), objects))
        return Parsed(summaries, "objects", len(set(by_id) - listed))

    return parse


def _nwpu_vhr10(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    base = find_dir(
        extracted,
        lambda p: (p / "positive image set").is_dir() and (p / "negative image set").is_dir(),
        "'positive image set' and 'negative image set' folders",
    )
    path = folder / "annotations.json"
    if not path.is_file():
        raise not_downloaded(entry, path)
    try:
        coco: dict[str, Any] = json.loads(path.read_text())
        files = {image["id"]: image["file_name"] for image in coco["images"]}
        categories = {c["id"]: str(c["name"]).replace("_", " ") for c in coco["categories"]}
        annotations = list(coco["annotations"])
    except (ValueError, KeyError, TypeError) as error:
        raise UnreadableFileError(
            f"not a COCO annotation file ({error!r}).",
            path=path,
            fix="delete it and run `eoforge datasets download nwpu-vhr10` again.",
        ) from error
    names = [c.name for c in entry.classes]
    for name in categories.values():
        if name not in names:
            raise ConfigError(
                f"unknown category {name!r} (the dataset's classes: {', '.join(names)}).",
                path=path,
                fix="the annotation file is not NWPU VHR-10's: download it again.",
            )
    positive = base / "positive image set"
    by_image: dict[str, list[ObjectRow]] = {}
    for annotation in annotations:
        file_name = files.get(annotation.get("image_id"))
        if file_name is None or not (positive / file_name).is_file():
            raise ConfigError(
                f"annotation {annotation.get('id')} names image "
                f"{file_name or annotation.get('image_id')!r}, which is not in {positive}.",
                path=path,
                fix="the annotation file and the image archive do not match: download both again.",
            )
        category = categories.get(annotation.get("category_id"))
        if category is None:
            raise ConfigError(
                f"annotation {annotation.get('id')} has unknown category id "
                f"{annotation.get('category_id')!r}.",
                path=path,
                fix="download annotations.json again.",
            )
        row = from_coco_bbox(file_name, category, annotation.get("bbox", []), path)
        by_image.setdefault(file_name, []).append(row)

    def objects(image: Path) -> list[ObjectRow]:
        rows = by_image.get(image.name, [])
        size = image_size(image) if rows else (0, 0)
        for row in rows:
            check_box(row, size, path)
        return rows

    if step is not None:
        step("linking the images and reading annotations.json")
    summaries = [
        _image_split(entry, out, "positive", _images(positive), objects),
        _image_split(entry, out, "negative", _images(base / "negative image set"), lambda _: []),
    ]
    return Parsed(summaries, "objects")


def _flag(text: str) -> bool | None:
    value = text.strip().lower()
    if value in ("true", "1", "1.0"):
        return True
    if value in ("false", "0", "0.0"):
        return False
    return None


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _xview3_row(
    record: dict[str, str], size: tuple[int, int], path: Path, number: int
) -> ObjectRow | str:
    """One label CSV row as an object, or why it is left out (for ``points.csv``)."""
    vessel = _flag(record["is_vessel"])
    if vessel is None:
        return "is_vessel unknown"
    cls = "vessel" if vessel else "non-vessel"
    attributes = (("confidence", record["confidence"]), ("is_fishing", record["is_fishing"]))
    box = [_float(record[k]) for k in ("left", "top", "right", "bottom")]
    if all(v is not None for v in box):
        row = horizontal(record["scene_id"], cls, box)  # type: ignore[arg-type]
        check_box(row, size, path)
        return ObjectRow(row.image, cls, row.corners, False, attributes)
    length = _float(record["vessel_length_m"])
    if length is None or length <= 0:
        return "no box and no vessel length"
    column = _float(record["detect_scene_column"])
    line = _float(record["detect_scene_row"])
    if column is None or line is None:
        raise ConfigError(
            f"line {number}: no detect_scene_row/detect_scene_column.",
            path=path,
            fix="the label file is damaged: download it again.",
        )
    half = length / XVIEW3_PIXEL / 2.0
    x, y = column + 0.5, line + 0.5
    width, height = size
    xyxy = (max(x - half, 0.0), max(y - half, 0.0), min(x + half, width), min(y + half, height))
    row = horizontal(record["scene_id"], cls, xyxy)
    check_box(row, size, path)
    return ObjectRow(row.image, cls, row.corners, False, attributes)


XVIEW3_BANDS = r"(?P<band>V[VH])_dB\.tif$"
"""File names of a scene's bands (``VV_dB.tif`` is band ``S1.VV``, sigma0 in dB)."""


def write_xview3_scenes(scenes: dict[str, Path], rows: Sequence[ObjectRow], split: Path) -> None:
    """Per scene, a catalog naming its bands and its objects in map coordinates.

    Writes ``catalogs/<scene_id>.parquet`` (a saved
    :class:`~eoforge.catalog.Catalog`: one Sentinel-1 source with bands
    ``S1.VV`` and ``S1.VH`` from ``VV_dB.tif`` and ``VH_dB.tif``) and
    ``objects/<scene_id>.parquet`` (GeoParquet in the scene's CRS: each box's
    pixel corners moved through the scene's transform; columns ``label``,
    ``confidence``, ``is_fishing``, ``scene_id``; empty for a scene without
    objects), which ``data.kind: geo`` pairs by position.

    Raises:
        NotGeoreferencedError: A scene's ``VV_dB.tif`` has no CRS or transform.
    """
    by_scene: dict[str, list[ObjectRow]] = {}
    for row in rows:
        by_scene.setdefault(row.image, []).append(row)
    (split / "catalogs").mkdir(parents=True, exist_ok=True)
    (split / "objects").mkdir(parents=True, exist_ok=True)
    for scene, folder in sorted(scenes.items()):
        bands = [folder / "VV_dB.tif", folder / "VH_dB.tif"]
        files = [str(p) for p in bands if p.is_file()]
        catalog = Catalog.from_paths(files, pattern=XVIEW3_BANDS, sensor="S1", progress=False)
        catalog.save(split / "catalogs" / f"{scene}.parquet")
        with rasterio.open(bands[0]) as dataset:
            transform, crs = dataset.transform, dataset.crs
        if crs is None or transform.is_identity:
            raise NotGeoreferencedError(
                "the scene has no CRS or geotransform: its objects cannot be placed on the map.",
                path=bands[0],
                fix="download the scene again (xView3 scenes are georeferenced GeoTIFFs).",
            )
        mine = by_scene.get(scene, [])
        polygons = [
            shapely.Polygon(
                [transform @ xy for xy in zip(r.corners[::2], r.corners[1::2], strict=True)]
            )
            for r in mine
        ]
        attributes = [dict(r.attributes) for r in mine]
        frame = gpd.GeoDataFrame(
            {
                "label": [r.cls for r in mine],
                "confidence": [a.get("confidence", "") for a in attributes],
                "is_fishing": [a.get("is_fishing", "") for a in attributes],
                "scene_id": [scene] * len(mine),
            },
            geometry=gpd.GeoSeries(polygons, crs=crs.to_wkt()),
            crs=crs.to_wkt(),
        )
        frame.to_parquet(split / "objects" / f"{scene}.parquet")


def xview3_geo_split(split: Path) -> dict[str, Any]:
    """The ``data.train`` (or ``data.val``) section of a prepared xView3 split.

    Each scene's catalog is paired with its objects file (see
    :func:`write_xview3_scenes`).
    """
    catalogs = sorted((split / "catalogs").glob("*.parquet"))
    return {
        "images": [str(p.resolve()) for p in catalogs],
        "objects": {
            "path": [str((split / "objects" / p.name).resolve()) for p in catalogs],
            "attribute": "label",
        },
    }


def _xview3(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    summaries = []
    for split in entry.splits:
        archive = next(f for f in entry.files if f.splits == (split,) and f.extract)
        labels = next(f for f in entry.files if f.splits == (split,) and not f.extract)
        scenes = {p.parent.name: p.parent for p in extracted[archive.filename].rglob("VV_dB.tif")}
        if not scenes:
            raise ConfigError(
                "no scene folder (<scene_id>/VV_dB.tif) in the scene archive.",
                path=folder / archive.filename,
                fix=archive.manual,
            )
        path = folder / labels.filename
        if not path.is_file():
            raise not_downloaded(entry, path)
        sizes: dict[str, tuple[int, int]] = {}
        rows: list[ObjectRow] = []
        points: list[list[str]] = []
        with path.open(newline="") as file:
            reader = csv.DictReader(file)
            absent = [c for c in XVIEW3_COLUMNS if c not in (reader.fieldnames or [])]
            if absent:
                raise ConfigError(
                    f"no column(s) {', '.join(absent)}: not an xView3 label file.",
                    path=path,
                    fix=labels.manual,
                )
            if step is not None:
                step(f"reading {labels.filename}")
            for number, record in enumerate(reader, start=2):
                scene = record["scene_id"]
                if scene not in scenes:
                    raise ConfigError(
                        f"line {number} labels scene {scene}, which is not in {archive.filename}.",
                        path=path,
                        fix=f"add the scene to {archive.filename} ({archive.manual})",
                    )
                if scene not in sizes:
                    sizes[scene] = image_size(scenes[scene] / "VV_dB.tif")
                result = _xview3_row(record, sizes[scene], path, number)
                if isinstance(result, str):
                    points.append([*(record[c] for c in XVIEW3_COLUMNS), result])
                else:
                    rows.append(result)
        if step is not None and points:
            step(f"{len(points)} {split} detections without a box or a class: see points.csv")
        for scene, source in sorted(scenes.items()):
            link_dir(source, out / split / "scenes" / scene)
        write_objects(out / split / "objects.csv", rows, ("confidence", "is_fishing"))
        if step is not None:
            step(f"writing the {split} scenes' catalogs and objects in map coordinates")
        write_xview3_scenes(scenes, rows, out / split)
        with (out / split / "points.csv").open("w", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow([*XVIEW3_COLUMNS, "reason"])
            writer.writerows(points)
        summaries.append(_summary(entry, out, split, len(scenes), rows))
    return Parsed(summaries, "objects")


def _m4sar(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    base = find_dir(
        extracted,
        lambda p: (p / "optical" / "images").is_dir() and (p / "sar" / "images").is_dir(),
        "optical/images/ and sar/images/ folders",
    )
    names = [c.name for c in entry.classes]
    summaries = []
    for split in entry.splits:
        optical = base / "optical" / "images" / split
        sar = base / "sar" / "images" / split
        labels = base / "optical" / "labels" / split
        for needed in (optical, sar, labels):
            if not needed.is_dir():
                raise ConfigError(
                    f"no {split} folder here.", path=needed, fix="extract M4-SAR.zip again."
                )
        images = _images(optical)
        stems = {p.stem for p in images}
        for other in _images(sar):
            if not (optical / other.name).is_file():
                raise ConfigError(
                    f"SAR image {other.name} has no optical partner in {optical}.",
                    path=other,
                    fix="the archive is incomplete: download it again.",
                )
        for label in sorted(labels.glob("*.txt")):
            if label.stem not in stems:
                raise ConfigError(
                    f"label file for image {label.stem} but no such image in {optical}.",
                    path=label,
                    fix="the archive is incomplete: download it again.",
                )

        def objects(
            image: Path, sar: Path = sar, labels: Path = labels, split: str = split
        ) -> list[ObjectRow]:
            partner = sar / image.name
            if not partner.is_file():
                raise ConfigError(
                    f"optical image {image.name} has no SAR partner.",
                    path=partner,
                    fix="the archive is incomplete: download it again.",
                )
            place(partner, out / split / SAR_PARTNERS / image.name)
            label = labels / f"{image.stem}.txt"
            if not label.is_file():
                return []
            size = image_size(image)
            rows = []
            for number, line in enumerate(label.read_text().splitlines(), start=1):
                if line.strip():
                    row = from_yolo_obb_line(line, image.name, names, size, label, number)
                    check_box(row, size, label)
                    rows.append(row)
            return rows

        if step is not None:
            step(f"linking the {split} image pairs and reading their labels")
        (out / split / SAR_PARTNERS).mkdir(parents=True, exist_ok=True)
        summaries.append(_image_split(entry, out, split, images, objects))
    return Parsed(summaries, "objects")


PARSERS: dict[str, Parser] = {
    "dota": _dota,
    "dior": _dior_parser(oriented=False),
    "dior_r": _dior_parser(oriented=True),
    "nwpu_vhr10": _nwpu_vhr10,
    "xview3": _xview3,
    "m4sar": _m4sar,
}
"""Layout name to parser."""
