"""Recipe results: each recipe of ``configs/`` trained through ``eoforge train``, timed and scored.

The recipes are written for the full public datasets (``eoforge datasets
download/prepare``), which are not on this machine (no internet). Each is run
here as written except for its data paths (and nothing else), on the real
samples beside the repository (``../shared/data/real``), arranged the way the
full dataset is laid out:

* ``scene_classification.yaml``: class folders of 256 x 256 px chips cut from the
  Dubai aerial tiles (Humans in the Loop, CC0), each chip labelled by the class
  covering most of its labelled pixels (chips less than half labelled, or
  whose first class covers less than half of them, are left out); tiles 1-4
  train, 5-6 validate.
* ``landcover_ai.yaml``: the same Dubai tiles written in LandCover.ai's
  published layout (``images/*.tif``, class-id ``masks/*.tif``, ``train.txt``,
  ``val.txt``, ``test.txt`` of 512 px tile ids; land -> background, building,
  vegetation -> woodland, water, road; unlabelled -> 255), zipped as
  ``landcover.ai.v1.zip`` and turned into tiles by ``eoforge datasets prepare
  landcover-ai`` (tiles 1-4 train, 5 val, 6 test).
* ``levir_cd.yaml``: the six LEVIR-CD pairs; four train, two validate (split files).
* ``bigearthnet_multilabel.yaml``: the six BigEarthNet S2 patches with their S1
  partners; two held out for validation (``val_fraction``).
* ``dubai_colour_masks.yaml``: as written (it reads the sample directly).

Each run is a separate ``eoforge --quiet train`` process: wall time, CPU time
(user + system of the process and its DataLoader workers) and peak memory (the
largest resident set of one of those processes) are measured, and the
validation metrics are read from the bundle. With six images the scores of the
LEVIR-CD and BigEarthNet runs say only that the recipes run end to end.

The last line of stdout is one JSON object; ``--out`` also writes it to a file.

Run: ``python benchmarks/bench_recipes.py [--quick] [--only NAME ...] [--out FILE]``
(``--quick``: one epoch each).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from eoforge.data.chips import read_mask_rgb
from eoforge.models import read_bundle_json

ROOT = Path(__file__).resolve().parents[1]
REAL = Path("..") / "shared" / "data" / "real"
"""The real samples, relative to the repository root (the working folder of every run)."""
DUBAI = REAL / "dubai_aerial"
EOFORGE = Path(sys.executable).parent / "eoforge"
"""The command line of this interpreter's environment."""

DUBAI_COLOURS = {
    "building": 0x3C1098,
    "land": 0x8429F6,
    "road": 0x6EC1E4,
    "vegetation": 0xFEDD3A,
    "water": 0xE2A929,
}
"""The colours the Dubai masks use (not those of the set's classes.json)."""

LANDCOVER_AI_IDS = {"land": 0, "building": 1, "vegetation": 2, "water": 3, "road": 4}
"""Dubai class -> LandCover.ai class id (background, building, woodland, water, road)."""

CHIP = 256
TILE = 512

WRAPPER = """
import json, resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "peak_rss_mb": usage.ru_maxrss / 1024}))
"""
"""Runs a command and prints its CPU time and the largest resident set of its processes."""


def dubai_images(tiles: range) -> list[tuple[str, Path, Path]]:
    """``(name, image, mask)`` of the Dubai tiles' images, in order."""
    out = []
    for tile in tiles:
        folder = DUBAI / f"tile_{tile}"
        for image in sorted((folder / "images").glob("*.jpg")):
            out.append((f"tile{tile}_{image.stem}", image, folder / "masks" / f"{image.stem}.png"))
    return out


def class_ids(mask: Path, table: dict[str, int], other: int) -> np.ndarray:
    """A Dubai colour mask as ids ``[H, W]`` (uint8): ``table``'s classes, else ``other``."""
    rgb = read_mask_rgb(mask)
    codes = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]
    ids = np.full(codes.shape, other, np.uint8)
    for name, value in table.items():
        ids[codes == DUBAI_COLOURS[name]] = value
    return ids


def read_rgb(path: Path) -> np.ndarray:
    """An image's three bands ``[3, H, W]`` uint8."""
    with rasterio.open(path) as ds:
        return np.asarray(ds.read([1, 2, 3]))


