"""Whole-scene detection: eoforge versus the bare model, memory, a 700-megapixel estimate, YOLO.

Fixed model: FCOS on a ResNet-18 (``fcos``, ``fpn_channels`` 64, 2 head
convolutions, 3 classes, score threshold 0.05, at most 100 boxes per tile),
random init, eval mode, 2 torch threads, saved with eoforge's bundle writer
(normalisation mean 0 / std 255, 0.5 m). Scenes: 3-band uint8 tiled deflate
GeoTIFFs (RGB, 0.5 m, EPSG:32631) of smooth random content with bright
rectangles, so the untrained model answers with boxes to merge.

* ``bare_tile_mpix_per_s``: the model alone on the tiles of eoforge's own plan
  for the speed scene (:func:`eoforge.predict.tiling.axis_layout`: at most
  1024 px, at least 64 px of overlap, sides a multiple of 32, spread evenly),
  the plan's tiles that lie in the scene's first ``bare_px``² pixels, held in
  memory (batch 2, scaled to float32 as the bundle does), before and after
  eoforge's runs, averaged; ``bare_mpix_per_s``: the same in scene pixels
  (tile pixels per second times scene pixels / pixels of all the plan's
  tiles), so both sides pay for the same tile pixels.
* ``eoforge_mpix_per_s``: ``eoforge.predict.run(bundle, scene, out)``
  (read, infer, boxes merged across tiles with class-aware NMS, GeoParquet) on
  the speed scene, timed in a child process; ``efficiency`` = eoforge / bare
  (goal >= 0.8).
* ``rss_small_mb``, ``rss_large_mb``, ``rss_growth``: peak RSS of that child
  process (``resource``, as ``bench_recipes.py`` measures) on the small and the
  large scene (goal: growth <= 1.1).
* ``seconds_700_mpix``: 700 megapixels / eoforge's MP/s on the speed scene.
* ``vs_yolo``: oriented detection at an equal training budget against
  Ultralytics YOLO-OBB (``peers_detect.py``), on the prepared synthetic VHR
  splits (``python benchmarks/detect_data.py vhr --out benchmarks/.data/detect/vhr``):

  - eoforge trains ``configs/detect_synth_vhr_oriented.yaml`` through
    ``eoforge train`` (``oriented_fcos``, ResNet-18, random init); YOLO trains
    ``yolo11n-obb.yaml`` (random init, its own optimizer choice and
    augmentations) on the same chips (the recipe's 256-px chips holding an
    object, cut by eoforge and written as a YOLO-OBB dataset), for the same
    epochs, batch size and image size, on the CPU with 2 threads, each in a
    child process (``wall_s``, ``cpu_s``);
  - both models' detections on the same validation chips (at most the
    recipe's ``detections_per_img`` per chip; eoforge's at the recipe's
    ``score_thresh``, YOLO's at that threshold and at its own validation
    threshold, 0.001, the better of the two kept) are scored by
    :func:`eoforge.evaluate.detection_metrics.detection_scores` (DOTA-style
    rotated AP at IoU 0.5, all points: ``map``, ``ap``); YOLO's own ``mAP50``
    from its last validation is kept for reference; goal: eoforge's map >=
    YOLO's;
  - ``yolo_equal_cpu``: YOLO once more with as many epochs as make its training
    CPU seconds those of the ResNet-18 recipe (its network is lighter per epoch),
    scored the same way;
  - ``eoforge_light``: eoforge's contender at that CPU budget,
    ``configs/detect_synth_vhr_oriented_light.yaml`` (``oriented_fcos`` on levels
    at strides 4-32, one head convolution per tower, one CPU thread: Ultralytics
    trains on ``yolo_training_threads`` threads, one on a 2-core machine, whatever
    ``THREADS`` says), trained and scored the same way; goal at an equal CPU
    budget: its map >= ``yolo_equal_cpu``'s with no more training CPU seconds;
  - speed on the oriented models as trained: ``eoforge.predict.run`` on a
    scene (child process), the bare eoforge model and Ultralytics' own
    ``predict`` (letterbox, forward, rotated NMS; batch 2) on the same tiles of
    eoforge's plan held in memory, in scene MP/s.

  ``skipped`` with the reason where it was not run.

Sizes: speed scene 20,000² (``--quick``: 5,000²); memory 5,000² vs 20,000²
(``--quick``: 2,500² vs 5,000²); YOLO speed scene 2,944² (3 x 3 tiles of
1024 px; ``--quick``: 1,984², 2 x 2 tiles); YOLO training: the recipe's
epochs (``--quick``: 1). The last line of stdout is one JSON object.

Run: ``python benchmarks/bench_detect.py [--quick] [--only yolo|speed] [--out results.json]``
(``--only yolo`` or ``--only speed`` runs one part and merges it into ``--out``,
keeping the other part's keys).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from affine import Affine

from eoforge.data.detection import DetectionChipDataset
from eoforge.evaluate.detection_metrics import detection_scores
from eoforge.experiment import load_config
from eoforge.models import (
    Bundle,
    ClassInfo,
    ModelSpec,
    Normalization,
    build_model,
    load_bundle,
    save_bundle,
)
from eoforge.predict.tiling import axis_layout

BANDS = ["RGB.red", "RGB.green", "RGB.blue"]
CLASSES = [("ship", "#1f77b4"), ("plane", "#d62728"), ("small-vehicle", "#2ca02c")]
TRANSFORM = Affine(0.5, 0, 500000, 0, -0.5, 5000000)
THREADS = 2
TILE = 1024
OVERLAP = 64
MULTIPLE = 32
BATCH = 2
MPIX_700 = 700.0
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "bench_detect"
VHR = HERE / ".data" / "detect" / "vhr"
RECIPE = ROOT / "configs" / "detect_synth_vhr_oriented.yaml"
LIGHT_RECIPE = ROOT / "configs" / "detect_synth_vhr_oriented_light.yaml"
"""eoforge's contender at YOLO's equal-CPU budget (same chips as :data:`RECIPE`)."""
YOLO_MODEL = "yolo11n-obb.yaml"
YOLO_VAL_CONF = 0.001
"""The score threshold of Ultralytics' own validation (its mAP50)."""
YOLO_SCENE, YOLO_SCENE_QUICK = 2944, 1984
"""Sides of the YOLO speed scenes, px: eoforge cuts them in 3 x 3 and 2 x 2 tiles of 1024 px."""

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
try:  # this program's own high-water mark (ru_maxrss keeps the parent's across exec)
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "boxes": boxes, "peak_rss_mb": peak / 1024}))
"""
"""Predicts one scene with a bundle; prints its time, box count and own peak RSS.

