"""Fusion where each input alone is ambiguous: fused models against every single input.

Scenes (``eoforge.synth.fusion_task``, 256 x 256 px at 10 m, under ``--work``,
default ``benchmarks/.data/fusion_ambiguous``): seed 0 trains, seed 1
validates (checkpoint metrics only), seed 2 is the unseen test scene. By
construction Sentinel-2 alone confuses grassland / wetland and building /
paved, Sentinel-1 grassland / bare soil and building / paved, the 2.5 m
height every flat class (``legend.json``'s ``confused``).

Models (the recipe ``configs/fusion_ambiguous_synth.yaml`` with the changes
named; the same budget: epochs, windows per epoch, batch, seed):

* fused: ``fusion_unet`` on S2 + S1 + height, ``fuse: late`` (the recipe)
  and ``concat``, each also with ``modality_dropout: 0.3``; ``fuse: gated``;
  the pairs S2 + S1 and S2 + height;
* single inputs: ``fusion_unet`` with one group (one encoder, the same decoder:
  a U-Net on that input) for S2, S1 and height. The height-only model reads
  its labels on the 2.5 m grid over the same 640 m windows (``patch_size`` 4x);
  its class map is brought to 10 m by the majority of each 4 x 4 block.

Each bundle predicts the whole test scene through the engine
(``predict_scene`` with the bundle's groups) and is scored against the 10 m
label raster (overall accuracy, mean IoU over the classes present, IoU per
class); each fused model also with each group absent from the whole scene
(as a group no raster covers). Training CPU seconds (this process, one thread
unless ``--threads``) and wall seconds are recorded with the load average.

The other two recipes run on the same scenes, each against its optical input
alone: ``rgb_height_synth.yaml`` (``rgb_height``, ``rgb``: 2.5 m labels) and
``dual_encoder_msi_sar_synth.yaml`` (``dual_msi_sar``, ``msi``).

Run: ``nice -n 10 .venv/bin/python benchmarks/eval_fusion_ambiguous.py`` (every
model; ``--models late,height`` for some, whose entries replace theirs in the
JSON; ``--epochs 1`` for a quick check; the JSON goes to
``benchmarks/results/fusion_ambiguous.json``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
import yaml

from eoforge.experiment import load_config
from eoforge.experiment.scenes import catalog_of
from eoforge.experiment.train import train
from eoforge.predict import OutputSpec, TilingOptions, predict_scene
from eoforge.predict.bundle import BundleModel
from eoforge.predict.groups import bundle_groups, scene_reads
from eoforge.predict.scenes import output_grid
from eoforge.synth.fusion_task import generate_fusion_task, majority

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_fusion_groups import score  # noqa: E402  (a sibling script, not a package)

RECIPE = ROOT / "configs" / "fusion_ambiguous_synth.yaml"
RGB_HEIGHT = ROOT / "configs" / "rgb_height_synth.yaml"
DUAL = ROOT / "configs" / "dual_encoder_msi_sar_synth.yaml"
WORK = ROOT / "benchmarks" / ".data" / "fusion_ambiguous"
SEEDS = {"train": 0, "val": 1, "test": 2}
SIZE = 256
FUSED = ("s2", "s1", "height")
MODELS: dict[str, dict[str, Any]] = {
    "concat": {"groups": FUSED, "options": {"fuse": "concat", "modality_dropout": 0.0}},
    "concat_dropout": {"groups": FUSED, "options": {"fuse": "concat", "modality_dropout": 0.3}},
    "late": {"groups": FUSED, "options": {"fuse": "late", "modality_dropout": 0.0}},
    "late_dropout": {"groups": FUSED, "options": {"fuse": "late", "modality_dropout": 0.3}},
    "gated": {"groups": FUSED, "options": {"fuse": "gated", "modality_dropout": 0.0}},
    "s2": {"groups": ("s2",), "options": {}},
    "s1": {"groups": ("s1",), "options": {}},
    "height": {"groups": ("height",), "options": {}},
    "s2_s1": {"groups": ("s2", "s1"), "options": {}},
    "s2_height": {"groups": ("s2", "height"), "options": {}},
    # the other two recipes on the same scenes, each against its optical input alone
    "rgb_height": {"recipe": RGB_HEIGHT, "groups": ("rgb", "height"), "options": {}},
    "rgb": {"recipe": RGB_HEIGHT, "groups": ("rgb",), "options": {}},
    "dual_msi_sar": {"recipe": DUAL, "groups": ("msi", "sar"), "options": {}},
    "msi": {"recipe": DUAL, "groups": ("msi",), "options": {}},
}
DEFAULT_MODELS = (
    "concat,s2,s1,height,concat_dropout,late,late_dropout,gated,s2_s1,s2_height,"
    "dual_msi_sar,msi,rgb_height,rgb"
)
"""Every model of benchmarks/results/fusion_ambiguous.json (about 21 CPU minutes of training)."""


def scenes(work: Path) -> dict[str, Path]:
    """The train, validation and test scenes, generated when missing."""
    out = {}
    for split, seed in SEEDS.items():
        folder = work / f"seed{seed}"
        if not (folder / "stac" / "collection.json").is_file():
            generate_fusion_task(folder, SIZE, seed)
        out[split] = folder
    return out


def recipe(name: str, epochs: int | None, threads: int) -> dict[str, Any]:
    """Model ``name``'s recipe as a mapping, with the budget's epochs and threads."""
    config: dict[str, Any] = yaml.safe_load(MODELS[name].get("recipe", RECIPE).read_text())
    config["trainer"]["threads"] = threads
    if epochs is not None:
        config["trainer"]["max_epochs"] = epochs
    return config


def model_config(name: str, base: dict[str, Any], where: dict[str, Path], run: Path) -> Path:
    """The recipe ``base`` changed for model ``name``, written as YAML beside ``run``."""
    config = copy.deepcopy(base)
    plan = MODELS[name]
    data = config["data"]
    data["train"]["images"] = [str(where["train"])]
    data["val"]["images"] = [str(where["val"])]
    gsd = {g: float(v["gsd"]) for g, v in data["inputs"].items()}
    data["inputs"] = {g: data["inputs"][g] for g in plan["groups"]}
    data["label_grid"] = plan["groups"][0]
    finer = gsd[data["label_grid"]] / gsd[base["data"]["label_grid"]]
    if finer != 1:  # the same ground per window on the label grid of the group left
        data["patch_size"] = round(data["patch_size"] / finer)
        data["val_patch_size"] = round(data["val_patch_size"] / finer)
    config["model"]["options"] = {**config["model"]["options"], **plan["options"]}
    config["trainer"]["output_dir"] = str(run)
    path = run.with_suffix(".yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def predict(bundle: Path, scene: Path, label: str, missing: str | None, work: Path) -> np.ndarray:
    """Class map of the whole ``scene`` (group ``missing`` absent) on the ``label`` raster's grid.

    A model whose label grid is finer than the label raster (the height-only
    model on 2.5 m against the 10 m labels) predicts on its own grid; each
    block of its class map then gives its most frequent class.
    """
    model = BundleModel((str(bundle),))
    [loaded] = model.load()
    found = bundle_groups(loaded)
    assert found is not None, "not a bundle trained on input groups"
    _, reference = found
    sources = [e.source for e in catalog_of([scene]).query(kind="image") if e.source]
    reads = scene_reads(loaded, sources)
    kept = [replace(r, sources=()) if r.name == missing else r for r in reads]
    primary = reads[[r.name for r in reads].index(reference)].sources
    grid = output_grid(scene / "labels" / f"{label}.tif")
    own = output_grid(Path(next(iter(primary)).asset(loaded.bundle.bands[0]).path))
    factor = round(abs(grid.resolution.x) / float(found[0][reference]["gsd"]))
    if factor > 1:
        grid = own
    paths = predict_scene(
        model,
        primary,
        grid,
        loaded.bundle.bands,
        work / f"without_{missing}",
        spec=OutputSpec.from_bundle(loaded),
        options=TilingOptions(256, 32, 2, 1024, multiple=32),
        groups=kept,
    )
    with rasterio.open(paths["classes"]) as ds:
        predicted: np.ndarray = ds.read(1)
    if factor > 1:
        predicted = majority(predicted.astype(np.uint8), factor)
    return predicted.astype(np.int64)


def truth_of(scene: Path, bundle: Path, label: str) -> np.ndarray:
    """The ``label`` raster as the bundle's class ids (-1: no class)."""
    legend = json.loads((scene / "legend.json").read_text())[label]
    classes = yaml.safe_load((bundle / "experiment.yaml").read_text())["data"]["classes"]
    if not classes:  # the legend's classes, as they are
        classes = json.loads((bundle / "bundle.json").read_text())["classes"]
    with rasterio.open(scene / "labels" / f"{label}.tif") as ds:
        raw = ds.read(1)
    truth = np.full(raw.shape, -1, np.int64)
    names = {e["name"]: int(e["value"]) for e in legend}
    for class_id, rule in enumerate(classes or []):
        for name in rule.get("values") or [rule["name"]]:  # merged legend names, or its own
            truth[raw == names[name]] = class_id
    return truth


