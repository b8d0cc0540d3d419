"""Crop types from a time series vs from one date, same network and training budget.

Trains ``configs/croptype_timeseries_synth.yaml`` (``ltae`` on an 8-date
Sentinel-2 series with clouds masked, scenes with varied field phenology) and,
with every other setting the same (samples, epochs, network), the same network
on each single acquisition day (``data.inputs.s2.dates: [day]``: a series of
one date). Every model is
predicted whole through the engine on an unseen synthetic scene (another seed,
same dates and cloud cover) and scored against its ``croptype`` raster over
the arable fields (``none`` and nodata left out): overall accuracy, mean IoU
and IoU per crop. A pixel the model leaves as nodata (cloudy on every date it
reads) counts as wrong; ``clear_accuracy`` scores only the pixels it predicted.
Training CPU time is ``time.process_time()`` around ``train`` (all threads);
the train, val and test scenes are generated once first (``scenes_cpu_s``) and
shared by every model.
The report also holds the crops' nearest-class-mean accuracy on each date and
on the series, from the test scene's ground truth
(:func:`eoforge.synth.crop_separability.separability`): how much one date
tells a simple classifier, without a network.

Writes JSON after every model (a stopped run keeps what it measured).

Run (one command; about 10 min CPU with the default 8 single dates)::

    nice -n 10 .venv/bin/python benchmarks/eval_croptype_timeseries.py \\
        --out benchmarks/results/croptype_timeseries.json

Single dates are trained in decreasing nearest-class-mean accuracy (the
likeliest best first); ``--ncm-days 3`` stops after the first 3, ``--days
2024-06-14 2024-08-22`` takes those days instead (in the order given); ``--epochs N``
overrides every model's epochs (quick checks); ``--arch utae --options '{}'
--series-only`` trains another network on the series alone (same data, samples
and epochs).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml

from eoforge.experiment import load_config, train
from eoforge.experiment.config import SyntheticScene
from eoforge.experiment.scenes import catalog_of, synthetic_folder
from eoforge.predict.runner import run
from eoforge.synth.crop_separability import separability
from eoforge.synth.render.acquisition import day_of_year

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "croptype_timeseries_synth.yaml"
CROPS = {1: "winter_wheat", 2: "rapeseed", 3: "sunflower", 4: "maize"}
NODATA = 255


def score(predicted: np.ndarray, truth: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Accuracy and IoU over labelled pixels (``truth >= 0``); ``predicted`` NODATA is wrong."""
    keep = truth >= 0
    p, t = predicted[keep].astype(np.int64), truth[keep]
    ious = {}
    for k, name in enumerate(names):
        union = int(((p == k) | (t == k)).sum())
        if union:
            ious[name] = int(((p == k) & (t == k)).sum()) / union
    seen = p != NODATA
    return {
        "accuracy": float((p == t).mean()),
        "miou": float(np.mean(list(ious.values()))),
        "iou": ious,
        "clear_accuracy": float((p[seen] == t[seen]).mean()) if seen.any() else 0.0,
        "predicted_share": float(seen.mean()),
        "pixels": int(keep.sum()),
    }


def truth_of(scene: Path, names: list[str]) -> np.ndarray:
    """The scene's croptype raster as class ids of ``names`` (-1: not a crop / nodata)."""
    with rasterio.open(scene / "labels" / "croptype.tif") as ds:
        codes = ds.read(1)
    truth = np.full(codes.shape, -1, np.int64)
    for code, name in CROPS.items():
        truth[codes == code] = names.index(name)
    return truth


def acquisition_days(scene: Path) -> list[str]:
    """The scene's Sentinel-2 acquisition days, ISO, in time order."""
    days = {
        e.source.datetime.date().isoformat()
        for e in catalog_of([scene]).query(kind="image")
        if e.source is not None and e.source.datetime is not None and e.source.sensor == "S2"
    }
    return sorted(days)


def classes_of(folder: Path) -> np.ndarray:
    """The class raster a model predicted for the test scene (under its run folder)."""
    [path] = sorted((folder / "test_prediction").glob("*classes*.tif"))
    with rasterio.open(path) as ds:
        out: np.ndarray = ds.read(1)
    return out


def on_seen_pixels(
    out_root: Path, single: str, series: str, truth: np.ndarray, names: list[str]
) -> dict[str, Any]:
    """The series and a single-date model scored on the pixels that date sees (not cloudy)."""
    one = classes_of(out_root / single)
    seen = np.where(one != NODATA, truth, -1)
    a, b = score(classes_of(out_root / series), seen, names), score(one, seen, names)
    return {
        "share_seen": float((one != NODATA)[truth >= 0].mean()),
        "series": {k: a[k] for k in ("accuracy", "miou", "iou")},
        "single": {k: b[k] for k in ("accuracy", "miou", "iou")},
    }


