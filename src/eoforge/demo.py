"""The whole job on built-in synthetic data: generate, index, train, predict, evaluate, report.

What ``eoforge demo`` (and ``make demo``) runs. Each stage uses the same
library calls a user would, and ``run.json`` records the command that
reproduces each stage on the user's own data.

Run folder::

    scenes/{train,val,unseen}/   synthetic Sentinel-2 + Sentinel-1 scenes with labels (STAC)
    catalog.parquet              the three scenes indexed
    landcover.yaml               the training config
    train/                       checkpoints, logs/…/metrics.csv, bundle/
    predictions/                 unseen scene: class map, confidence COGs, polygons
    evaluation/                  reference labels on the model's classes, metrics JSON
    run.json, report.html, report/*.png
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml
from rich.console import Console

from eoforge.catalog import Catalog
from eoforge.experiment import TrainResult, load_config
from eoforge.experiment import train as run_training
from eoforge.experiment.progress import framework_notes_hidden
from eoforge.models import read_bundle_json
from eoforge.predict import BundleModel, Products, TilingOptions, find_sources, group_scenes
from eoforge.predict import run as run_prediction
from eoforge.sensors import get_sensor
from eoforge.synth import SynthOptions, generate_scene

S1_BANDS = ["S1.VV", "S1.VH"]
CLASSES: list[dict[str, Any]] = [
    {"name": "water"},
    {"name": "forest"},
    {"name": "grassland"},
    {"name": "cropland"},
    {"name": "bare_soil"},
    {"name": "wetland"},
    {"name": "built_up", "values": ["urban", "building", "road", "airfield", "harbour"]},
]
BUILT_UP_COLOR = "#c81e1e"


def s2_bands() -> list[str]:
    """Sentinel-2 L2A bands at 10 and 20 m, from the sensor registry (no 60 m bands)."""
    return [b.name for b in get_sensor("S2").bands_at("L2A") if b.gsd_m and b.gsd_m <= 20]


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of a demo run.

    Attributes:
        train_px: Side of the training scene, pixels (10 m).
        val_px: Side of the validation scene.
        unseen_px: Side of the unseen scene that is predicted and scored.
        epochs: Training epochs.
        samples: Training patches per epoch.
    """

    train_px: int
    val_px: int
    unseen_px: int
    epochs: int
    samples: int

    @classmethod
    def pick(cls, fast: bool) -> DemoSettings:
        """The default run (< 10 min on 2 cores) or the ``--fast`` one (< 3 min)."""
        return cls(384, 256, 384, 4, 128) if fast else cls(1024, 512, 1024, 20, 256)


@dataclass
class StageLog:
    """Stage timings; ``stage(name)`` is a context manager that records one."""

    seconds: dict[str, float]
    announce: Callable[[str, float | None], None]

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as stage ``name``."""
        self.announce(name, None)
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)
        self.announce(name, self.seconds[name])


def generate(out: Path, settings: DemoSettings, seed: int) -> dict[str, Path]:
    """Train, validation and unseen synthetic S2 + S1 scenes (one date, no clouds)."""
    sizes = {"train": settings.train_px, "val": settings.val_px, "unseen": settings.unseen_px}
    seeds = {"train": seed, "val": seed + 500, "unseen": seed + 1000}
    folders = {}
    for name, size in sizes.items():
        options = SynthOptions(
            size=size, seed=seeds[name], sensors=("s2", "s1"), dates=1, clouds=0.0
        )
        manifest = generate_scene(out / "scenes" / name, options)
        folders[name] = manifest.root
    return folders


def index(out: Path, folders: dict[str, Path]) -> int:
    """Index every scene's STAC collection into ``catalog.parquet``; returns the row count."""
    catalog = Catalog.concat(
        [Catalog.from_stac(f / "stac" / "collection.json") for f in folders.values()]
    )
    catalog.save(out / "catalog.parquet")
    return len(catalog)


def write_config(out: Path, folders: dict[str, Path], settings: DemoSettings, seed: int) -> Path:
    """The land-cover training config (what ``eoforge train`` reads), written to the run."""
    classes = [dict(c) for c in CLASSES]
    classes[-1]["color"] = BUILT_UP_COLOR
    config = {
        "data": {
            "kind": "geo",
            "train": {"images": [str(folders["train"])], "label": {"band": "landcover"}},
            "val": {"images": [str(folders["val"])], "label": {"band": "landcover"}},
            "bands": s2_bands() + S1_BANDS,
            "legend": {"path": str(folders["train"]), "layer": "landcover", "exclude": ["nodata"]},
            "classes": classes,
            "patch_size": 96,
            "val_patch_size": 256,
            "samples_per_epoch": settings.samples,
            "batch_size": 16,
            "num_workers": 0,
            "stats_samples": 32,
        },
        "model": {
            "arch": "unet",
            "backbone": "tu-resnet10t",
            "options": {"decoder_channels": [128, 64, 32, 32, 32]},
        },
        "task": {
            "kind": "segmentation",
            "loss": "ce+dice",
            "class_weights": [1, 1, 1, 1, 4, 1, 1],
            "augment": True,
        },
        "optim": {"optimizer": "adamw", "lr": 0.006, "weight_decay": 0.0001, "scheduler": "cosine"},
        "trainer": {
            "max_epochs": settings.epochs,
            "seed": seed,
            "early_stopping_patience": None,
            "checkpoint_every_n_steps": 50,
            "output_dir": str(out / "train"),
        },
    }
    path = out / "landcover.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def train(config_path: Path, progress: bool, console: Console | None = None) -> TrainResult:
    """Train with the experiment API, as ``eoforge train`` does.

    Lightning's start-up notes and known-harmless warnings are hidden: a new user's
    first run should show the stages, not the framework's chatter.
    """
    with framework_notes_hidden():
        return run_training(load_config(config_path), progress=progress, console=console)


