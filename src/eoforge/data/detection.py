"""Object detection chips from a prepared split: ``images/`` + ``objects.csv``.

``eoforge datasets prepare`` writes a detection split as ``<split>/images/<file>``
and ``<split>/objects.csv`` (:mod:`eoforge.datasets.layouts.objects`: one row per
object, four corners in pixels, the class name, ``difficult``).
:class:`DetectionChipDataset` turns it into samples of the detection contract:

* ``image`` float32 ``[C, H, W]`` (the files' values), ``valid`` bool ``[H, W]``;
* ``boxes`` float32 ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` or, oriented,
  ``[N, 5]`` ``(cx, cy, w, h, angle)``, pixels of the chip;
* ``labels`` int64 ``[N]`` (indices into ``classes``, no background class);
* ``difficult`` bool ``[N]``.

Pixel coordinates: ``x`` = column, ``y`` = row, origin at the top-left corner of
the top-left pixel, on pixel edges. Oriented boxes follow the convention of
:func:`eoforge.io.vector.boxes.boxes_in_pixels` (angle counter-clockwise as
displayed, in ``[-pi/2, pi/2)``, ``w >= h``): each object's quadrilateral is
replaced by its minimum-area rectangle. Horizontal boxes are the bounds of the
quadrilateral's part inside the chip.

**Chips.** Without ``patch_size`` a chip is the whole image. With it, large
images are cut into overlapping ``patch_size`` squares every ``stride`` pixels,
the last row and column of chips aligned with the image's edges
(:func:`eoforge.data.shaping.patch_starts`); an image smaller than a patch gives
one chip, padded at the bottom and right (``valid`` False there).

**The visibility rule.** A chip keeps an object when the area of the object's
quadrilateral inside the chip is at least ``min_visible`` of its whole area;
objects below the fraction are left out of that chip (an object straddling two
chips belongs to each chip that shows enough of it). Kept horizontal boxes are
clipped to the chip; kept oriented boxes stay whole, so their corners, and even
the centre, may lie outside the chip. Chips without objects are kept (they teach
background) unless ``keep_empty=False``.

**Image pairs.** With ``pair`` (:class:`ImagePair`) every image has a partner of
the same name and size in a sibling folder of ``images/`` (M4-SAR's optical
images in ``images/`` and SAR images in ``images_sar/``): the partner's bands
follow the image's in ``image`` (``[C1 + C2, H, W]``), and a pixel is valid where
both are. The boxes are the image's (the pair is co-registered).

**Bad input** is one :mod:`eoforge.errors` error naming the file, or, under a
skipping :class:`~eoforge.data.bad_files.BadFiles` policy, a logged skip of the
whole image (an image missing one of its objects would teach that object as
background): an ``objects.csv`` row naming a missing image, an unknown class, a
degenerate box (zero area), a self-intersecting quadrilateral (corners in bow-tie
order), a box wholly outside its image, an image that cannot be read, and an
image whose partner is missing or of another size.

:func:`detection_collate` batches samples (boxes, labels and difficult flags as
lists), :class:`DetectionPadCollate` pads mixed sizes first, and
:func:`balanced_chip_weights` gives sampling weights that draw rare classes as
often as common ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import torch
from rasterio.windows import Window

from eoforge.data.bad_files import RAISE, BadFiles
from eoforge.data.chips import (
    IMAGE_EXTENSIONS,
    _SkippingDataset,
    chip_shape,
    default_bands,
    list_images,
    raster_header,
    read_chip,
)
from eoforge.data.collate import collate
from eoforge.data.shaping import SIZE_KEY, pad_sample, padded_side, patch_starts, spatial_size
from eoforge.datasets.layouts.objects import ObjectRow, read_objects
from eoforge.errors import ConfigError, EoforgeError, MissingFileError
from eoforge.io.vector.boxes import _float32_half_open, _oriented_parameters

Sample = dict[str, Any]
Transform = Callable[[Sample], Sample]
TARGET_KEYS = ("boxes", "labels", "difficult")
"""Per-sample detection targets, kept as lists in a batch."""
EMPTY_CHIP_FACTOR = 0.5
"""Default weight of a chip without objects, as a multiple of the mean weight of the others."""
_FIX_ROW = "correct or delete that row of objects.csv (or set data.on_bad_file: skip)."


@dataclass(frozen=True)
class ImagePair:
    """The second image of each pair: a sibling folder of ``images/`` with the same names.

    Attributes:
        folder: The folder's name in the split (e.g. ``images_sar``).
        bands: Names of the partner's channels as they enter the model, in order.
        read: The partner file's bands to read, 1-based, one per name (None: all
            its bands; e.g. ``(1,)`` for a grey image stored as three equal bands).
    """

    folder: str
    bands: tuple[str, ...]
    read: tuple[int, ...] | None = None


@dataclass(frozen=True)
class DetectionChip:
    """One chip of a detection split and its targets.

    Attributes:
        image: The image file.
        top: Row of the chip's top-left pixel in the image.
        left: Column of the chip's top-left pixel in the image.
        height: Chip height read from the file, pixels.
        width: Chip width read from the file, pixels.
        boxes: float32 ``[N, 4]`` or ``[N, 5]``, pixels of the chip.
        labels: int64 ``[N]`` class indices.
        difficult: bool ``[N]``.
        visible: float64 ``[N]``: fraction of each object's area inside the chip.
    """

    image: Path
    top: int
    left: int
    height: int
    width: int
    boxes: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    difficult: npt.NDArray[np.bool_]
    visible: npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Objects:
    """The checked objects of one image, in image pixels."""

    polygons: npt.NDArray[np.object_]
    labels: npt.NDArray[np.int64]
    difficult: npt.NDArray[np.bool_]
    oriented: npt.NDArray[np.float32]


def oriented_boxes(polygons: npt.NDArray[np.object_]) -> npt.NDArray[np.float32]:
    """``(cx, cy, w, h, angle)`` of the minimum-area rectangles of polygons.

    Args:
        polygons: ``[N]`` shapely polygons in pixel coordinates.

    Returns:
        float32 ``[N, 5]``: centre and sides in pixels, angle in radians in
        ``[-pi/2, pi/2)`` (the convention of
        :func:`eoforge.io.vector.boxes.boxes_in_pixels`).
    """
    if len(polygons) == 0:
        return np.empty((0, 5), np.float32)
    boxes = _oriented_parameters(shapely.oriented_envelope(polygons)).astype(np.float32)
    boxes[:, 4] = _float32_half_open(boxes[:, 4])
    return boxes


def _row_error(row: ObjectRow, line: int, csv_path: Path, image: Path, problem: str) -> ConfigError:
    return ConfigError(
        f"line {line} of {csv_path}: {problem} ({row.cls}, corners {list(row.corners)}).",
        path=image,
        fix=_FIX_ROW,
    )


def check_objects(
    rows: Sequence[tuple[int, ObjectRow]],
    image: Path,
    size: tuple[int, int],
    classes: Sequence[str],
    csv_path: Path,
) -> _Objects:
    """The objects of one image as polygons, labels and oriented boxes, after checks.

    Args:
        rows: ``(line number in objects.csv, row)`` of the image's objects.
        image: The image file (named by the errors: it is what a skip leaves out).
        size: ``(height, width)`` of the image, pixels.
        classes: The dataset's class names; labels index them.
        csv_path: The object table (named in the messages).

    Raises:
        ConfigError: An unknown class, a degenerate box (zero area), a
            self-intersecting quadrilateral, or a box wholly outside the image.
    """
    index = {name: i for i, name in enumerate(classes)}
    height, width = size
    frame = shapely.box(0, 0, width, height)
    polygons = []
    for line, row in rows:
        if row.cls not in index:
            raise ConfigError(
                f"line {line} of {csv_path}: unknown class {row.cls!r} "
                f"(the classes: {', '.join(classes)}).",
                path=image,
                fix="add the class to the dataset's classes, or correct or delete the row.",
            )
        points = np.asarray(row.corners, np.float64).reshape(4, 2)
        if not np.isfinite(points).all() or shapely.MultiPoint(points).convex_hull.area <= 0:
            raise _row_error(row, line, csv_path, image, "a degenerate box (zero area)")
        polygon = shapely.Polygon(points)
        if not polygon.is_valid:
            raise _row_error(
                row,
                line,
                csv_path,
                image,
                "a self-intersecting quadrilateral (corners in bow-tie order, not around the box)",
            )
        if polygon.intersection(frame).area <= 0:
            raise _row_error(
                row, line, csv_path, image, f"a box wholly outside the {width}x{height} image"
            )
        polygons.append(polygon)
    geoms = np.asarray(polygons, dtype=object) if polygons else np.empty(0, dtype=object)
    return _Objects(
        polygons=geoms,
        labels=np.asarray([index[r.cls] for _, r in rows], np.int64),
        difficult=np.asarray([r.difficult for _, r in rows], np.bool_),
        oriented=oriented_boxes(geoms),
    )


def chip_objects(
    objects: _Objects,
    top: int,
    left: int,
    height: int,
    width: int,
    *,
    oriented: bool,
    min_visible: float,
) -> tuple[
    npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.float64]
]:
    """The targets of one chip under the visibility rule (see the module docstring).

    Args:
        objects: The image's checked objects, image pixels.
        top: Chip's first row in the image.
        left: Chip's first column in the image.
        height: Chip height, pixels.
        width: Chip width, pixels.
        oriented: Oriented ``[N, 5]`` boxes (kept whole) instead of ``[N, 4]`` (clipped).
        min_visible: Least fraction of an object's area inside the chip to keep it.

    Returns:
        ``boxes`` float32 in chip pixels, ``labels`` int64, ``difficult`` bool and
        the visible fractions float64 of the kept objects, in table order.
    """
    window = shapely.box(left, top, left + width, top + height)
    inside = shapely.intersection(objects.polygons, window)
    visible = np.asarray(shapely.area(inside), np.float64) / shapely.area(objects.polygons)
    keep = visible >= min_visible - 1e-9
    if oriented:
        boxes = objects.oriented[keep].copy()
        boxes[:, 0] -= left
        boxes[:, 1] -= top
    else:
        bounds = shapely.bounds(inside[keep]).reshape(-1, 4)
        boxes = (bounds - np.array([left, top, left, top], np.float64)).astype(np.float32)
    return boxes, objects.labels[keep], objects.difficult[keep], visible[keep]


class DetectionChipDataset(_SkippingDataset):
    """Detection chips with their boxes from a prepared split (see the module docstring).

    Samples: ``image`` float32 ``[C, H, W]``, ``valid`` bool ``[H, W]``,
    ``boxes`` float32 ``[N, 4]`` (or ``[N, 5]`` when ``oriented``), ``labels``
    int64 ``[N]``, ``difficult`` bool ``[N]``; with ``patch_size`` every chip
    also carries ``size``, int64 ``[2]``: its ``(height, width)`` before padding.

    Args:
        split_dir: The split folder holding ``images/`` and ``objects.csv``.
        oriented: Oriented boxes ``(cx, cy, w, h, angle)`` instead of horizontal ones.
        classes: Class names; ``labels`` index them. A row of another class is bad input.
        bands: Names of the files' bands in file order (default: RGB for 3-band
            files, ``band1..`` otherwise).
        patch_size: Side of square chips cut from each image, pixels; None uses
            whole images.
        stride: Step between chips, pixels (default ``patch_size``).
        min_visible: Least fraction (0..1] of an object's area a chip must show to keep it.
        transforms: Called on each sample dict last.
        bad_files: Raise or skip (and log) an image with bad rows, or one that
            cannot be read.
        keep_empty: Keep chips without objects.
        pair: Read a partner image per image and add its bands (see the module
            docstring).

    Raises:
        ConfigError: Bad arguments, no image in the split, or bad input under the
            ``error`` policy (see the module docstring).
        MissingFileError: No ``objects.csv`` or ``images/``, or a row naming a
            missing image (``error`` policy).
    """

    def __init__(
        self,
        split_dir: str | os.PathLike[str],
        *,
        oriented: bool,
        classes: Sequence[str],
        bands: Sequence[str] | None = None,
        patch_size: int | None = None,
        stride: int | None = None,
        min_visible: float = 0.5,
        transforms: Transform | None = None,
        bad_files: BadFiles = RAISE,
        keep_empty: bool = True,
        pair: ImagePair | None = None,
    ) -> None:
        self.root = Path(split_dir)
        self.pair = pair
        self.oriented = oriented
        self.classes = list(classes)
        self.transforms = transforms
        self.bad_files = bad_files
        self.patch_size = patch_size
        if not 0.0 < min_visible <= 1.0:
            raise ConfigError(
                f"min_visible is {min_visible}, not a fraction in (0, 1].",
                path=self.root,
                fix="give the least visible share of an object's area, e.g. 0.5.",
            )
        if (patch_size is not None and patch_size <= 0) or (stride is not None and stride <= 0):
            raise ConfigError(
                f"patch_size {patch_size} and stride {stride} must be positive.",
                path=self.root,
                fix="give the chip side and the step between chips in pixels.",
            )
        if len(set(self.classes)) != len(self.classes) or not self.classes:
            raise ConfigError(
                f"classes {self.classes} are empty or name a class twice.",
                path=self.root,
                fix="list each class name once.",
            )
        csv_path = self.root / "objects.csv"
        images_dir = self.root / "images"
        by_image: dict[str, list[tuple[int, ObjectRow]]] = {}
        for line, row in enumerate(read_objects(csv_path), start=2):
            by_image.setdefault(row.image, []).append((line, row))
        files = {p.name: p for p in list_images(images_dir, IMAGE_EXTENSIONS)}
        for name, rows in by_image.items():
            if name not in files:
                bad_files.handle(
                    MissingFileError(
                        f"line {rows[0][0]} of {csv_path} names an image that is not in "
                        f"{images_dir}.",
                        path=images_dir / name,
                        fix="restore the image, or delete its rows from objects.csv.",
                    )
                )
        self.chips: list[DetectionChip] = []
        opened: list[Path] = []
        for name, path in files.items():
            try:
                size = chip_shape(path)
                if pair is not None:
                    self._check_partner(path, size, pair)
                objects = check_objects(by_image.get(name, []), path, size, self.classes, csv_path)
            except EoforgeError as error:
                bad_files.handle(error)
                continue
            opened.append(path)
            self.chips.extend(
                self._cut(path, size, objects, patch_size, stride or patch_size, min_visible)
            )
        if not keep_empty:
            self.chips = [c for c in self.chips if len(c.labels)]
        if not self.chips:
            raise ConfigError(
                "no chips: the split has no usable image"
                + ("" if keep_empty else " with objects")
                + ".",
                path=self.root,
                fix="check images/ and objects.csv (prepare the dataset again).",
            )
        self.bands = default_bands(opened[0], bands)
        if pair is not None:
            self.bands += list(pair.bands)

    def partner(self, image: Path) -> Path:
        """The pair's second image of ``image`` (same name in the pair's folder)."""
        assert self.pair is not None
        return self.root / self.pair.folder / image.name

    def _check_partner(self, image: Path, size: tuple[int, int], pair: ImagePair) -> None:
        partner = self.partner(image)
        if not partner.is_file():
            raise MissingFileError(
                f"image {image.name} has no partner in {partner.parent}.",
                path=partner,
                fix="restore the partner image, or delete the image and its rows "
                "(or set data.on_bad_file: skip).",
            )
        *other, stored = raster_header(partner)
        if tuple(other) != size:
            raise ConfigError(
                f"the pair's images differ in size: {image.name} is {size[0]} x {size[1]} px, "
                f"its partner {other[0]} x {other[1]} px.",
                path=partner,
                fix="resample the partner onto the image's pixels (co-registered pairs only).",
            )
        read = list(pair.read) if pair.read is not None else list(range(1, stored + 1))
        if not read or min(read) < 1 or max(read) > stored:
            raise ConfigError(
                f"bands {read} are read from a partner image of {stored} band(s).",
                path=partner,
                fix=f"read bands between 1 and {stored} (data.pair.read).",
            )
        if len(read) != len(pair.bands):
            raise ConfigError(
                f"{len(pair.bands)} band names for the {len(read)} bands read from the partner.",
                path=partner,
                fix="name every band read from the partner images, in order (data.pair.bands).",
            )

    def _cut(
        self,
        path: Path,
        size: tuple[int, int],
        objects: _Objects,
        patch: int | None,
        stride: int | None,
        min_visible: float,
    ) -> list[DetectionChip]:
        height, width = size
        if patch is None or stride is None:
            windows = [(0, 0, height, width)]
        else:
            windows = [
                (top, left, min(patch, height), min(patch, width))
                for top in patch_starts(height, patch, stride)
                for left in patch_starts(width, patch, stride)
            ]
        chips = []
        for top, left, h, w in windows:
            boxes, labels, difficult, visible = chip_objects(
                objects, top, left, h, w, oriented=self.oriented, min_visible=min_visible
            )
            chips.append(DetectionChip(path, top, left, h, w, boxes, labels, difficult, visible))
        return chips

    def __len__(self) -> int:
        return len(self.chips)

    def load(self, index: int) -> Sample:
        """Chip ``index``: its pixels, valid mask and targets."""
        chip = self.chips[index]
        window = Window(chip.left, chip.top, chip.width, chip.height)
        image, valid = read_chip(chip.image, window)
        if self.pair is not None:
            second, second_valid = read_chip(self.partner(chip.image), window, self.pair.read)
            image = np.concatenate([image.astype(np.float32), second.astype(np.float32)])
            valid = valid & second_valid
        sample: Sample = {
            "image": torch.from_numpy(image.astype(np.float32)),
            "valid": torch.from_numpy(valid),
            "boxes": torch.from_numpy(chip.boxes.copy()),
            "labels": torch.from_numpy(chip.labels.copy()),
            "difficult": torch.from_numpy(chip.difficult.copy()),
        }
        if self.patch_size is not None:  # every chip of a patched split says its size
            sample = pad_sample(sample, self.patch_size, self.patch_size, 0)
            sample.setdefault(SIZE_KEY, torch.tensor([chip.height, chip.width]))
        return self.transforms(sample) if self.transforms is not None else sample


def detection_collate(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Batch detection samples of one size: images stacked, targets as lists.

    Args:
        samples: Sample dicts (``image`` ``[C, H, W]``, ``valid`` ``[H, W]``,
            ``boxes``, ``labels``, optional ``difficult``) of the same ``H, W``.

    Returns:
        ``image`` ``[B, C, H, W]``, ``valid`` ``[B, H, W]`` and every other
        tensor key stacked; ``boxes``, ``labels`` and ``difficult`` as lists of
        ``B`` per-sample tensors; grids (``crs``, ``transform``) as lists.

    Raises:
        ConfigError: No samples, or samples of different sizes.
    """
    if not samples:
        raise ConfigError("cannot batch zero samples.", fix="give at least one sample.")
    sizes = sorted({spatial_size(s) for s in samples})
    if len(sizes) > 1:
        raise ConfigError(
            f"cannot batch detection samples of different sizes {sizes} (height, width).",
            fix="cut images into chips of one size (patch_size), or batch with "
            "DetectionPadCollate, which pads each batch to its largest sample.",
        )
    rest = [{k: v for k, v in s.items() if k not in TARGET_KEYS} for s in samples]
    batch = collate(rest)
    for key in TARGET_KEYS:
        if all(key in s for s in samples):
            batch[key] = [s[key] for s in samples]
    return batch