def train_and_score(
    raw: dict[str, Any], name: str, out_root: Path, test_scene: Path, truth: np.ndarray
) -> dict[str, Any]:
    """Train one variant of the recipe, predict the test scene whole, score it."""
    folder = out_root / name
    raw = copy.deepcopy(raw)
    raw["trainer"]["output_dir"] = str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # every model reads the scenes generated once (and timed) under out_root
    shared = folder / "scenes"
    if not shared.exists():
        shared.symlink_to((out_root / "scenes").resolve(), target_is_directory=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    config = load_config(path)
    cpu, wall = time.process_time(), time.perf_counter()
    result = train(config, progress=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    start = time.perf_counter()
    [predicted] = run(result.bundle, test_scene, folder / "test_prediction")
    predict_s = time.perf_counter() - start
    with rasterio.open(predicted.paths["classes"]) as ds:
        classes = ds.read(1)
    names = [c["name"] for c in raw["data"]["classes"]]
    scored = score(classes, truth, names)
    scored.update(
        train_cpu_s=round(cpu, 1),
        train_wall_s=round(wall, 1),
        predict_wall_s=round(predict_s, 1),
        val_miou=result.metrics.get("val/miou"),
        dates=raw["data"]["inputs"]["s2"]["dates"],
        bundle=os.path.relpath(result.bundle, ROOT),
    )
    return scored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=RECIPE)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/croptype_timeseries.json"
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "croptype_timeseries_bench")
    parser.add_argument("--test-seed", type=int, default=2)
    parser.add_argument("--test-size", type=int, default=512, help="test scene size, pixels")
    parser.add_argument("--days", nargs="*", default=None, help="single-date days (default all)")
    parser.add_argument(
        "--ncm-days", type=int, default=None, help="the N days of best nearest-class-mean accuracy"
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--arch", default=None, help="another network, e.g. ltae")
    parser.add_argument("--options", default=None, help="its model.options, JSON")
    parser.add_argument("--series-only", action="store_true", help="no single-date models")
    parser.add_argument("--singles-only", action="store_true", help="no time-series model")
    args = parser.parse_args()
    raw = yaml.safe_load(args.config.read_text())
    if args.epochs is not None:
        raw["trainer"]["max_epochs"] = args.epochs
    if args.arch is not None:
        raw["model"] = {"arch": args.arch, "options": json.loads(args.options or "{}")}
    train_scene = raw["data"]["train"]["synthetic"]
    test = SyntheticScene(**{**train_scene, "seed": args.test_seed, "size": args.test_size})
    cpu = time.process_time()
    test_scene = synthetic_folder(test, args.runs)
    for split in ("train", "val"):
        synthetic_folder(SyntheticScene(**raw["data"][split]["synthetic"]), args.runs)
    scenes_cpu_s = round(time.process_time() - cpu, 1)
    names = [c["name"] for c in raw["data"]["classes"]]
    truth = truth_of(test_scene, names)
    all_days = acquisition_days(test_scene)
    ncm = separability(
        args.test_seed,
        test.phenology,
        [float(day_of_year(dt.date.fromisoformat(d))) for d in all_days],
    )
    by_ncm = sorted(all_days, key=lambda d: -ncm.single[all_days.index(d)])
    # the likeliest best single dates first, so a stopped run has measured them
    days = args.days if args.days else by_ncm[: args.ncm_days]
    report: dict[str, Any] = {
        "recipe": os.path.relpath(args.config, ROOT),
        "model": raw["model"],
        "epochs": raw["trainer"]["max_epochs"],
        "test_scene": {**test.model_dump(), "crop_pixels": int((truth >= 0).sum())},
        "nearest_class_mean": {
            "fields_held_out": int(ncm.fields.sum()),
            "single": dict(zip(all_days, ncm.single, strict=True)),
            "series": ncm.series,
            "largest_confusion": dict(zip(all_days, ncm.overlap(), strict=True)),
        },
        "scenes_cpu_s": scenes_cpu_s,
        "load_average_start": os.getloadavg(),
        "models": {},
    }

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")

    tag = "" if args.arch is None else f"_{args.arch}"
    variants = (
        [] if args.singles_only else [(f"time_series{tag}", raw["data"]["inputs"]["s2"]["dates"])]
    )
    if not args.series_only:
        variants += [(f"single_{day}{tag}", [day]) for day in days]
    for name, dates in variants:
        variant = copy.deepcopy(raw)
        variant["data"]["inputs"]["s2"]["dates"] = dates
        report["models"][name] = train_and_score(variant, name, args.runs, test_scene, truth)
        print(name, json.dumps(report["models"][name]), flush=True)
        save()
    singles = {k: v for k, v in report["models"].items() if k.startswith("single_")}
    if singles and not args.singles_only:
        best = max(singles, key=lambda k: singles[k]["miou"])
        series = report["models"][f"time_series{tag}"]
        report["best_single_date"] = best
        report["margin_over_best_single"] = {
            "miou": series["miou"] - singles[best]["miou"],
            "accuracy": series["accuracy"] - singles[best]["accuracy"],
            "clear_accuracy": series["clear_accuracy"] - singles[best]["clear_accuracy"],
            "iou": {c: v - singles[best]["iou"].get(c, 0.0) for c, v in series["iou"].items()},
        }
        report["on_single_date_seen_pixels"] = {
            name: on_seen_pixels(args.runs, name, f"time_series{tag}", truth, names)
            for name in singles
        }
    report["load_average_end"] = os.getloadavg()
    save()
    print(json.dumps(report.get("margin_over_best_single"), indent=2))


if __name__ == "__main__":
    main()