The peak is Linux's ``VmHWM``: ``ru_maxrss`` of a child started from this process keeps
this process's high-water mark across ``fork`` + ``exec`` (every run read 1,764 MB, the
benchmark's own size, whatever the scene)."""


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


def plan(size: int) -> tuple[int, list[int]]:
    """eoforge's tile side and tile origins along one side of a ``size``-px square scene."""
    return axis_layout(size, TILE, OVERLAP, MULTIPLE)


def plan_tiles(
    scene: Path, speed_px: int, bare_px: int
) -> tuple[np.ndarray, list[tuple[int, int]], int]:
    """The tiles of eoforge's plan for ``speed_px``² that lie in the first ``bare_px``² pixels.

    Returns:
        The pixels read (``[3, S, S]`` uint8), the tiles' ``(row, col)`` origins and the tile side.
    """
    tile, starts = plan(speed_px)
    used = [s for s in starts if s + tile <= max(bare_px, tile)]
    side = used[-1] + tile
    with rasterio.open(scene) as ds:
        pixels = ds.read(window=rasterio.windows.Window(0, 0, side, side))
    return pixels, [(y, x) for y in used for x in used], tile


@torch.no_grad()
def bare_speed(
    model: torch.nn.Module,
    pixels: np.ndarray,
    tiles: list[tuple[int, int]],
    tile: int,
    mean: list[float],
    std: list[float],
) -> dict[str, Any]:
    """The model alone on ``tiles`` of ``pixels`` (in memory), normalised as its bundle says."""
    shift = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    scale = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    model(torch.zeros(1, 3, tile, tile))  # warm-up
    start = time.perf_counter()
    boxes = 0
    for i in range(0, len(tiles), BATCH):
        batch = np.stack([pixels[:, y : y + tile, x : x + tile] for y, x in tiles[i : i + BATCH]])
        images = (torch.from_numpy(batch).float() - shift) / scale
        boxes += sum(len(out["boxes"]) for out in model(images))
    seconds = time.perf_counter() - start
    return {
        "bare_tile_mpix_per_s": round(len(tiles) * tile * tile / 1e6 / seconds, 4),
        "bare_px": pixels.shape[-1],
        "bare_tiles": len(tiles),
        "bare_boxes": boxes,
    }


