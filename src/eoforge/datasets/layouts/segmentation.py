"""Image/mask segmentation layouts (LandCover.ai): orthophotos and class-id masks.

Prepared form (what ``data.kind: image_mask`` reads): ``<split>/images/<tile>``
and ``<split>/masks/<tile>`` (same file names); counts are pixels per class.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import rasterio
from rasterio.windows import Window

from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import extract_all
from eoforge.datasets.layouts.common import (
    Parsed,
    Parser,
    SplitSummary,
    Step,
    find_dir,
    pixel_counts,
    read_lines,
    write_tile,
)
from eoforge.errors import ConfigError

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


PARSERS: dict[str, Parser] = {"landcoverai": _landcoverai}
"""Layout name to parser."""
