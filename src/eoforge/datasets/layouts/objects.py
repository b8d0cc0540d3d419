"""The prepared object table of detection datasets: ``objects.csv``, one row per object.

Every detection layout writes ``<split>/objects.csv`` with the columns
``image,class,x1,y1,x2,y2,x3,y3,x4,y4,difficult`` and, for some datasets, named
attribute columns after them (xView3: ``confidence``, ``is_fishing``).

Conventions:

* ``image`` is the file name under ``<split>/images/`` (xView3: the scene id,
  a folder under ``<split>/scenes/``). Datasets of optical + SAR pairs (M4-SAR)
  keep each image's SAR partner under the same name in ``<split>/images_sar/``
  (:data:`SAR_PARTNERS`); the boxes are the pair's.
* ``class`` is the class name as listed in the dataset's entry.
* The four corners are pixel coordinates of the image: x to the right, y down,
  pixel corners (the top-left pixel spans 0..1 in x and y). Oriented boxes keep
  the source's corner order (DOTA: clockwise from the first annotated corner;
  DIOR-R: left-top, right-top, right-bottom, left-bottom). Horizontal boxes are
  written as (xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax).
* ``difficult`` is 1 for objects the source marks difficult, else 0.
* Integral coordinates are written without a decimal point, others with the
  shortest text that reads back to the same float.

The converters read one source format each: DOTA 8-point lines
(:func:`from_dota_line`), VOC XML ``bndbox`` and DIOR-R ``robndbox`` objects
(:func:`from_voc_object`), COCO ``[x, y, w, h]`` boxes (:func:`from_coco_bbox`)
and normalised 8-point lines of YOLO-OBB label files (:func:`from_yolo_obb_line`).
:func:`check_box` refuses a degenerate box (zero area) and a box that lies
wholly outside its image; boxes that cross the image edge are kept as published
(truncated objects).
"""

from __future__ import annotations

import csv
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError

COLUMNS = ("image", "class", "x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4", "difficult")
"""The fixed columns of ``objects.csv``, in order; attribute columns follow them."""

SAR_PARTNERS = "images_sar"
"""The split's folder of SAR partners of the images of optical + SAR pairs."""

Corners = tuple[float, float, float, float, float, float, float, float]
"""``(x1, y1, x2, y2, x3, y3, x4, y4)``: four corners in pixel coordinates."""

ROBNDBOX_CORNERS = (
    ("x_left_top", "y_left_top"),
    ("x_right_top", "y_right_top"),
    ("x_right_bottom", "y_right_bottom"),
    ("x_left_bottom", "y_left_bottom"),
)
"""DIOR-R's ``robndbox`` elements, in the corner order written."""