def scene_rate(tile_mpix_per_s: float, speed_px: int) -> float:
    """Tile pixels per second as scene pixels per second, with the tiles of eoforge's plan."""
    tile, starts = plan(speed_px)
    return tile_mpix_per_s * speed_px**2 / (len(starts) * tile) ** 2


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


@torch.no_grad()
def eoforge_predictions(
    model: torch.nn.Module, images: list[torch.Tensor], mean: list[float], std: list[float]
) -> list[dict[str, np.ndarray]]:
    """A trained bundle's detections on chips ``[C, H, W]`` of physical values, batch by batch."""
    shift = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    scale = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    found = []
    for i in range(0, len(images), 8):
        outputs = model((torch.stack(images[i : i + 8]) - shift) / scale)
        found += [{k: v.numpy() for k, v in out.items()} for out in outputs]
    return found


def scored(
    predictions: list[dict[str, Any]], targets: list[dict[str, Any]], names: list[str]
) -> dict[str, Any]:
    """DOTA-style rotated AP at IoU 0.5 (all points) of one side's detections."""
    scores = detection_scores(
        predictions, targets, len(names), style="voc12", iou_threshold=0.5, oriented=True
    )
    return {
        "map": round(scores.map, 4),
        "ap": {names[c]: round(v, 4) for c, v in scores.ap_per_class.items()},
        "detections_per_chip": round(float(np.mean([len(p["scores"]) for p in predictions])), 1),
    }


def epochs_run(run: Path) -> int:
    """Epochs a finished ``eoforge train`` ran (epochs with a row in its CSV log).

    Counted from the ``epoch`` column, not from validation rows: a recipe may validate
    only every N-th epoch (``trainer.val_every_n_epochs``).
    """
    logs = sorted((run / "logs").glob("version_*/metrics.csv"))
    if not logs:
        return -1
    header, *rows = [line.split(",") for line in logs[-1].read_text().splitlines()]
    column = header.index("epoch")
    return len({row[column] for row in rows if len(row) > column and row[column]})


RUN_PATHS = ("data", "project", "save_dir")
"""Ultralytics arguments naming this run's temporary folders (left out of the result)."""


def shown(text: str | Path) -> str:
    """``text`` with the repository's folder written as a path relative to it."""
    return str(text).replace(f"{ROOT}/", "")


