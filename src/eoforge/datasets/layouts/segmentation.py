"""Image/mask segmentation layouts: class-id masks, or footprints rasterised into masks.

Prepared form (what ``data.kind: image_mask`` reads): ``<split>/images/<tile>``
and ``<split>/masks/<tile>`` (same file names); counts are pixels per class.

* ``landcoverai``: ``images/*.tif`` orthophotos with ``masks/*.tif`` and the
  tile lists ``train.txt``/``val.txt``/``test.txt``; the orthophotos are cut
  into the official 512x512 tiles (lossless GeoTIFFs).
* ``spacenet2``: one tarball per area, ``AOI_<n>_<City>_Train/`` holding
  ``RGB-PanSharpen/RGB-PanSharpen_AOI_<n>_<City>_img<N>.tif`` (3-band uint16
  tiles) and ``geojson/buildings/buildings_AOI_<n>_<City>_img<N>.geojson``
  (footprints, one file per tile, possibly with no feature). Images are hard
  links ``<split>/images/AOI_<n>_<City>_img<N>.tif``; masks are the footprints
  rasterised on the image's grid (uint8 GeoTIFF, 0 background, 1 building, a
  pixel is a building when its centre lies in a footprint). There is no
  labelled official test split: each image goes to ``train`` or ``val`` by a
  seeded hash of its name (:func:`spacenet_split`).
* ``isprs_potsdam``: ``2_Ortho_RGB.zip`` holding
  ``2_Ortho_RGB/top_potsdam_<tile>_RGB.tif`` (8-bit RGB true orthophotos) and
  ``5_Labels_all.zip`` holding ``top_potsdam_<tile>_label.tif`` (colour-coded
  RGB label images), ``<tile>`` as ``2_10``. The tiles of the benchmark's
  lists (:data:`~eoforge.datasets.entries.segmentation.POTSDAM_SPLITS`) are
  hard-linked as ``<split>/images/top_potsdam_<tile>.tif`` and
  ``<split>/masks/top_potsdam_<tile>.tif``; the masks stay colour-coded (read
  them with ``data.classes[].mask_color``). Counts are pixels per class colour
  (a colour no class has counts as ``colour #rrggbb``); orthophotos no list
  names are unassigned.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from odc.geo.geobox import GeoBox
from rasterio.windows import Window

from eoforge.datasets.entries.segmentation import POTSDAM_SPLITS, SPACENET2_VAL_SHARE
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
    read_lines,
    write_tile,
)
from eoforge.errors import ConfigError
from eoforge.io.vector import rasterize_labels

LANDCOVERAI_TILE = 512
"""Side of LandCover.ai's official tiles, pixels."""