def run_model(
    name: str, base: dict[str, Any], where: dict[str, Path], work: Path
) -> dict[str, Any]:
    """Train model ``name``; score it on the test scene (and without each group if fused)."""
    run = work / "runs" / name
    shutil.rmtree(run, ignore_errors=True)
    config = load_config(model_config(name, base, where, run))
    load = os.getloadavg()[0]
    cpu, wall = time.process_time(), time.perf_counter()
    result = train(config, progress=False)
    seconds = round(time.process_time() - cpu, 1), round(time.perf_counter() - wall, 1)
    bundle = result.bundle
    loaded = json.loads((bundle / "bundle.json").read_text())
    classes = [c["name"] for c in loaded["classes"]]
    label = str(config.data.train.label.band)  # type: ignore[union-attr]
    truth = truth_of(where["test"], bundle, label)
    groups = MODELS[name]["groups"]
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for missing in [None, *groups] if len(groups) > 1 else [None]:
            predicted = predict(bundle, where["test"], label, missing, Path(scratch))
            key = "all groups" if missing is None else f"without {missing}"
            runs[key] = score(predicted, truth, classes)
            print(
                f"{name} {key}: accuracy {runs[key]['accuracy']:.3f} mIoU {runs[key]['miou']:.3f}"
            )
    return {
        "recipe": str(MODELS[name].get("recipe", RECIPE).relative_to(ROOT)),
        "label": label,
        "groups": list(groups),
        "options": MODELS[name]["options"],
        "epochs": config.trainer.max_epochs,
        "train_cpu_s": seconds[0],
        "train_wall_s": seconds[1],
        "load_at_start": round(load, 1),
        "runs": runs,
    }