@dataclass(frozen=True)
class ObjectRow:
    """One object of ``objects.csv``.

    Attributes:
        image: File name under ``<split>/images/`` (xView3: scene id).
        cls: Class name.
        corners: Four corners ``(x1, y1, ..., x4, y4)``, pixels (see the module conventions).
        difficult: Whether the source marks the object difficult.
        attributes: Extra named values (``(("confidence", "HIGH"),)``), written as
            columns after ``difficult``; empty for most datasets.
    """

    image: str
    cls: str
    corners: Corners
    difficult: bool = False
    attributes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if len(self.corners) != 8:
            raise ValueError(f"{self.image}: a box needs 8 coordinates, got {self.corners!r}")
        object.__setattr__(self, "corners", tuple(float(v) for v in self.corners))

    @property
    def area(self) -> float:
        """Area of the quadrilateral, square pixels (shoelace formula)."""
        xs, ys = self.corners[0::2], self.corners[1::2]
        twice = sum(xs[i] * ys[(i + 1) % 4] - xs[(i + 1) % 4] * ys[i] for i in range(4))
        return abs(twice) / 2.0

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the corners, pixels."""
        xs, ys = self.corners[0::2], self.corners[1::2]
        return min(xs), min(ys), max(xs), max(ys)


def horizontal(image: str, cls: str, box: Sequence[float], difficult: bool = False) -> ObjectRow:
    """A horizontal box ``(xmin, ymin, xmax, ymax)`` (pixels) as a row, corners clockwise."""
    xmin, ymin, xmax, ymax = (float(v) for v in box)
    return ObjectRow(image, cls, (xmin, ymin, xmax, ymin, xmax, ymax, xmin, ymax), difficult)


def _number(text: str, path: Path, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(
            f"{what}: {text!r} is not a number.",
            path=path,
            fix="the annotation file is damaged: extract the archive again.",
        )
    return value


def _known(cls: str, classes: Sequence[str], path: Path) -> str:
    if cls not in classes:
        raise ConfigError(
            f"unknown class {cls!r} (the dataset's classes: {', '.join(classes)}).",
            path=path,
            fix="the annotation does not match this dataset's published class list: check "
            "that the archive belongs to this dataset (and version), then extract it again.",
        )
    return cls


def from_dota_line(
    line: str, image: str, classes: Sequence[str], path: Path, number: int
) -> ObjectRow:
    """One DOTA label line ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult`` as a row.

    Args:
        line: The line (header lines ``imagesource:``/``gsd:`` are not rows).
        image: The image file name the label file belongs to.
        classes: The dataset's class names.
        path: The label file (for errors).
        number: The line's number, 1-based (for errors).

    Raises:
        ConfigError: Fewer than nine fields, a coordinate that is no number, an
            unknown class.
    """
    fields = line.split()
    if len(fields) < 9:
        raise ConfigError(
            f"line {number}: expected 'x1 y1 x2 y2 x3 y3 x4 y4 class difficult', got {line!r}.",
            path=path,
            fix="the label file is damaged: extract the annotation archive again.",
        )
    coords = tuple(_number(f, path, f"line {number}") for f in fields[:8])
    cls = _known(fields[8], classes, path)
    difficult = len(fields) > 9 and fields[9] == "1"
    return ObjectRow(image, cls, coords, difficult)  # type: ignore[arg-type]


def from_yolo_obb_line(
    line: str,
    image: str,
    classes: Sequence[str],
    size: tuple[int, int],
    path: Path,
    number: int,
) -> ObjectRow:
    """One YOLO-OBB label line ``class_id x1 y1 x2 y2 x3 y3 x4 y4`` (corners 0..1) as a row.

    Args:
        line: The line; coordinates are fractions of the image width and height.
        image: The image file name.
        classes: Class names by class id.
        size: ``(width, height)`` of the image, pixels.
        path: The label file (for errors).
        number: The line's number, 1-based (for errors).

    Raises:
        ConfigError: Not nine fields, a field that is no number, a class id out of range.
    """
    fields = line.split()
    if len(fields) != 9:
        raise ConfigError(
            f"line {number}: expected 'class_id x1 y1 x2 y2 x3 y3 x4 y4', got {line!r}.",
            path=path,
            fix="the label file is damaged: extract the archive again.",
        )
    class_id = fields[0]
    if not class_id.isdigit() or int(class_id) >= len(classes):
        raise ConfigError(
            f"line {number}: unknown class id {class_id!r} (ids 0..{len(classes) - 1}).",
            path=path,
            fix="the labels do not match this dataset's class list: extract the archive again.",
        )
    width, height = size
    values = [_number(f, path, f"line {number}") for f in fields[1:]]
    coords = tuple(v * (width if i % 2 == 0 else height) for i, v in enumerate(values))
    return ObjectRow(image, classes[int(class_id)], coords)  # type: ignore[arg-type]


def _child_number(element: ET.Element, tag: str, path: Path) -> float:
    child = element.find(tag)
    if child is None or child.text is None:
        raise ConfigError(
            f"an object has no <{tag}>.",
            path=path,
            fix="the XML annotation is damaged: extract the annotation archive again.",
        )
    return _number(child.text.strip(), path, f"<{tag}>")


def from_voc_object(
    element: ET.Element, image: str, classes: Sequence[str], oriented: bool, path: Path
) -> ObjectRow:
    """One VOC XML ``<object>`` as a row: its ``bndbox``, or DIOR-R's ``robndbox``.

    Class names are matched to ``classes`` ignoring case; the entry's spelling
    is written.

    Args:
        element: The ``<object>`` element.
        image: The image file name.
        classes: The dataset's class names.
        oriented: Read ``robndbox`` corners (left-top, right-top, right-bottom,
            left-bottom) instead of ``bndbox`` (xmin, ymin, xmax, ymax).
        path: The XML file (for errors).

    Raises:
        ConfigError: No ``<name>``, no box element, a coordinate missing or no
            number, an unknown class.
    """
    name = element.findtext("name")
    by_lower = {c.lower(): c for c in classes}
    cls = _known(by_lower.get((name or "").strip().lower(), (name or "").strip()), classes, path)
    difficult = (element.findtext("difficult") or "0").strip() == "1"
    box = element.find("robndbox" if oriented else "bndbox")
    if box is None:
        raise ConfigError(
            f"an object ({cls}) has no <{'robndbox' if oriented else 'bndbox'}>.",
            path=path,
            fix="the XML annotation is not in the expected form: check that the archive "
            "belongs to this dataset, then extract it again.",
        )
    if oriented:
        coords = tuple(_child_number(box, tag, path) for pair in ROBNDBOX_CORNERS for tag in pair)
        return ObjectRow(image, cls, coords, difficult)  # type: ignore[arg-type]
    xyxy = [_child_number(box, tag, path) for tag in ("xmin", "ymin", "xmax", "ymax")]
    return horizontal(image, cls, xyxy, difficult)


def read_voc(path: Path, image: str, classes: Sequence[str], oriented: bool) -> list[ObjectRow]:
    """Every ``<object>`` of a VOC XML file as rows (see :func:`from_voc_object`).

    Raises:
        UnreadableFileError: The file is no XML.
        ConfigError: An object is not in the expected form.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise UnreadableFileError(
            f"not a valid XML file ({error}).",
            path=path,
            fix="extract the annotation archive again.",
        ) from error
    return [from_voc_object(o, image, classes, oriented, path) for o in root.iter("object")]