def write_tif(path: Path, values: np.ndarray) -> None:
    """``[C, H, W]`` as a deflate GeoTIFF without georeferencing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "count": values.shape[0],
        "height": values.shape[1],
        "width": values.shape[2],
        "dtype": values.dtype.name,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(values)


def scene_chips(work: Path) -> dict[str, Any]:
    """Class folders ``scenes/{train,val}/<class>/<chip>.tif`` from the Dubai tiles."""
    names = list(DUBAI_COLOURS)
    ids = {n: i for i, n in enumerate(names)}
    counts: dict[str, dict[str, int]] = {}
    for split, tiles in (("train", range(1, 5)), ("val", range(5, 7))):
        for name in names:
            (work / "scenes" / split / name).mkdir(parents=True, exist_ok=True)
        counts[split] = dict.fromkeys(names, 0)
        for stem, image_path, mask_path in dubai_images(tiles):
            image, mask = read_rgb(image_path), class_ids(mask_path, ids, 255)
            for y in range(0, image.shape[1] - CHIP + 1, CHIP):
                for x in range(0, image.shape[2] - CHIP + 1, CHIP):
                    window = mask[y : y + CHIP, x : x + CHIP]
                    found = np.bincount(window[window != 255], minlength=len(names))
                    labelled = int(found.sum())
                    if labelled < CHIP * CHIP // 2 or found.max() < labelled // 2:
                        continue
                    label = names[int(found.argmax())]
                    chip = image[:, y : y + CHIP, x : x + CHIP]
                    write_tif(work / "scenes" / split / label / f"{stem}_{y}_{x}.tif", chip)
                    counts[split][label] += 1
    return {"chips_per_class": counts}


def landcover_ai_layout(work: Path) -> dict[str, Any]:
    """``data/landcover-ai/landcover.ai.v1.zip`` in the published layout, then prepared."""
    folder = work / "landcover_ai_published"
    lists: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for split, tiles in (("train", range(1, 5)), ("val", range(5, 6)), ("test", range(6, 7))):
        for stem, image_path, mask_path in dubai_images(tiles):
            image = read_rgb(image_path)
            write_tif(folder / "images" / f"{stem}.tif", image)
            write_tif(
                folder / "masks" / f"{stem}.tif", class_ids(mask_path, LANDCOVER_AI_IDS, 255)[None]
            )
            height, width = image.shape[1:]
            k = 0  # the archive's split.py numbers every grid position, edge tiles included
            for y in range(0, height, TILE):
                for x in range(0, width, TILE):
                    if y + TILE <= height and x + TILE <= width:
                        lists[split].append(f"{stem}_{k}")
                    k += 1
    for split, ids in lists.items():
        (folder / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    data = work / "data" / "landcover-ai"
    data.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(data / "landcover.ai.v1.zip", "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    eoforge("--quiet", "datasets", "prepare", "landcover-ai", "--root", str(work / "data"))
    return {"tiles": {s: len(v) for s, v in lists.items()}}


def levir_splits(work: Path) -> dict[str, Any]:
    """Split files: four LEVIR-CD pairs train, two validate."""
    names = sorted(p.name for p in (REAL / "levir_cd" / "A").iterdir())
    (work / "levir_train.txt").write_text("".join(f"{n}\n" for n in names[:4]))
    (work / "levir_val.txt").write_text("".join(f"{n}\n" for n in names[4:]))
    return {"pairs": {"train": 4, "val": len(names) - 4}}


def eoforge(*args: str) -> None:
    """Run the eoforge command line."""
    command = [str(EOFORGE), *args]
    subprocess.run(command, check=True, cwd=ROOT)


def recipes(work: Path) -> dict[str, tuple[Callable[[Path], dict[str, Any]] | None, list[str]]]:
    """Recipe name -> (data builder, data-path overrides)."""
    prepared = work / "data" / "landcover-ai" / "eoforge"
    return {
        "scene_classification": (
            scene_chips,
            [f"data.root={work / 'scenes' / 'train'}", f"data.val_root={work / 'scenes' / 'val'}"],
        ),
        "landcover_ai": (
            landcover_ai_layout,
            [
                f"data.images={prepared / 'train' / 'images'}",
                f"data.masks={prepared / 'train' / 'masks'}",
                f"data.val_images={prepared / 'val' / 'images'}",
                f"data.val_masks={prepared / 'val' / 'masks'}",
            ],
        ),
        "levir_cd": (
            levir_splits,
            [
                f"data.root={REAL / 'levir_cd'}",
                "data.val_root=null",
                f"data.splits.train={work / 'levir_train.txt'}",
                f"data.splits.val={work / 'levir_val.txt'}",
            ],
        ),
        "bigearthnet_multilabel": (
            None,
            [
                f"data.root_s2={REAL / 'bigearthnet' / 'BigEarthNet-S2-Example'}",
                f"data.root_s1={REAL / 'bigearthnet' / 'BigEarthNet-S1-Example'}",
                "data.val_root_s2=null",
                "data.val_fraction=0.34",
            ],
        ),
        "dubai_colour_masks": (None, []),
    }


def run_recipe(name: str, overrides: list[str], run: Path, quick: bool) -> dict[str, Any]:
    """Train ``configs/<name>.yaml`` with ``overrides`` in a fresh process; time and score it."""
    sets = [*overrides, f"trainer.output_dir={run}"]
    if quick:
        sets += ["trainer.max_epochs=1", "trainer.val_every_n_epochs=1"]
    command = [str(EOFORGE), "--quiet", "train", f"configs/{name}.yaml"]
    for item in sets:
        command += ["--set", item]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    usage = json.loads(done.stdout.strip().splitlines()[-1])
    if usage["rc"] != 0:
        raise RuntimeError(f"{name}: eoforge train failed:\n{done.stderr[-3000:]}")
    bundle = read_bundle_json(run / "bundle")
    metrics = {k: round(float(v), 4) for k, v in bundle.metrics.items() if k.startswith("val/")}
    return {
        "config": f"configs/{name}.yaml",
        "overrides": overrides,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage["cpu_s"], 1),
        "peak_rss_mb": round(usage["peak_rss_mb"]),
        "val_metrics": metrics,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one epoch per recipe")
    parser.add_argument("--only", nargs="*", default=None, help="recipe names to run")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/.data/recipes"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if not DUBAI.is_dir():
        document = {"benchmark": "recipes", "skipped": f"no real samples at {REAL}"}
        print(json.dumps(document))
        return document
    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
    work: Path = args.work
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    results: dict[str, Any] = {}
    for name, (build, overrides) in recipes(work).items():
        if args.only and name not in args.only:
            continue
        data = build(work) if build is not None else {}
        print(f"training {name} ...", file=sys.stderr, flush=True)
        results[name] = {
            "data": data,
            **run_recipe(name, overrides, work / "runs" / name, args.quick),
        }
        print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
    document = {
        "benchmark": "recipes",
        "quick": args.quick,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "recipes": results,
    }
    text = json.dumps(document)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(text)
    return document


if __name__ == "__main__":
    main()