class DetectionPadCollate:
    """Batch detection samples of different sizes: pad each to the batch's largest.

    Images are padded at the bottom and right with 0 (``valid`` False there), to
    the largest height and width in the batch raised to a multiple of
    ``multiple``; boxes are unchanged (the padding adds pixels after them).
    Padded samples carry ``size`` (their size before padding), stacked as
    ``[B, 2]``.

    Args:
        multiple: Side multiple of the padded batch (the network's stride), pixels.
    """

    def __init__(self, multiple: int = 1) -> None:
        self.multiple = multiple

    def __call__(self, samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The batch of :func:`detection_collate` after padding."""
        sizes = [spatial_size(s) for s in samples]
        height = padded_side(max(h for h, _ in sizes), 0, self.multiple)
        width = padded_side(max(w for _, w in sizes), 0, self.multiple)
        padded = [pad_sample(dict(s), height, width, 0) for s in samples]
        for sample, size in zip(padded, sizes, strict=True):
            sample.setdefault(SIZE_KEY, torch.tensor(size, dtype=torch.int64))
            if "valid" not in sample:
                sample["valid"] = torch.ones((height, width), dtype=torch.bool)
        return detection_collate(padded)


def balanced_chip_weights(
    dataset: DetectionChipDataset, empty_factor: float = EMPTY_CHIP_FACTOR
) -> torch.Tensor:
    """Sampling weights that draw rare classes as often as common ones.

    A class's frequency is its number of objects over all chips (an object in
    two overlapping chips counts twice). A chip weighs the largest
    ``1 / frequency`` among its objects' classes, so a chip with a rare object
    is drawn as often as that object deserves; when every chip holds one class,
    each class then gets the same expected share of drawn objects. A chip
    without objects weighs ``empty_factor`` times the mean weight of the chips
    with objects (all chips weigh 1 when none has objects).

    Args:
        dataset: The chips.
        empty_factor: Weight of empty chips relative to the mean weight of the others.

    Returns:
        float64 ``[len(dataset)]`` for :class:`torch.utils.data.WeightedRandomSampler`.
    """
    counts = np.zeros(len(dataset.classes), np.float64)
    for chip in dataset.chips:
        counts += np.bincount(chip.labels, minlength=len(dataset.classes))
    weights = np.zeros(len(dataset.chips), np.float64)
    for i, chip in enumerate(dataset.chips):
        if len(chip.labels):
            weights[i] = float((1.0 / counts[chip.labels]).max())
    full = weights > 0
    if not full.any():
        return torch.ones(len(dataset.chips), dtype=torch.float64)
    weights[~full] = empty_factor * float(weights[full].mean())
    return torch.from_numpy(weights)
