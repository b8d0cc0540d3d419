"""Prepared detection splits (``images/`` + ``objects.csv``) from ``eoforge synth`` scenes.

Two kinds of split, each written the way ``eoforge datasets prepare`` writes
detection datasets (see :mod:`eoforge.datasets.layouts.objects`), so that a
config of ``data.kind: objects`` trains on them:

* ``vhr``: the 0.5 m RGB chips of synthetic scenes (``vhr/harbour.tif``,
  ``vhr/airfield.tif``, 1024 x 1024 px, 3 bands uint8) with their DOTA v1
  files (ships, planes, small vehicles). A scene holds about 15 objects, so a
  split gathers the chips of several seeds; the images are hard links to the
  scene files (copies where the file system refuses links), named
  ``s<seed>_<chip>.tif``.
* ``s1``: Sentinel-1 VV/VH scenes with vessels (``--vessels``). Each date's
  ``S1.VV.tif`` and ``S1.VH.tif`` are cut into square chips of ``chip`` px
  (10 m pixels), stacked into 2-band float32 GeoTIFFs (band descriptions
  ``S1.VV``, ``S1.VH``, sigma0 in dB) and enlarged ``zoom`` times by pixel
  repetition (a 20 m vessel covers 2 x 0.3 px at 10 m, smaller than the
  8-px stride of the detectors' finest level; at ``zoom`` 4 it spans about
  8 x 1.3 px), with the transform scaled to match. Box sides shorter than
  ``min_side`` (2 px at 10 m: the echo's PSF lights 2-3 pixels) grow about the
  box's centre, so every vessel's box holds a point of the 8-px grid. A vessel belongs to the
  chip holding its centre (its box may cross the chip's edge, as truncated
  objects do in published datasets); chips without a vessel are left out.
  Vessel boxes come from the per-date DOTA files ``s1/YYYYMMDD/vessels.txt``.

Train and validation come from different seeds (the scenes, hence the
objects, differ). Scenes are generated once under ``--scenes`` and reused.

Run::

    python benchmarks/detect_data.py vhr --out benchmarks/.data/detect/vhr
    python benchmarks/detect_data.py s1 --out benchmarks/.data/detect/s1

which writes ``<out>/train`` and ``<out>/val``; ``--train-seeds`` /
``--val-seeds`` (``A-B`` or ``A,B,C``) and ``--size`` change them. The last
line of stdout is a JSON summary (images and objects per split and class).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine

from eoforge.datasets.layouts.objects import ObjectRow, from_dota_line, write_objects
from eoforge.synth import generate_scene

VHR_CLASSES = ("ship", "plane", "small-vehicle")
"""Object classes of the synthetic VHR chips, in the recipes' order."""
VHR_CHIPS = ("harbour", "airfield")
S1_CLASSES = ("vessel",)
S1_BANDS = ("S1.VV", "S1.VH")


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"A-B"`` (inclusive) or ``"A,B,C"``."""
    if "-" in text.strip("-"):
        first, last = text.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(part) for part in text.split(",") if part.strip()]


def read_dota(path: Path, image: str, classes: Sequence[str]) -> list[ObjectRow]:
    """The object lines of a DOTA v1 file (header lines skipped) as rows of ``image``."""
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith(("imagesource:", "gsd:")):
            continue
        rows.append(from_dota_line(line, image, classes, path, number))
    return rows


def _link(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or links refused: copy
        shutil.copyfile(source, target)


def _fresh(split: Path) -> Path:
    """``split/images`` emptied (a rebuilt split holds no stale image)."""
    images = split / "images"
    if images.exists():
        shutil.rmtree(images)
    images.mkdir(parents=True)
    return images


def vhr_split(split: Path, seeds: Sequence[int], scenes: Path, size: int = 512) -> list[ObjectRow]:
    """Write a split of the synthetic 0.5 m RGB chips of ``seeds``.

    Args:
        split: The split folder (``images/`` and ``objects.csv`` are written).
        seeds: Scene seeds; each gives the chips ``harbour`` and ``airfield``.
        scenes: Folder of the generated scenes (``vhr_s<seed>_<size>``), reused.
        size: Base size of the generated scenes, pixels at 10 m (the chips are
            1024 x 1024 px at 0.5 m whatever the size).

    Returns:
        The rows written to ``objects.csv``.
    """
    images = _fresh(split)
    rows: list[ObjectRow] = []
    for seed in seeds:
        scene = scenes / f"vhr_s{seed}_{size}"
        if not (scene / "vhr" / "airfield.txt").exists():
            generate_scene(scene, size=size, seed=seed, sensors="vhr", dates=1, vectors=False)
        for chip in VHR_CHIPS:
            name = f"s{seed}_{chip}.tif"
            _link(scene / "vhr" / f"{chip}.tif", images / name)
            rows += read_dota(scene / "vhr" / f"{chip}.txt", name, VHR_CLASSES)
    write_objects(split / "objects.csv", rows)
    return rows


def grow(corners: Sequence[float], min_side: float) -> tuple[float, ...]:
    """A quadrilateral box's sides grown about its centre to at least ``min_side`` pixels.

    Args:
        corners: ``(x1, y1, ..., x4, y4)`` of a rectangle, pixels, in order around it.
        min_side: Least side length, pixels (0: unchanged).

    Returns:
        The eight coordinates of the grown rectangle, same corner order and orientation.
    """
    p = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    centre = p.mean(axis=0)
    u, v = (p[1] - p[0]) / 2, (p[3] - p[0]) / 2
    for half in (u, v):
        length = float(np.hypot(*half))
        if 0 < length < min_side / 2:
            half *= min_side / 2 / length
    out = [centre - u - v, centre + u - v, centre + u + v, centre - u + v]
    return tuple(round(float(c), 3) for point in out for c in point)


def _chip_rows(
    rows: Sequence[ObjectRow], x0: int, y0: int, chip: int, zoom: int, min_side: float = 0.0
) -> list[ObjectRow]:
    """The rows whose centre lies in the chip at ``(x0, y0)``, in the zoomed chip's pixels."""
    out = []
    for row in rows:
        xs, ys = row.corners[0::2], row.corners[1::2]
        cx, cy = sum(xs) / 4, sum(ys) / 4
        if x0 <= cx < x0 + chip and y0 <= cy < y0 + chip:
            corners = [(v - (x0 if i % 2 == 0 else y0)) * zoom for i, v in enumerate(row.corners)]
            box = grow(corners, min_side * zoom)
            out.append(ObjectRow(row.image, row.cls, box, row.difficult))  # type: ignore[arg-type]
    return out


