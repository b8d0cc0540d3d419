"""Reference-guided x4 super-resolution against single-frame, on unseen synthetic scenes.

Steps (everything under ``--work``):

1. the scenes and pairs of ``bench_sr_synth.py`` (2.5 m renderings degraded
   x4 by the same sensor model): training seeds 0 and 1 (1024 px), validation
   seed 2 (384 px), unseen test seeds 9 (768 px) and 10 (512 px);
2. two references per pair on its 2.5 m grid (:mod:`eoforge.synth.sr_reference`):
   ``recent`` (5 % of the area changed, band gains within 3 %) and ``old``
   (30 %, 15 %);
3. training, each timed in CPU seconds of this process, without the recipes'
   ``max_time`` (a busy machine would cut epochs otherwise): first the
   reference-guided ``configs/sr_synth_reference_x4.yaml`` (both references of
   each training pair), then the single-frame ``configs/sr_synth_x4.yaml``, on
   the same pairs;
4. after each training, the unseen scenes predicted whole through the engine
   (the reference read window by window on the output grid) and scored
   against their targets: cPSNR, cSSIM, PSNR, SSIM of reference-guided with
   the recent and with the old reference, of single-frame, and of bicubic.

Writes ``benchmarks/results/sr_reference.json`` (again after each recipe). Run: ``nice -n 10
.venv/bin/python benchmarks/bench_sr_reference.py`` (``--epochs 1`` for a quick
check; trained bundles are reused unless ``--retrain``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from eoforge.evaluate.sr_scene import evaluate_sr_scene
from eoforge.experiment.loading import validate_config
from eoforge.experiment.train import train
from eoforge.synth import generate_scene
from eoforge.synth.degrade import SensorModel
from eoforge.synth.sr_pairs import write_sr_pair
from eoforge.synth.sr_reference import CHANGES, write_reference

ROOT = Path(__file__).resolve().parents[1]
SINGLE = ROOT / "configs" / "sr_synth_x4.yaml"
GUIDED = ROOT / "configs" / "sr_synth_reference_x4.yaml"
SENSOR = SensorModel(scale=4, mtf=0.3, max_shift=0.5, noise_std=0.002)
SCENES = {
    "train0": (0, 1024),
    "train1": (1, 1024),
    "val": (2, 384),
    "test": (9, 768),
    "test10": (10, 512),
}
"""Pair name -> (synth seed, size in 2.5 m pixels); the first four as in bench_sr_synth.py."""
TESTS = ("test", "test10")


def prepare(work: Path, bands: tuple[str, ...]) -> dict[str, Path]:
    """Render the scenes, write their pairs and references (kept when already there)."""
    folders = {}
    for name, (seed, size) in SCENES.items():
        folder = work / name
        pair = folder / "pair"
        if not (pair / "sensor.json").is_file():
            generate_scene(
                folder / "scene", size=size, sensors=("s2",), dates=1, clouds=0.0, gsd=2.5,
                s2_native=False, vectors=False, seed=seed,
            )  # fmt: skip
            write_sr_pair(folder / "scene", pair, SENSOR, bands=bands, seed=seed + 100)
        for kind, model in CHANGES.items():
            path = pair / f"reference_{kind}.tif"
            if not path.is_file():
                write_reference(pair / "hr.tif", path, model, seed=seed + 200)
        folders[name] = pair
    return folders


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def item(pair: Path, reference: str | None) -> dict[str, str]:
    """A data item of ``pair`` (with its ``reference_<kind>.tif``)."""
    out = {"lr": str(pair / "lr.tif"), "hr": str(pair / "hr.tif")}
    if reference is not None:
        out["reference"] = str(pair / f"reference_{reference}.tif")
    return out


def fit(
    recipe: Path,
    pairs: dict[str, Path],
    run: Path,
    guided: bool,
    epochs: int | None,
    again: bool,
    resume: bool = False,
) -> dict[str, Any]:
    """Train ``recipe`` on the pairs into ``run`` (reused when its bundle exists).

    With ``resume``, an interrupted run continues from its last checkpoint (its
    CPU time then counts only this process's part).
    """
    info = run / "train.json"
    if info.is_file() and (run / "bundle" / "bundle.json").is_file() and not again:
        return dict(json.loads(info.read_text()))
    raw: dict[str, Any] = yaml.safe_load(recipe.read_text())
    kinds: list[str | None] = list(CHANGES) if guided else [None]
    raw["data"]["train"] = [item(pairs[n], k) for n in ("train0", "train1") for k in kinds]
    raw["data"]["val"] = [item(pairs["val"], "recent" if guided else None)]
    raw["trainer"]["output_dir"] = str(run)
    raw["trainer"]["max_time"] = None  # every epoch on a busy machine too: CPU time is reported
    if epochs is not None:
        raw["trainer"]["max_epochs"] = epochs
    config = validate_config(raw, recipe)
    wall, cpu = time.perf_counter(), cpu_seconds()
    resumed = resume and (run / "checkpoints" / "last.ckpt").is_file()
    result = train(config, resumed, progress=False)
    out = {
        "recipe": str(recipe.relative_to(ROOT)),
        "bundle": os.path.relpath(result.bundle, ROOT),
        "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s": round(cpu_seconds() - cpu, 1),
        "epochs": config.trainer.max_epochs,
        "resumed": resumed,
        "val_metrics": result.metrics,
    }
    info.write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """Mean and per-band cPSNR/cSSIM/PSNR/SSIM of the model and of bicubic."""
    return {
        who: {m: report[who][m] for m in ("cpsnr", "cssim", "psnr", "ssim")}
        for who in ("model", "bicubic")
    }


def score(bundle: str, pair: Path, reference: str | None) -> dict[str, Any]:
    """The bundle on an unseen pair (with ``reference_<kind>.tif``), against bicubic."""
    ref = None if reference is None else pair / f"reference_{reference}.tif"
    return evaluate_sr_scene(bundle, pair / "lr.tif", pair / "hr.tif", reference=ref)


def main() -> None:
    """Prepare; train and score the reference-guided recipe, then single-frame; write the JSON.

    The JSON is rewritten after each recipe, so a run stopped during the second
    training keeps the first one's scores.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "sr_reference")
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    parser.add_argument("--retrain", action="store_true", help="train again even if bundles exist")
    parser.add_argument(
        "--resume", action="store_true", help="continue interrupted trainings from last.ckpt"
    )
    parser.add_argument(
        "--tests", nargs="+", default=list(TESTS), choices=TESTS, help="unseen scenes to score"
    )
    parser.add_argument("--only", choices=("reference", "single_frame"), help="one recipe only")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/sr_reference.json")
    args = parser.parse_args()
    bands = tuple(yaml.safe_load(GUIDED.read_text())["data"]["bands"])
    pairs = prepare(args.work, bands)
    out: dict[str, Any] = {
        "recipes": {
            "reference": str(GUIDED.relative_to(ROOT)),
            "single_frame": str(SINGLE.relative_to(ROOT)),
        },
        "sensor": SENSOR.describe(),
        "changes": {k: {"changed": v.changed, "season": v.season} for k, v in CHANGES.items()},
        "scenes": {n: {"seed": s, "size_2_5m_px": z} for n, (s, z) in SCENES.items()},
        "train": {},
        "test": {name: {"cpsnr_mean": {}, "scores": {}} for name in args.tests},
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
    }
    plans = [
        ("reference", GUIDED, True, [f"reference_{k}" for k in CHANGES]),
        ("single_frame", SINGLE, False, ["single_frame"]),
    ]
    if args.out.is_file():  # scores of an earlier run of this script are kept
        earlier = json.loads(args.out.read_text())
        out["train"] = earlier.get("train", {})
        out["test"] = {**earlier.get("test", {}), **out["test"]}
        for name, test in earlier.get("test", {}).items():
            if name in args.tests:  # scored again below: keep the rows not rescored
                out["test"][name] = test
    for key, recipe, guided, rows in [p for p in plans if args.only in (None, p[0])]:
        folder = args.work / f"run_{key}"
        run = fit(recipe, pairs, folder, guided, args.epochs, args.retrain, args.resume)
        out["train"][key] = run
        for name in args.tests:
            test = out["test"][name]
            for row in rows:
                kind = row.removeprefix("reference_") if guided else None
                report = score(run["bundle"], pairs[name], kind)
                test["scores"][row] = summary(report)
                test["cpsnr_mean"][row] = report["model"]["cpsnr"]["mean"]
                test["cpsnr_mean"]["bicubic"] = report["bicubic"]["cpsnr"]["mean"]
            c = test["cpsnr_mean"]
            if "single_frame" in c:
                test["gain_over_single_frame_db"] = {
                    k: c[f"reference_{k}"] - c["single_frame"] for k in CHANGES
                }
            print(f"{name}: cPSNR " + ", ".join(f"{k} {v:.2f}" for k, v in c.items()) + " dB")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