def from_coco_bbox(
    image: str, cls: str, bbox: Sequence[float], path: Path, difficult: bool = False
) -> ObjectRow:
    """A COCO ``bbox`` ``[x, y, width, height]`` (pixels, top-left corner) as a horizontal row.

    Raises:
        ConfigError: Not four numbers.
    """
    if len(bbox) != 4 or not all(isinstance(v, int | float) for v in bbox):
        raise ConfigError(
            f"a bbox of {image} is {bbox!r}, not [x, y, width, height].",
            path=path,
            fix="the COCO annotation file is damaged: download it again.",
        )
    x, y, w, h = (float(v) for v in bbox)
    return horizontal(image, cls, (x, y, x + w, y + h), difficult)


def check_box(row: ObjectRow, size: tuple[int, int], path: Path) -> None:
    """Refuse a degenerate box and a box wholly outside its image.

    Args:
        row: The object.
        size: ``(width, height)`` of its image, pixels.
        path: The annotation file (for errors).

    Raises:
        ConfigError: The box has zero area, or does not overlap the image.
    """
    width, height = size
    xmin, ymin, xmax, ymax = row.bounds
    if row.area <= 0.0:
        raise ConfigError(
            f"a degenerate {row.cls} box in {row.image} (zero area): {list(row.corners)}.",
            path=path,
            fix="correct or delete that object's line in the annotation file, then prepare again.",
        )
    if xmax <= 0 or ymax <= 0 or xmin >= width or ymin >= height:
        raise ConfigError(
            f"a {row.cls} box lies outside {row.image} ({width}x{height} pixels): "
            f"{list(row.corners)}.",
            path=path,
            fix="the annotation does not belong to this image: extract the archives again; "
            "if it persists, delete that object from the annotation file.",
        )


def _text(value: float) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def write_objects(path: Path, rows: Iterable[ObjectRow], attributes: Sequence[str] = ()) -> int:
    """Write ``objects.csv`` atomically (a temporary name, then renamed into place).

    Args:
        path: The CSV file to write.
        rows: The objects.
        attributes: Names of attribute columns written after ``difficult``; a row
            without one of them gets an empty cell.

    Returns:
        The number of rows written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    try:
        with tmp.open("w", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow([*COLUMNS, *attributes])
            for row in rows:
                values = dict(row.attributes)
                writer.writerow(
                    [
                        row.image,
                        row.cls,
                        *(_text(v) for v in row.corners),
                        int(row.difficult),
                        *(values.get(a, "") for a in attributes),
                    ]
                )
                count += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def read_objects(path: Path) -> list[ObjectRow]:
    """The rows of an ``objects.csv``; columns after ``difficult`` become attributes.

    Raises:
        MissingFileError: No such file.
        UnreadableFileError: The header is not ``image,class,x1,...,difficult``, or a
            row has the wrong number of fields or a coordinate that is no number.
    """
    if not path.is_file():
        raise MissingFileError(
            "no object table here.", path=path, fix="run `eoforge datasets prepare NAME`."
        )
    with path.open(newline="") as file:
        reader = csv.reader(file)
        header = next(reader, [])
        if tuple(header[: len(COLUMNS)]) != COLUMNS:
            raise UnreadableFileError(
                f"header {header!r} is not {','.join(COLUMNS)}[,attributes].",
                path=path,
                fix="prepare the dataset again.",
            )
        extra = header[len(COLUMNS) :]
        rows = []
        for number, fields in enumerate(reader, start=2):
            if len(fields) != len(header):
                raise UnreadableFileError(
                    f"line {number} has {len(fields)} fields, the header {len(header)}.",
                    path=path,
                    fix="prepare the dataset again.",
                )
            try:
                coords = tuple(float(v) for v in fields[2:10])
            except ValueError as error:
                raise UnreadableFileError(
                    f"line {number}: {error}.", path=path, fix="prepare the dataset again."
                ) from error
            rows.append(
                ObjectRow(
                    image=fields[0],
                    cls=fields[1],
                    corners=coords,  # type: ignore[arg-type]
                    difficult=fields[10] == "1",
                    attributes=tuple(zip(extra, fields[len(COLUMNS) :], strict=True)),
                )
            )
    return rows