def s1_split(
    split: Path,
    seeds: Sequence[int],
    scenes: Path,
    size: int = 512,
    dates: int = 2,
    vessels: int = 20,
    chip: int = 64,
    zoom: int = 4,
    min_side: float = 2.0,
) -> list[ObjectRow]:
    """Write a split of Sentinel-1 VV/VH chips with the vessels of ``seeds``.

    Args:
        split: The split folder (``images/`` and ``objects.csv`` are written).
        seeds: Scene seeds.
        scenes: Folder of the generated scenes (``s1_s<seed>_<size>_<dates>_<vessels>``).
        size: Scene size, pixels at 10 m.
        dates: Sentinel-1 dates per scene (each has its own vessels).
        vessels: Vessels asked for per date.
        chip: Chip side before zooming, pixels at 10 m (``size`` a multiple of it).
        zoom: Enlargement of the chips by pixel repetition (1: none); boxes scaled alike.
        min_side: Least side of a vessel's box, pixels at 10 m (a vessel's echo, blurred
            by the PSF, lights at least 2 pixels): shorter sides grow about the centre.

    Returns:
        The rows written to ``objects.csv`` (boxes in the zoomed chips' pixels).
    """
    images = _fresh(split)
    rows: list[ObjectRow] = []
    for seed in seeds:
        scene = scenes / f"s1_s{seed}_{size}_{dates}_{vessels}"
        if not (scene / "stac" / "collection.json").exists():
            generate_scene(
                scene, size=size, seed=seed, sensors="s1", dates=dates, vessels=vessels,
                vectors=False,
            )  # fmt: skip
        for day in sorted(p for p in (scene / "s1").iterdir() if p.is_dir()):
            with rasterio.open(day / "S1.VV.tif") as vv, rasterio.open(day / "S1.VH.tif") as vh:
                stack = np.stack([vv.read(1), vh.read(1)]).astype(np.float32)
                transform, crs, nodata = vv.transform, vv.crs, vv.nodata
            objects = read_dota(day / "vessels.txt", "", S1_CLASSES)
            height, width = stack.shape[1:]
            for y0 in range(0, height - chip + 1, chip):
                for x0 in range(0, width - chip + 1, chip):
                    name = f"s{seed}_{day.name}_{y0:05d}_{x0:05d}.tif"
                    inside = _chip_rows(objects, x0, y0, chip, zoom, min_side)
                    if not inside:
                        continue
                    block = stack[:, y0 : y0 + chip, x0 : x0 + chip]
                    block = block.repeat(zoom, axis=1).repeat(zoom, axis=2)
                    shifted = transform @ Affine.translation(x0, y0) @ Affine.scale(1 / zoom)
                    with rasterio.open(
                        images / name, "w", driver="GTiff", count=2, height=chip * zoom,
                        width=chip * zoom, dtype="float32", crs=crs, transform=shifted,
                        nodata=nodata,
                    ) as out:  # fmt: skip
                        out.write(block)
                        out.descriptions = S1_BANDS
                    rows += [ObjectRow(name, r.cls, r.corners, r.difficult) for r in inside]
    write_objects(split / "objects.csv", rows)
    return rows