def _landcoverai(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    base = find_dir(
        extracted,
        lambda p: (
            (p / "images").is_dir() and (p / "masks").is_dir() and (p / "train.txt").is_file()
        ),
        "images/, masks/ and train.txt",
    )
    split_of = {
        tile: split for split in entry.splits for tile in read_lines(base / f"{split}.txt", entry)
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
                    write_tile(
                        image,
                        window,
                        image.read(window=window),
                        out / split / "images" / f"{tile_id}.tif",
                    )
                    write_tile(mask, window, ids[None], out / split / "masks" / f"{tile_id}.tif")
                    counts[split].update(pixel_counts(ids, names, False))
                    tiles[split] += 1
    for split in entry.splits:
        for sub in ("images", "masks"):
            (out / split / sub).mkdir(parents=True, exist_ok=True)
    summaries = [
        SplitSummary(s, out / s, tiles[s], {n: counts[s][n] for n in names}) for s in entry.splits
    ]
    return Parsed(summaries, "pixels", unassigned)


SPACENET_IMAGE = re.compile(r"^RGB-PanSharpen_(AOI_\d+_[A-Za-z]+)_img(\d+)\.tif$")
"""A SpaceNet 2 pan-sharpened RGB tile: area and image number."""

SPACENET_LABELS = re.compile(r"^buildings_(AOI_\d+_[A-Za-z]+)_img(\d+)\.geojson$")
"""A SpaceNet 2 footprint file: area and image number."""

SPACENET_SPLIT_SEED = "spacenet2-val"
"""Salt of the hash that assigns SpaceNet 2 images to ``val``."""


def spacenet_split(tile: str) -> str:
    """``"val"`` or ``"train"`` for the SpaceNet 2 tile ``AOI_<n>_<City>_img<N>``.

    The tile goes to ``val`` when the first 8 bytes of
    ``SHA-256("spacenet2-val:<tile>")``, read as a big-endian integer, are below
    :data:`~eoforge.datasets.entries.segmentation.SPACENET2_VAL_SHARE` of
    ``2**64``: about that share of every area, the same on every run.
    """
    digest = hashlib.sha256(f"{SPACENET_SPLIT_SEED}:{tile}".encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") < SPACENET2_VAL_SHARE * 2**64 else "train"


def building_mask(image: Any, labels: Path) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Footprints of ``labels`` burnt on the grid of the open raster ``image``.

    Args:
        image: An open rasterio dataset (its CRS, transform and size are used).
        labels: A GeoJSON of building polygons; an empty file or one without
            features gives an all-zero mask.

    Returns:
        uint8 mask ``[H, W]``: 1 where a pixel's centre lies in a footprint, else 0.
    """
    shape = (image.height, image.width)
    if labels.stat().st_size == 0:
        return np.zeros(shape, np.uint8)
    grid = GeoBox(shape, image.transform, image.crs)
    mask: np.ndarray[Any, np.dtype[np.uint8]] = rasterize_labels(labels, grid, allow_empty=True)
    return mask


def _spacenet_pairs(extracted: dict[str, Path]) -> dict[str, tuple[Path, Path]]:
    """Tile name to (image, footprints) over every extracted area.

    Raises:
        ConfigError: A tile without its footprint file, or footprints without their tile.
    """
    pairs: dict[str, tuple[Path, Path]] = {}
    for archive, root in extracted.items():
        base = find_dir(
            root,
            lambda p: (p / "RGB-PanSharpen").is_dir() and (p / "geojson" / "buildings").is_dir(),
            f"RGB-PanSharpen/ and geojson/buildings/ folders of {archive}",
        )
        images = {}
        for path in sorted((base / "RGB-PanSharpen").iterdir()):
            if match := SPACENET_IMAGE.match(path.name):
                images[f"{match[1]}_img{match[2]}"] = path
        labels = {}
        for path in sorted((base / "geojson" / "buildings").iterdir()):
            if match := SPACENET_LABELS.match(path.name):
                labels[f"{match[1]}_img{match[2]}"] = path
        for tile in sorted(set(images) ^ set(labels)):
            if tile in images:
                aoi, number = tile.rsplit("_img", 1)
                missing = base / "geojson" / "buildings" / f"buildings_{aoi}_img{number}.geojson"
                raise ConfigError(
                    f"tile {images[tile].name} has no footprint file.",
                    path=missing,
                    fix=f"{archive} is incomplete: delete it and its extracted folder and "
                    "download it again.",
                )
            raise ConfigError(
                f"footprints {labels[tile].name} have no RGB-PanSharpen tile.",
                path=labels[tile],
                fix=f"{archive} is incomplete: delete it and its extracted folder and "
                "download it again.",
            )
        pairs.update({tile: (images[tile], labels[tile]) for tile in images})
    return pairs


def _spacenet2(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    pairs = _spacenet_pairs(extracted)
    names = [c.name for c in entry.classes]
    counts = {s: Counter[str]() for s in entry.splits}
    tiles = Counter[str]()
    for split in entry.splits:
        for sub in ("images", "masks"):
            (out / split / sub).mkdir(parents=True, exist_ok=True)
    if step is not None:
        step(f"rasterising the footprints of {len(pairs)} tiles")
    for tile, (image_path, labels_path) in sorted(pairs.items()):
        split = spacenet_split(tile)
        with rasterio.open(image_path) as image:
            mask = building_mask(image, labels_path)
            write_tile(
                image,
                Window(0, 0, image.width, image.height),
                mask[None],
                out / split / "masks" / f"{tile}.tif",
            )
        place(image_path, out / split / "images" / f"{tile}.tif")
        counts[split].update(pixel_counts(mask, names, True))
        tiles[split] += 1
    summaries = [
        SplitSummary(s, out / s, tiles[s], {n: counts[s][n] for n in names}) for s in entry.splits
    ]
    return Parsed(summaries, "pixels")


COLOUR_ROWS = 1024
"""Rows of a colour-coded mask read at a time when counting its colours."""


def colour_counts(path: Path, classes: list[tuple[str, str]]) -> Counter[str]:
    """Pixels per class of a colour-coded RGB mask.

    Args:
        path: The mask (its first three bands are red, green and blue, 0-255).
        classes: ``(name, "#rrggbb")`` of each class.

    Returns:
        Class name -> pixels; a colour no class has counts as ``"colour #rrggbb"``.

    Raises:
        ConfigError: The mask has fewer than three bands.
    """
    names = {int(colour.lstrip("#"), 16): name for name, colour in classes}
    counts = Counter[str]()
    with rasterio.open(path) as mask:
        if mask.count < 3:
            raise ConfigError(
                f"label image has {mask.count} band(s); a colour-coded mask has 3 (RGB).",
                path=path,
                fix="the label archive is not the colour-coded one: download it again.",
            )
        for row in range(0, mask.height, COLOUR_ROWS):
            window = Window(0, row, mask.width, min(COLOUR_ROWS, mask.height - row))
            rgb = mask.read((1, 2, 3), window=window).astype(np.int64)
            codes = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]
            values, found = np.unique(codes, return_counts=True)
            for value, n in zip(values.tolist(), found.tolist(), strict=True):
                counts[names.get(value, f"colour #{value:06x}")] += n
    return counts


POTSDAM_IMAGE = re.compile(r"^top_potsdam_(\d+_\d+)_RGB\.tif$")
"""A Potsdam RGB orthophoto: its tile."""

POTSDAM_LABEL = "top_potsdam_{tile}_label.tif"
"""A Potsdam colour-coded label image of ``tile``."""


def _potsdam(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    image_zip, label_zip = (f.filename for f in entry.files)
    images_dir = find_dir(
        extracted[image_zip],
        lambda p: any(p.glob("top_potsdam_*_RGB.tif")),
        "folder of top_potsdam_<tile>_RGB.tif orthophotos",
    )
    labels_dir = find_dir(
        extracted[label_zip],
        lambda p: any(p.glob("top_potsdam_*_label.tif")),
        "folder of top_potsdam_<tile>_label.tif label images",
    )
    images = {
        match[1]: path
        for path in sorted(images_dir.iterdir())
        if (match := POTSDAM_IMAGE.match(path.name))
    }
    listed = {tile for tiles in POTSDAM_SPLITS.values() for tile in tiles}
    classes = [(c.name, c.color) for c in entry.classes]
    names = [c.name for c in entry.classes]
    summaries = []
    for split in entry.splits:
        for sub in ("images", "masks"):
            (out / split / sub).mkdir(parents=True, exist_ok=True)
        counts = Counter[str]()
        for tile in POTSDAM_SPLITS[split]:
            image = images.get(tile, images_dir / f"top_potsdam_{tile}_RGB.tif")
            label = labels_dir / POTSDAM_LABEL.format(tile=tile)
            for path, archive in ((image, image_zip), (label, label_zip)):
                if not path.is_file():
                    raise ConfigError(
                        f"{split} tile {tile} of the benchmark's list is missing.",
                        path=path,
                        fix=f"{archive} is incomplete: delete it and its extracted folder and "
                        "place the complete file again.",
                    )
            if step is not None:
                step(f"linking {split} tile {tile}")
            place(image, out / split / "images" / f"top_potsdam_{tile}.tif")
            place(label, out / split / "masks" / f"top_potsdam_{tile}.tif")
            counts.update(colour_counts(label, classes))
        extra = sorted(k for k in counts if k not in names)
        class_counts = {n: counts[n] for n in [*names, *extra]}
        summaries.append(SplitSummary(split, out / split, len(POTSDAM_SPLITS[split]), class_counts))
    return Parsed(summaries, "pixels", len(set(images) - listed))


PARSERS: dict[str, Parser] = {
    "landcoverai": _landcoverai,
    "spacenet2": _spacenet2,
    "isprs_potsdam": _potsdam,
}
"""Layout name to parser."""
