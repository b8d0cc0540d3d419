"""Cross-sensor change (optical before, SAR after) against SAR alone and optical before and after.

Three models are trained from ``configs/change_cross_sensor_synth.yaml`` on the
same synthetic scene (seed 0, 512 px, three dates, S2 + S1; the flood lies on the
middle date) at the same budget, each with its own input groups:

``optical_pre+sar_post`` (the recipe)
    S2 B02/B03/B04/B08 of the first date and S1 VV/VH of the second;
``sar_post``
    S1 VV/VH of the second date alone (what is there after the event, no before);
``optical_pre+optical_post``
    the same S2 bands on both dates: the same-sensor reference (cloud-free
    optical after the event, which a flood seldom gives).

Labels are the scene's change codes between those two dates merged into the
recipe's classes (no change, flooded, cleared, building change). Each bundle
predicts an unseen scene (seed 1, same size and dates) whole through the engine
(``predict_scene`` with each group read from its date's rasters), and the class
map is scored against the unseen scene's change raster: per-class IoU and F1,
mean IoU and macro F1 over the classes, overall accuracy. Training CPU seconds
(this process's, ``time.process_time``) and wall seconds are recorded with the
1-minute load average at the start of each training (the machine is shared).

Run: ``nice -n 10 .venv/bin/python benchmarks/eval_change_cross_sensor.py``
(``--epochs N`` changes every run's budget; ``--set KEY=VALUE ...`` changes the recipe for
every run; ``--only NAME`` trains one variant; ``--score-only`` rescores the bundles already
under ``--work``). Writes
``benchmarks/results/change_cross_sensor.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml

from eoforge.data.time_series import SeriesSpec, acquisitions
from eoforge.experiment import load_config
from eoforge.experiment.config import SyntheticScene
from eoforge.experiment.scenes import catalog_of, synthetic_folder
from eoforge.experiment.train import train
from eoforge.io.source import RasterSource
from eoforge.predict import OutputSpec, TilingOptions, predict_scene
from eoforge.predict.bundle import BundleModel
from eoforge.predict.groups import bundle_groups, group_reads
from eoforge.predict.scenes import output_grid

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "change_cross_sensor_synth.yaml"
WORK = ROOT / "benchmarks" / ".data" / "change_cross_sensor"
OPTICAL = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
SAR = ["S1.VV", "S1.VH"]
BEFORE, AFTER = "2024-03-01", "2024-07-01"
"""The first two acquisition days of a three-date synthetic scene (the flood is on the second)."""


def group(bands: list[str], day: str) -> dict[str, Any]:
    """An input group of one acquisition day (a one-day series reduced to its image)."""
    return {"bands": bands, "gsd": 10, "dates": [day], "composite": "median"}


VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "optical_pre+sar_post": {"pre": group(OPTICAL, BEFORE), "post": group(SAR, AFTER)},
    "sar_post": {"post": group(SAR, AFTER)},
    "optical_pre+optical_post": {"pre": group(OPTICAL, BEFORE), "post": group(OPTICAL, AFTER)},
}
TRAIN = SyntheticScene(seed=0, size=512, sensors="s2,s1", dates=3)
UNSEEN = SyntheticScene(seed=1, size=512, sensors="s2,s1", dates=3)


def class_lookup(config: dict[str, Any], scene: Path, layer: str) -> dict[int, int]:
    """Label raster value -> class id of the training config's ``data.classes``."""
    legend = json.loads((scene / "legend.json").read_text())[layer]
    lookup = {}
    for class_id, rule in enumerate(config["data"]["classes"]):
        names = rule.get("values") or [rule["name"]]
        for entry in legend:
            if entry["name"] in names:
                lookup[int(entry["value"])] = class_id
    return lookup


