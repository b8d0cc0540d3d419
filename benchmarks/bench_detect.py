"""Whole-scene detection: eoforge versus the bare model, memory, and a 700-megapixel estimate.

Fixed model: FCOS on a ResNet-18 (``fcos``, ``fpn_channels`` 64, 2 head
convolutions, 3 classes, score threshold 0.05, at most 100 boxes per tile),
random init, eval mode, 2 torch threads, saved with eoforge's bundle writer
(normalisation mean 0 / std 255, 0.5 m). Scenes: 3-band uint8 tiled deflate
GeoTIFFs (RGB, 0.5 m, EPSG:32631) of smooth random content with bright
rectangles, so the untrained model answers with boxes to merge.

* ``bare_tile_mpix_per_s``: the model alone on 1024 x 1024 tiles of the scene
  held in memory (the same tile size and 64-px overlap as eoforge, batch 2,
  scaled to float32 as the bundle does), on the scene's first ``bare_px``²
  pixels, before and after eoforge's runs, averaged; ``bare_mpix_per_s``: the
  same in scene pixels of the speed scene (tile pixels per second times scene
  pixels / pixels of the tiles that cover the speed scene).
* ``eoforge_mpix_per_s``: ``eoforge.predict.run(bundle, scene, out)``
  (read, infer, boxes merged across tiles with class-aware NMS, GeoParquet) on
  the speed scene, timed in a child process; ``efficiency`` = eoforge / bare
  (goal >= 0.8).
* ``rss_small_mb``, ``rss_large_mb``, ``rss_growth``: peak RSS of that child
  process (``resource``, as ``bench_recipes.py`` measures) on the small and the
  large scene (goal: growth <= 1.1).
* ``seconds_700_mpix``: 700 megapixels / eoforge's MP/s on the speed scene.
* ``vs_yolo``: accuracy at an equal training budget against Ultralytics YOLO;
  ``skipped`` with the reason where it was not run.

Sizes: speed scene 20,000² (``--quick``: 5,000²); memory 5,000² vs 20,000²
(``--quick``: 2,500² vs 5,000²). The last line of stdout is one JSON object.

Run: ``python benchmarks/bench_detect.py [--quick] [--out results.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from affine import Affine

from eoforge.models import Bundle, ClassInfo, ModelSpec, Normalization, build_model, save_bundle

BANDS = ["RGB.red", "RGB.green", "RGB.blue"]
CLASSES = [("ship", "#1f77b4"), ("plane", "#d62728"), ("small-vehicle", "#2ca02c")]
TRANSFORM = Affine(0.5, 0, 500000, 0, -0.5, 5000000)
THREADS = 2
TILE = 1024
OVERLAP = 64
BATCH = 2
MPIX_700 = 700.0
DATA = Path(__file__).resolve().parent / ".data" / "bench_detect"

CHILD = """
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[4]))
from eoforge.predict import run
start = time.perf_counter()
results = run(sys.argv[1], sys.argv[2], sys.argv[3])
seconds = time.perf_counter() - start
import geopandas as gpd
boxes = len(gpd.read_parquet(results[0].paths["detections"]))
print(json.dumps({"seconds": seconds, "boxes": boxes,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
"""Predicts one scene with a bundle; prints its time, box count and own peak RSS."""


def model_spec() -> ModelSpec:
    """The benchmark's detector."""
    return ModelSpec(
        task="detection",
        arch="fcos",
        backbone="resnet18",
        in_bands=BANDS,
        num_classes=len(CLASSES),
        options={"fpn_channels": 64, "head_convs": 2, "score_thresh": 0.05},
    )


def make_bundle(folder: Path) -> tuple[torch.nn.Module, Path]:
    """The untrained detector and its bundle (mean 0, std 255: uint8 to 0..1)."""
    torch.manual_seed(0)
    spec = model_spec()
    model = build_model(spec).eval()
    bundle = Bundle(
        task="detection",
        model=spec,
        bands=BANDS,
        normalization=Normalization(mean=[0.0] * 3, std=[255.0] * 3),
        gsd=0.5,
        patch_size=256,
        classes=[ClassInfo(id=i, name=n, color=c) for i, (n, c) in enumerate(CLASSES)],
    )
    return model, save_bundle(folder, model, bundle)


def make_scene(path: Path, size: int) -> Path:
    """A 3-band uint8 tiled deflate GeoTIFF: smooth noise with bright rectangles (reused)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tmp = path.with_name(f".{path.name}.tmp")
    profile = {
        "driver": "GTiff", "count": 3, "height": size, "width": size, "dtype": "uint8",
        "crs": "EPSG:32631", "transform": TRANSFORM, "tiled": True, "blockxsize": 512,
        "blockysize": 512, "compress": "deflate",
    }  # fmt: skip
    rows = 1024
    with rasterio.open(tmp, "w", **profile) as ds:
        for band in range(1, 4):
            ds.set_band_description(band, BANDS[band - 1])
        for y0 in range(0, size, rows):
            height = min(rows, size - y0)
            coarse = rng.integers(40, 110, (3, height // 64 + 2, size // 64 + 2)).astype(np.uint8)
            block = coarse.repeat(64, axis=1).repeat(64, axis=2)[:, :height, :size].copy()
            for _ in range(height * size // 40_000):  # one object per 200 x 200 px
                x, y = int(rng.integers(0, size - 40)), int(rng.integers(0, max(1, height - 12)))
                block[:, y : y + 12, x : x + 40] = 230
            block += rng.integers(0, 12, block.shape, dtype=np.uint8)
            ds.write(block, window=rasterio.windows.Window(0, y0, size, height))
    tmp.rename(path)
    return path


def tile_starts(size: int) -> list[int]:
    """Tile origins along one side: step tile - overlap, the last tile flush with the edge."""
    if size <= TILE:
        return [0]
    starts = list(range(0, size - TILE, TILE - OVERLAP))
    return [*starts, size - TILE]


@torch.no_grad()
def bare_speed(model: torch.nn.Module, scene: Path, side: int) -> dict[str, Any]:
    """The model alone on the tiles of the scene's first ``side``² pixels, held in memory."""
    with rasterio.open(scene) as ds:
        side = min(side, ds.width, ds.height)
        pixels = ds.read(window=rasterio.windows.Window(0, 0, side, side))
    tiles = [(y, x) for y in tile_starts(side) for x in tile_starts(side)]
    model(torch.zeros(1, 3, TILE, TILE))  # warm-up
    start = time.perf_counter()
    boxes = 0
    for i in range(0, len(tiles), BATCH):
        batch = np.stack([pixels[:, y : y + TILE, x : x + TILE] for y, x in tiles[i : i + BATCH]])
        images = torch.from_numpy(batch).float() / 255.0
        boxes += sum(len(out["boxes"]) for out in model(images))
    seconds = time.perf_counter() - start
    covered = sum(min(TILE, side - y) * min(TILE, side - x) for y, x in tiles)
    return {
        "bare_tile_mpix_per_s": round(covered / 1e6 / seconds, 4),
        "bare_px": side,
        "bare_tiles": len(tiles),
        "bare_boxes": boxes,
    }


def eoforge_run(bundle: Path, scene: Path, out: Path) -> dict[str, Any]:
    """``eoforge.predict.run`` on one scene in a child process: time, boxes, peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(bundle), str(scene), str(out), str(THREADS)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    with rasterio.open(scene) as ds:
        result["mpix_per_s"] = round(ds.width * ds.height / 1e6 / result["seconds"], 4)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and optionally write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=DATA, help="scenes are kept here")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    speed_px = 5000 if args.quick else 20000
    small_px, large_px = (2500, 5000) if args.quick else (5000, 20000)
    result: dict[str, Any] = {
        "benchmark": "detect",
        "quick": args.quick,
        "threads": THREADS,
        "model": "fcos resnet18, fpn_channels 64, 2 head convs, 3 classes, untrained",
        "tile": TILE,
        "overlap": OVERLAP,
        "batch": BATCH,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench_detect_") as tmp:
        work = Path(tmp)
        model, bundle = make_bundle(work / "bundle")
        scenes = {px: make_scene(args.data / f"scene_{px}.tif", px) for px in {small_px, large_px}}
        speed_scene = scenes.get(speed_px) or make_scene(
            args.data / f"scene_{speed_px}.tif", speed_px
        )
        # the bare model before and after eoforge, averaged: this shared machine's speed drifts
        before = bare_speed(model, speed_scene, 5000)
        runs = {px: eoforge_run(bundle, scene, work / f"out_{px}") for px, scene in scenes.items()}
        speed = runs.get(speed_px) or eoforge_run(bundle, speed_scene, work / "out_speed")
        after = bare_speed(model, speed_scene, 5000)
    # tile pixels per second, then scene pixels per second with the tiles the speed scene needs
    # (the overlaps of a 5,000-px crop cost more per scene pixel than those of 20,000 px)
    tile_speed = (before["bare_tile_mpix_per_s"] + after["bare_tile_mpix_per_s"]) / 2
    per_side = sum(min(TILE, speed_px - start) for start in tile_starts(speed_px))
    bare = {
        **after,
        "bare_tile_mpix_per_s": round(tile_speed, 4),
        "bare_tile_before_after": [before["bare_tile_mpix_per_s"], after["bare_tile_mpix_per_s"]],
        "bare_mpix_per_s": round(tile_speed * (speed_px / per_side) ** 2, 4),
    }
    efficiency = speed["mpix_per_s"] / bare["bare_mpix_per_s"]
    growth = runs[large_px]["peak_rss_mb"] / runs[small_px]["peak_rss_mb"]
    result.update(
        {
            "speed_scene_px": speed_px,
            "eoforge_mpix_per_s": speed["mpix_per_s"],
            "eoforge_seconds": round(speed["seconds"], 2),
            "eoforge_boxes": speed["boxes"],
            **bare,
            "efficiency": round(efficiency, 3),
            "rss_small_px": small_px,
            "rss_large_px": large_px,
            "rss_small_mb": round(runs[small_px]["peak_rss_mb"], 1),
            "rss_large_mb": round(runs[large_px]["peak_rss_mb"], 1),
            "rss_growth": round(growth, 3),
            "seconds_700_mpix": round(MPIX_700 / speed["mpix_per_s"], 1),
        }
    )
    goals = {"efficiency>=0.8": efficiency >= 0.8, "rss_growth<=1.1": growth <= 1.1}
    result["goals_met"] = goals
    short = {}
    if not goals["efficiency>=0.8"]:
        short["efficiency"] = round(0.8 - efficiency, 3)
    if not goals["rss_growth<=1.1"]:
        short["rss_growth"] = round(growth - 1.1, 3)
    if short:
        result["short_by"] = short
        why = []
        if "efficiency" in short:
            why.append(
                "eoforge's time includes loading the bundle, reading and decompressing the "
                "GeoTIFF, converting tiles to float, merging boxes across tiles and writing "
                "GeoParquet on the model's 2 threads; bare_tile_before_after shows how much "
                "this shared 2-core CPU drifted during the run"
            )
        if "rss_growth" in short:
            why.append(
                f"the predict.run child peaks at {result['rss_small_mb']} MB on {small_px}² "
                f"and {result['rss_large_mb']} MB on {large_px}²: eoforge.predict's "
                "detection path holds memory that grows with the scene (not traced here)"
            )
        result["why"] = "; ".join(why)
    result["vs_yolo"] = {"skipped": YOLO_SKIPPED}
    text = json.dumps(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(text)
    return result


YOLO_SKIPPED = (
    "not run: ultralytics resolves against the pinned torch/torchvision without replacing "
    "them (pip --dry-run), but the equal-budget YOLO comparison is not implemented yet"
)

if __name__ == "__main__":
    main()