def reused(path: Path, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The JSON at ``path`` if a kept run wrote it, else ``make()`` written there."""
    if path.is_file():
        cached: dict[str, Any] = json.loads(path.read_text())
        return cached
    made = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(made, indent=1) + "\n")
    return made


def trained_threads(threads: int | None) -> int | str:
    """Torch threads a recipe trains with: its ``trainer.threads``, or torch's default."""
    return threads if threads else f"torch default ({os.cpu_count()} CPUs here)"


def equal_cpu_met(light: dict[str, Any], yolo_cpu: dict[str, Any]) -> bool:
    """The equal-CPU goal: the light recipe's map >= YOLO's, in no more training CPU seconds.

    Args:
        light: ``cpu_s`` and ``scores`` (``map``) of eoforge's light recipe.
        yolo_cpu: The same of YOLO's equal-CPU run.
    """
    return bool(
        light["scores"]["map"] >= yolo_cpu["scores"]["map"] and light["cpu_s"] <= yolo_cpu["cpu_s"]
    )


def yolo_section(quick: bool, data: Path, vhr: Path, keep: Path | None = None) -> dict[str, Any]:
    """Oriented eoforge vs Ultralytics YOLO-OBB: equal-budget accuracy and scene speed.

    ``keep``: work folder kept after the run; trainings already finished there
    (``eoforge/train.json``, ``eoforge_light/train.json``, ``yolo_run/result.json``,
    ``yolo_run_cpu/result.json``) are reused, not rerun.
    """
    if not all((vhr / split / "objects.csv").is_file() for split in ("train", "val")):
        return {
            "skipped": f"no prepared splits under {vhr}: run "
            f"python benchmarks/detect_data.py vhr --out {vhr}"
        }
    if importlib.util.find_spec("ultralytics") is None:
        return {"skipped": "ultralytics is not installed: make .venv/.installed-bench"}
    # imported here: sibling scripts of this folder, not modules of the package
    sys.path.insert(0, str(HERE))
    import bench_recipes  # type: ignore[import-not-found]
    import peers_detect  # type: ignore[import-not-found]

    overrides = [f"data.root={vhr / 'train'}", f"data.val_root={vhr / 'val'}"]
    config = load_config(RECIPE, overrides)
    light_config = load_config(LIGHT_RECIPE, overrides)
    if light_config.data != config.data:
        raise RuntimeError(f"{LIGHT_RECIPE.name} must train on {RECIPE.name}'s chips")
    d = config.data
    assert d.classes is not None and d.patch_size is not None  # the recipe sets them
    names = [c.name for c in d.classes]
    options = config.model.options
    conf = float(options.get("score_thresh", 0.05))
    max_det = int(options.get("detections_per_img", 100))
    epochs = 1 if quick else config.trainer.max_epochs
    scene_px = YOLO_SCENE_QUICK if quick else YOLO_SCENE  # 2 x 2 or 3 x 3 tiles of 1024 px
    with contextlib.ExitStack() as stack:
        if keep is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_yolo_")))
        else:
            work = keep.resolve()
            work.mkdir(parents=True, exist_ok=True)
        eo_train = reused(
            work / "eoforge" / "train.json",
            lambda: {
                **bench_recipes.run_recipe(RECIPE.stem, overrides, work / "eoforge", quick),
                "epochs_run": epochs_run(work / "eoforge"),
            },
        )
        eo_light_train = reused(
            work / "eoforge_light" / "train.json",
            lambda: {
                **bench_recipes.run_recipe(
                    LIGHT_RECIPE.stem, overrides, work / "eoforge_light", quick
                ),
                "epochs_run": epochs_run(work / "eoforge_light"),
            },
        )
        chips = {
            split: DetectionChipDataset(
                vhr / split, oriented=True, classes=names, patch_size=d.patch_size,
                stride=d.stride, min_visible=d.min_visible, keep_empty=d.keep_empty,
            )
            for split in ("train", "val")
        }  # fmt: skip
        written = {s: peers_detect.write_yolo_split(c, work / "yolo" / s) for s, c in chips.items()}
        data_yaml = peers_detect.write_data_yaml(
            work / "yolo" / "data.yaml", work / "yolo" / "train", work / "yolo" / "val", names
        )
        yolo_train = reused(
            work / "yolo_run" / "result.json",
            lambda: peers_detect.train_yolo(
                data_yaml, work / "yolo_run", model=YOLO_MODEL, epochs=epochs,
                batch=d.batch_size, imgsz=d.patch_size, threads=THREADS,
            ),
        )  # fmt: skip
        # the same CPU seconds as eoforge's training: YOLO's lighter model runs more epochs
        cpu_epochs = max(epochs, round(epochs * eo_train["cpu_s"] / yolo_train["cpu_s"]))
        yolo_cpu_train = reused(
            work / "yolo_run_cpu" / "result.json",
            lambda: peers_detect.train_yolo(
                data_yaml, work / "yolo_run_cpu", model=YOLO_MODEL, epochs=cpu_epochs,
                batch=d.batch_size, imgsz=d.patch_size, threads=THREADS,
            ),
        )  # fmt: skip
        # both sides scored by eoforge on the same validation chips
        val = chips["val"]
        targets = [
            {"boxes": c.boxes, "labels": c.labels, "difficult": c.difficult} for c in val.chips
        ]
        objects = sum(len(c.labels) for c in val.chips)
        images = [val[i]["image"] for i in range(len(val))]
        loaded = load_bundle(work / "eoforge" / "bundle")
        norm = loaded.bundle.normalization
        eo_found = eoforge_predictions(loaded.model, images, norm.mean, norm.std)
        light = load_bundle(work / "eoforge_light" / "bundle")
        light_norm = light.bundle.normalization
        light_found = eoforge_predictions(light.model, images, light_norm.mean, light_norm.std)
        yolo = peers_detect.load_yolo(
            Path(yolo_train.pop("weights")), work / "yolo_run" / "settings"
        )
        chips_rgb = [
            image[:, : c.height, : c.width].numpy().transpose(1, 2, 0).astype(np.uint8)
            for image, c in zip(images, val.chips, strict=True)
        ]
        # YOLO at the recipe's score threshold and at its own validation threshold (its
        # scores run lower than eoforge's: the better of the two is what eoforge must reach)
        yolo_by_conf = {
            threshold: scored(
                peers_detect.yolo_predictions(
                    yolo, chips_rgb, imgsz=d.patch_size, conf=threshold, max_det=max_det
                ),
                targets,
                names,
            )
            for threshold in (conf, YOLO_VAL_CONF)
        }
        eo_scores = scored(eo_found, targets, names)
        yolo_conf = max(yolo_by_conf, key=lambda t: yolo_by_conf[t]["map"])
        yolo_scores = yolo_by_conf[yolo_conf]
        yolo_cpu = peers_detect.load_yolo(
            Path(yolo_cpu_train.pop("weights")), work / "yolo_run_cpu" / "settings"
        )
        yolo_threads = peers_detect.yolo_training_threads()
        yolo_cpu_scores = max(
            (
                scored(
                    peers_detect.yolo_predictions(
                        yolo_cpu, chips_rgb, imgsz=d.patch_size, conf=threshold, max_det=max_det
                    ),
                    targets,
                    names,
                )
                for threshold in (conf, YOLO_VAL_CONF)
            ),
            key=lambda found: float(found["map"]),
        )
        # speed: the trained models on the same tiles of eoforge's plan
        scene = make_scene(data / f"scene_{scene_px}.tif", scene_px)
        pixels, tiles, tile = plan_tiles(scene, scene_px, scene_px)
        torch.set_num_threads(THREADS)
        before = bare_speed(loaded.model, pixels, tiles, tile, norm.mean, norm.std)
        eo_scene = eoforge_run(work / "eoforge" / "bundle", scene, work / "out_scene")
        bgr = [
            np.ascontiguousarray(pixels[::-1, y : y + tile, x : x + tile].transpose(1, 2, 0))
            for y, x in tiles
        ]
        yolo_speed = peers_detect.yolo_tile_speed(yolo, bgr, imgsz=tile, batch=BATCH)
        after = bare_speed(loaded.model, pixels, tiles, tile, norm.mean, norm.std)
        settings_files = sorted(
            str(p.relative_to(work / "yolo_run" / "settings"))
            for p in (work / "yolo_run" / "settings").rglob("*")
            if p.is_file()
        )
    bare_tile = (before["bare_tile_mpix_per_s"] + after["bare_tile_mpix_per_s"]) / 2
    yolo_mpix = scene_rate(yolo_speed["tile_mpix_per_s"], scene_px)
    result: dict[str, Any] = {
        "data": {
            "splits": shown(vhr),
            "chips": f"{d.patch_size} px every {d.stride} px, objects >= {d.min_visible} "
            f"visible, keep_empty {d.keep_empty}",
            "written_for_yolo": written,
            "scored_on": f"{len(val)} validation chips, {objects} objects",
        },
        "budget": {
            "epochs": epochs,
            "batch": d.batch_size,
            "imgsz": d.patch_size,
            # torch threads each contender trained with (Ultralytics sets its own)
            "threads": {
                "eoforge": trained_threads(config.trainer.threads),
                "yolo": yolo_threads,
                "eoforge_light": trained_threads(light_config.trainer.threads),
            },
            "device": "cpu",
            "init": "random (both)",
        },
        "eoforge": {
            "recipe": str(RECIPE.relative_to(ROOT)),
            "model": f"{config.model.arch} {config.model.backbone} {dict(options)}",
            "optim": config.optim.model_dump(mode="json"),
            "augment": "random D4 (task.augment)" if config.task.augment else "none",
            **{**eo_train, "overrides": [shown(o) for o in eo_train["overrides"]]},
            "scores": eo_scores,
        },
        "yolo": {
            "model": YOLO_MODEL,
            **{
                **yolo_train,
                "args": {k: v for k, v in yolo_train["args"].items() if k not in RUN_PATHS},
            },
            "predict": {"conf": yolo_conf, "max_det": max_det, "iou": "Ultralytics default (0.7)"},
            "scores": yolo_scores,
            "scores_by_conf": {str(t): v for t, v in yolo_by_conf.items()},
            "offline": {
                "env": {
                    k: v
                    for k, v in peers_detect.offline_env(Path("<tmp>")).items()
                    if k.islower() or k.startswith(("YOLO", "ULTRA"))
                },
                "files_in_settings_dir": settings_files,
                "default_config_dir_exists": (Path.home() / ".config" / "Ultralytics").exists(),
            },
        },
        "yolo_equal_cpu": {
            "epochs": cpu_epochs,
            "why": "YOLO's epochs scaled so that its training CPU seconds match those of "
            f"{RECIPE.name} (eoforge_light must train in no more)",
            "torch_threads": yolo_threads,
            **{k: v for k, v in yolo_cpu_train.items() if k != "args"},
            "scores": yolo_cpu_scores,
        },
        "eoforge_light": {
            "recipe": str(LIGHT_RECIPE.relative_to(ROOT)),
            "model": f"{light_config.model.arch} {light_config.model.backbone} "
            f"{dict(light_config.model.options)}",
            "optim": light_config.optim.model_dump(mode="json"),
            "augment": "random D4 (task.augment)" if light_config.task.augment else "none",
            "torch_threads": light_config.trainer.threads,
            **{**eo_light_train, "overrides": [shown(o) for o in eo_light_train["overrides"]]},
            "cpu_s_per_epoch": round(
                eo_light_train["cpu_s"] / max(1, eo_light_train["epochs_run"]), 1
            ),
            "scores": scored(light_found, targets, names),
        },
        "speed": {
            "scene_px": scene_px,
            "tiles": f"{len(tiles)} of {tile} px (eoforge's plan), batch {BATCH}",
            "eoforge_mpix_per_s": eo_scene["mpix_per_s"],
            "eoforge_boxes": eo_scene["boxes"],
            "bare_eoforge_tile_mpix_per_s": round(bare_tile, 4),
            "bare_eoforge_before_after": [
                before["bare_tile_mpix_per_s"],
                after["bare_tile_mpix_per_s"],
            ],
            "bare_eoforge_mpix_per_s": round(scene_rate(bare_tile, scene_px), 4),
            "yolo_tile_mpix_per_s": yolo_speed["tile_mpix_per_s"],
            "yolo_mpix_per_s": round(yolo_mpix, 4),
            "yolo_boxes": yolo_speed["boxes"],
            "eoforge_over_yolo": round(eo_scene["mpix_per_s"] / yolo_mpix, 3),
        },
    }
    met = eo_scores["map"] >= yolo_scores["map"]
    light_result = result["eoforge_light"]
    met_cpu = equal_cpu_met(light_result, result["yolo_equal_cpu"])
    result["goals_met"] = {"map>=yolo (equal epochs)": met, "map>=yolo (equal CPU)": met_cpu}
    why = []
    if not met:
        why.append(
            f"after {epochs} epochs eoforge's oriented_fcos reaches map {eo_scores['map']} and "
            f"YOLO {yolo_scores['map']} on the same chips (AP per class: eoforge "
            f"{eo_scores['ap']}, YOLO {yolo_scores['ap']})"
        )
    if not met_cpu:
        why.append(
            f"with {yolo_cpu_train['cpu_s']} s of training CPU YOLO runs {cpu_epochs} epochs "
            f"and reaches map {yolo_cpu_scores['map']} (AP {yolo_cpu_scores['ap']}) against "
            f"{LIGHT_RECIPE.name}'s {light_result['scores']['map']} (AP "
            f"{light_result['scores']['ap']}) in {light_result['cpu_s']} s"
        )
    if why:
        result["why"] = "; ".join(why)
    return result


def speed_section(quick: bool, data: Path) -> dict[str, Any]:
    """The untrained FCOS: eoforge vs the bare model, peak RSS, seconds for 700 MP."""
    speed_px = 5000 if quick else 20000
    small_px, large_px = (2500, 5000) if quick else (5000, 20000)
    result: dict[str, Any] = {
        "model": "fcos resnet18, fpn_channels 64, 2 head convs, 3 classes, untrained",
        "tile": TILE,
        "overlap": OVERLAP,
        "batch": BATCH,
    }
    with tempfile.TemporaryDirectory(prefix="bench_detect_") as tmp:
        work = Path(tmp)
        model, bundle = make_bundle(work / "bundle")
        scenes = {px: make_scene(data / f"scene_{px}.tif", px) for px in {small_px, large_px}}
        speed_scene = scenes.get(speed_px) or make_scene(data / f"scene_{speed_px}.tif", speed_px)
        pixels, tiles, tile = plan_tiles(speed_scene, speed_px, 5000)
        norm = ([0.0] * 3, [255.0] * 3)
        # the bare model before and after eoforge, averaged: this shared machine's speed drifts
        before = bare_speed(model, pixels, tiles, tile, *norm)
        runs = {px: eoforge_run(bundle, scene, work / f"out_{px}") for px, scene in scenes.items()}
        speed = runs.get(speed_px) or eoforge_run(bundle, speed_scene, work / "out_speed")
        after = bare_speed(model, pixels, tiles, tile, *norm)
    tile_speed = (before["bare_tile_mpix_per_s"] + after["bare_tile_mpix_per_s"]) / 2
    plan_side, plan_starts = plan(speed_px)
    bare = {
        **after,
        "bare_tile_px": tile,
        "plan_tiles": f"{len(plan_starts)} x {len(plan_starts)} of {plan_side} px",
        "bare_tile_mpix_per_s": round(tile_speed, 4),
        "bare_tile_before_after": [before["bare_tile_mpix_per_s"], after["bare_tile_mpix_per_s"]],
        "bare_mpix_per_s": round(scene_rate(tile_speed, speed_px), 4),
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
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and optionally write (or merge into) the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["speed", "yolo"], default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=DATA, help="scenes are kept here")
    parser.add_argument(
        "--detect-data", type=Path, default=VHR, help="prepared VHR splits (train/, val/)"
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the YOLO comparison's runs here (reused)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    result: dict[str, Any] = {
        "benchmark": "detect",
        "quick": args.quick,
        "threads": THREADS,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    if args.only != "yolo":
        result.update(speed_section(args.quick, args.data))
    if args.only != "speed":
        vs_yolo = {
            "quick": args.quick,
            **yolo_section(args.quick, args.data, args.detect_data, args.keep),
        }
        if args.only == "yolo" and args.out is not None and args.out.is_file():
            # merged into the file as it is now: its other keys are kept
            result = {**result, **json.loads(args.out.read_text())}
        result["vs_yolo"] = vs_yolo
        stale = ("map>=yolo",)  # the key of results written before the equal-CPU run
        kept = {k: v for k, v in result.get("goals_met", {}).items() if k not in stale}
        result["goals_met"] = {**kept, **vs_yolo.get("goals_met", {})}
    elif args.only == "speed" and args.out is not None and args.out.is_file():
        # merged into the file as it is now: its YOLO comparison is kept
        earlier = json.loads(args.out.read_text())
        if "vs_yolo" in earlier:
            result["vs_yolo"] = earlier["vs_yolo"]
            yolo_goals = {k: v for k, v in earlier.get("goals_met", {}).items() if "yolo" in k}
            result["goals_met"] = {**result.get("goals_met", {}), **yolo_goals}
    text = json.dumps(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main()