def score(predicted: np.ndarray, truth: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Accuracy, IoU and F1 per class, their means over the classes, pixels per class."""
    keep = truth >= 0
    p, t = predicted[keep], truth[keep]
    iou, f1, pixels = {}, {}, {}
    for k, name in enumerate(classes):
        hit = int(np.sum((p == k) & (t == k)))
        guessed, true = int(np.sum(p == k)), int(np.sum(t == k))
        union = guessed + true - hit
        iou[name] = hit / union if union else float("nan")
        f1[name] = 2 * hit / (guessed + true) if guessed + true else float("nan")
        pixels[name] = true
    counted = [n for n in classes if pixels[n] > 0]
    return {
        "accuracy": round(float(np.mean(p == t)), 4),
        "miou": round(float(np.mean([iou[n] for n in counted])), 4),
        "f1_macro": round(float(np.mean([f1[n] for n in counted])), 4),
        "iou": {n: round(v, 4) for n, v in iou.items()},
        "f1": {n: round(v, 4) for n, v in f1.items()},
        "pixels": pixels,
    }


def predict_and_score(bundle: Path, scene: Path, work: Path) -> dict[str, Any]:
    """The bundle's class map of the whole scene (each group from its date) and its scores."""
    model = BundleModel((str(bundle),))
    [loaded] = model.load()
    found = bundle_groups(loaded)
    assert found is not None, "not a bundle trained on input groups"
    inputs, reference = found
    config = yaml.safe_load((bundle / "experiment.yaml").read_text())
    images = [e.source for e in catalog_of([scene]).query(kind="image") if e.source]
    held: dict[str, list[RasterSource]] = {}
    for name, layout in inputs.items():
        mine = [s for s in images if any(s.resolve(b) for b in layout["bands"])]
        if layout.get("dates") is None:
            held[name] = mine
            continue
        days = acquisitions(mine, SeriesSpec.from_dict(layout), f"group {name}")
        held[name] = [s for a in days for s in a.sources]  # one listed day: its mosaic
    reads = group_reads(inputs, reference, held)
    layer = config["data"]["legend"]["layer"]
    label_path = sorted((scene / "labels").glob(f"{layer}_*.tif"))[0]  # dates 0 -> 1
    with rasterio.open(label_path) as ds:
        raw = ds.read(1)
    truth = np.full(raw.shape, -1, np.int64)
    for value, class_id in class_lookup(config, scene, layer).items():
        truth[raw == value] = class_id
    start = time.perf_counter()
    paths = predict_scene(
        model,
        held[reference],
        output_grid(label_path),
        loaded.bundle.bands,
        work / bundle.parent.name,
        spec=OutputSpec.from_bundle(loaded),
        options=TilingOptions(256, 32, 2, 1024, multiple=32),
        groups=reads,
    )
    with rasterio.open(paths["classes"]) as ds:
        predicted = ds.read(1).astype(np.int64)
    classes = [c.name for c in loaded.bundle.classes]
    return score(predicted, truth, classes) | {
        "label": label_path.name,
        "predict_wall_s": round(time.perf_counter() - start, 1),
    }


def run(name: str, overrides: list[str], scene: Path) -> dict[str, Any]:
    """Train one variant; its CPU and wall seconds and the load it started under.

    The training scene, rendered once, is linked into the run folder where the
    recipe's ``synthetic`` section looks for it, so rendering is not timed.
    """
    inputs = json.dumps(VARIANTS[name])
    config = load_config(RECIPE, [*overrides, f"data.inputs={inputs}"])
    out = Path(config.trainer.output_dir)
    shutil.rmtree(out, ignore_errors=True)  # a fresh run each time
    shutil.copytree(scene, out / "scenes" / scene.name, copy_function=os.link)
    load = os.getloadavg()[0]
    cpu, wall = time.process_time(), time.perf_counter()
    train(config, progress=False)
    return {
        "train_cpu_s": round(time.process_time() - cpu, 1),
        "train_wall_s": round(time.perf_counter() - wall, 1),
        "load_1min_at_start": round(load, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    parser.add_argument("--only", choices=list(VARIANTS), action="append", default=None)
    parser.add_argument("--score-only", action="store_true", help="score existing bundles")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="recipe overrides for every run, e.g. task.class_weights=[1,1,10,10]",
    )
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/change_cross_sensor.json"
    )
    args = parser.parse_args()
    os.chdir(ROOT)
    names = args.only or list(VARIANTS)
    scene = synthetic_folder(UNSEEN, args.work)
    train_scene = synthetic_folder(TRAIN, args.work)
    previous = json.loads(args.out.read_text())["runs"] if args.out.is_file() else {}
    runs: dict[str, Any] = {n: v for n, v in previous.items() if n not in names}
    for name in names:
        out_dir = args.work / "runs" / name
        overrides = [f"trainer.output_dir={out_dir}", *args.set]
        if args.epochs is not None:
            overrides += [
                f"trainer.max_epochs={args.epochs}",
                f"trainer.val_every_n_epochs={args.epochs}",
            ]
        timing = previous.get(name, {}) if args.score_only else run(name, overrides, train_scene)
        with tempfile.TemporaryDirectory() as work:
            scores = predict_and_score(out_dir / "bundle", scene, Path(work))
        runs[name] = {
            "groups": VARIANTS[name],
            **{k: timing.get(k) for k in ("train_cpu_s", "train_wall_s", "load_1min_at_start")},
            **scores,
        }
        print(f"{name}: mIoU {scores['miou']:.3f} F1 {scores['f1_macro']:.3f} IoU {scores['iou']}")
    report = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "train_scene": "synthetic seed 0, 512 px, dates 3, s2,s1 (pre: date 0, post: date 1)",
        "unseen_scene": f"synthetic seed {UNSEEN.seed}, {UNSEEN.size} px, dates {UNSEEN.dates}",
        "epochs": args.epochs,
        "overrides": args.set,
        "cpus": os.cpu_count(),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