def reference_on_model_classes(bundle: Path, folder: Path, target: Path) -> Path:
    """The unseen scene's land-cover labels mapped onto the bundle's class ids (255: none)."""
    info = read_bundle_json(bundle)
    legend = {
        e["name"]: int(e["value"])
        for e in json.loads((folder / "legend.json").read_text())["landcover"]
    }
    table = np.full(256, 255, np.uint8)
    for index, cls in enumerate(CLASSES):
        for name in cls.get("values", [cls["name"]]):
            table[legend[name]] = index
    label = next((folder / "labels").glob("landcover*.tif"))
    with rasterio.open(label) as src:
        values = table[src.read(1)]
        profile = src.profile | {"nodata": 255, "dtype": "uint8", "count": 1, "compress": "deflate"}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    with rasterio.open(tmp, "w", **{**profile, "driver": "GTiff"}) as dst:
        dst.write(values, 1)
        dst.write_colormap(1, {c.id: c.rgba for c in info.classes})
        dst.update_tags(1, **{f"CLASS_{c.id}": c.name for c in info.classes})
    tmp.replace(target)
    return target


def predict(
    bundle: Path, folder: Path, out: Path, progress: Callable[[int, int], None] | None
) -> tuple[dict[str, Path], Any, float]:
    """Predict the unseen scene through the engine; returns products, vectors, seconds."""
    model = BundleModel((str(bundle),))
    scene = group_scenes(find_sources(folder / "stac" / "collection.json"), model.bands())[0]
    (result,) = run_prediction(
        model,
        [replace(scene, name="unseen")],
        out,
        products=Products(confidence=True, vectors=True, simplify=5.0),
        tiling=TilingOptions(tile=512, overlap=64, batch=2, block=1024),
        progress=None if progress is None else lambda _, done, total: progress(done, total),
    )
    return result.paths, result.vectors, result.seconds


def commands(out: Path) -> list[dict[str, str]]:
    """The commands that reproduce each stage, on the demo's files and on your own."""
    return [
        {
            "step": "Make a synthetic scene (or bring a folder of Sentinel-2 products)",
            "command": "eoforge synth --out scenes/train --size 1024 --sensors s2,s1 "
            "--dates 1 --clouds 0",
        },
        {"step": "Look at what a file or folder holds", "command": "eoforge info scenes/train"},
        {
            "step": "Index scenes (folders or STAC) into a catalog",
            "command": "eoforge index scenes/ --out catalog.parquet",
        },
        {
            "step": "Train the land-cover model (edit images/labels/bands for your data)",
            "command": f"eoforge train {out / 'landcover.yaml'}",
        },
        {
            "step": "Predict a whole new scene: COGs + polygons",
            "command": f"eoforge predict {out / 'train' / 'bundle'} "
            "scenes/unseen/stac/collection.json --out maps --confidence --vectors",
        },
        {
            "step": "Score a prediction against labels (raster or vector, any grid)",
            "command": "eoforge evaluate maps/unseen_classes.tif labels.geojson --field class",
        },
        {"step": "Rebuild this report", "command": f"eoforge report {out}"},
    ]


def write_run(out: Path, record: dict[str, Any]) -> Path:
    """``run.json`` under a temporary name, then renamed."""
    path = out / "run.json"
    tmp = out / ".run.json.partial"
    tmp.write_text(json.dumps(record, indent=2, default=str))
    tmp.replace(path)
    return path


def run_record(
    out: Path,
    seed: int,
    folders: dict[str, Path],
    trained: Any,
    paths: dict[str, Path],
    vectors: Any,
    predict_seconds: float,
    stages: dict[str, float],
    epochs: int,
) -> dict[str, Any]:
    """What the report reads (see :mod:`eoforge.evaluate.report`)."""
    unseen = folders["unseen"]
    s2 = next((unseen / "s2").iterdir())
    s1 = next((unseen / "s1").iterdir())
    with rasterio.open(paths["classes"]) as ds:
        megapixels = ds.width * ds.height / 1e6
    return {
        "title": "eoforge demo: land cover from synthetic Sentinel-2 + Sentinel-1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "scene": {
            "name": "unseen",
            "folder": str(unseen.relative_to(out)),
            "s2": str(s2.relative_to(out)),
            "s1": str(s1.relative_to(out)),
            "labels": "evaluation/reference_classes.tif",
        },
        "prediction": {
            "classes": str(paths["classes"].relative_to(out)),
            "confidence": str(paths["confidence"].relative_to(out)),
            "vectors": str(vectors.parquet.relative_to(out)),
            "polygons": vectors.total,
            "mpix_per_s": round(megapixels / predict_seconds, 3),
            "seconds": round(predict_seconds, 2),
            "megapixels": round(megapixels, 3),
        },
        "metrics": "evaluation/metrics.json",
        "training": {
            "metrics_csv": str(_metrics_csv(trained.log_dir).relative_to(out)),
            "bundle": str(trained.bundle.relative_to(out)),
            "seconds": round(trained.seconds, 1),
            "epochs": epochs,
        },
        "stages": [{"name": k, "seconds": v} for k, v in stages.items()],
        "commands": commands(out),
    }


def _metrics_csv(log_dir: Path) -> Path:
    found = sorted(log_dir.glob("**/metrics.csv")) if log_dir.is_dir() else []
    return found[-1] if found else log_dir / "metrics.csv"