def summary(rows: Sequence[ObjectRow]) -> dict[str, Any]:
    """Images and objects of a split, objects per class."""
    return {
        "images_with_objects": len({r.image for r in rows}),
        "objects": len(rows),
        "per_class": dict(sorted(Counter(r.cls for r in rows).items())),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Build the train and val splits of one kind; print and return a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["vhr", "s1"])
    parser.add_argument("--out", type=Path, required=True, help="writes <out>/train, <out>/val")
    parser.add_argument("--scenes", type=Path, default=None, help="default <out>/scenes")
    parser.add_argument("--train-seeds", default=None, help="vhr 0-23, s1 0-3")
    parser.add_argument("--val-seeds", default=None, help="vhr 100-107, s1 100")
    parser.add_argument("--size", type=int, default=512, help="scene size, px at 10 m")
    parser.add_argument("--vessels", type=int, default=30, help="s1: vessels per date")
    parser.add_argument("--dates", type=int, default=2, help="s1: dates per scene")
    parser.add_argument("--chip", type=int, default=64, help="s1: chip side, px at 10 m")
    parser.add_argument("--zoom", type=int, default=4, help="s1: chip enlargement")
    parser.add_argument("--min-side", type=float, default=2.0, help="s1: least box side, px")
    args = parser.parse_args(argv)
    scenes = args.scenes or args.out / "scenes"
    vhr = args.kind == "vhr"
    train = parse_seeds(args.train_seeds or ("0-23" if vhr else "0-3"))
    val = parse_seeds(args.val_seeds or ("100-107" if vhr else "100"))
    if set(train) & set(val):
        parser.error(f"train and val share seeds {sorted(set(train) & set(val))}")
    result: dict[str, Any] = {"kind": args.kind, "out": str(args.out)}
    for name, seeds in (("train", train), ("val", val)):
        if vhr:
            rows = vhr_split(args.out / name, seeds, scenes, args.size)
        else:
            rows = s1_split(
                args.out / name, seeds, scenes, args.size, args.dates, args.vessels,
                args.chip, args.zoom, args.min_side,
            )  # fmt: skip
        result[name] = {"seeds": seeds, **summary(rows)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