def summary(models: dict[str, Any]) -> dict[str, Any]:
    """Per recipe: the best single input, each multi-input model's margin over it and its losses."""
    out: dict[str, Any] = {}
    for path in sorted({m["recipe"] for m in models.values()}):
        ours = {k: v for k, v in models.items() if v["recipe"] == path}
        singles = {
            k: v["runs"]["all groups"]["miou"] for k, v in ours.items() if len(v["groups"]) == 1
        }
        if not singles:
            continue
        best = max(singles, key=lambda k: singles[k])
        part: dict[str, Any] = {
            "best_single_input": {"model": best, "miou": round(singles[best], 4)}
        }
        for name, model in ours.items():
            runs = model["runs"]
            part[name] = {"miou": round(runs["all groups"]["miou"], 4)}
            if len(model["groups"]) > 1:
                part[name]["margin_miou_over_best_single"] = round(
                    runs["all groups"]["miou"] - singles[best], 4
                )
                part[name] |= {
                    f"miou_{k.replace(' ', '_')}": round(v["miou"], 4)
                    for k, v in runs.items()
                    if k != "all groups"
                }
        out[path] = part
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"of {', '.join(MODELS)}")
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of training")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/fusion_ambiguous.json"
    )
    args = parser.parse_args()
    os.chdir(ROOT)
    where = scenes(args.work)
    torch.set_num_threads(args.threads)
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    models: dict[str, Any] = dict(previous.get("models", {}))  # other models' earlier runs kept
    for model in models.values():  # runs written before the results were kept per recipe
        model.setdefault("recipe", str(RECIPE.relative_to(ROOT)))
        model.setdefault("budget", previous.get("budget"))
    for name in args.models.split(","):
        base = recipe(name, args.epochs, args.threads)
        models[name] = run_model(name, base, where, args.work)
        run = yaml.safe_load((args.work / "runs" / f"{name}.yaml").read_text())
        models[name]["budget"] = {  # as trained (single inputs on a finer grid: more pixels)
            k: run["data"][k] for k in ("patch_size", "samples_per_epoch", "batch_size")
        } | {"epochs": run["trainer"]["max_epochs"], "threads": args.threads}
        report = {
            "scenes": {
                split: f"eoforge.synth.fusion_task seed {seed}, {SIZE} px at 10 m"
                for split, seed in SEEDS.items()
            },
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared",
            "summary": summary(models),
            "models": models,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary(models), indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
