"""Single-frame x4 super-resolution of synthetic pairs: the recipe against bicubic, unseen scene.

Steps (everything under ``--work``):

1. synthetic scenes rendered at 2.5 m (Sentinel-2-like bands, one date, no
   clouds): training seeds 0 and 1 (1024 x 1024 px), validation seed 2
   (384 px) and an unseen test seed 9 (768 px);
2. each degraded by the sensor model of :mod:`eoforge.synth.degrade` into a
   10 m input (x4: Gaussian PSF with MTF 0.3 at Nyquist, area downsampling,
   sub-pixel shift up to 0.5 target px, Gaussian noise 0.002 reflectance);
3. ``eoforge train configs/sr_synth_x4.yaml`` on the training pairs (CPU time
   of the training process measured);
4. the unseen pair scored by :func:`eoforge.evaluate.sr_scene.evaluate_sr_scene`
   (the whole input predicted through the engine): cPSNR, cSSIM, PSNR, SSIM of
   the model and of bicubic, per band.

Writes ``benchmarks/results/sr_synth.json``. Run: ``nice -n 5 .venv/bin/python
benchmarks/bench_sr_synth.py`` (``--epochs 1`` for a quick check).
"""

from __future__ import annotations

import argparse
import json
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

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "sr_synth_x4.yaml"
SENSOR = SensorModel(scale=4, mtf=0.3, max_shift=0.5, noise_std=0.002)
SCENES = {"train0": (0, 1024), "train1": (1, 1024), "val": (2, 384), "test": (9, 768)}
"""Pair name -> (synth seed, size in 2.5 m pixels)."""


def prepare(work: Path, bands: tuple[str, ...]) -> dict[str, tuple[Path, Path]]:
    """Render the scenes and write their pairs (kept when already there)."""
    pairs = {}
    for name, (seed, size) in SCENES.items():
        folder = work / name
        if not (folder / "pair" / "sensor.json").is_file():
            generate_scene(
                folder / "scene", size=size, sensors=("s2",), dates=1, clouds=0.0, gsd=2.5,
                s2_native=False, vectors=False, seed=seed,
            )  # fmt: skip
            write_sr_pair(folder / "scene", folder / "pair", SENSOR, bands=bands, seed=seed + 100)
        pairs[name] = (folder / "pair" / "lr.tif", folder / "pair" / "hr.tif")
    return pairs


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Prepare, train, score; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "sr_synth")
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/sr_synth.json")
    args = parser.parse_args()
    raw: dict[str, Any] = yaml.safe_load(RECIPE.read_text())
    bands = tuple(raw["data"]["bands"])
    pairs = prepare(args.work, bands)
    raw["data"]["train"] = [
        {"lr": str(pairs[n][0]), "hr": str(pairs[n][1])} for n in ("train0", "train1")
    ]
    raw["data"]["val"] = [{"lr": str(pairs["val"][0]), "hr": str(pairs["val"][1])}]
    raw["trainer"]["output_dir"] = str(args.work / "run")
    if args.epochs is not None:
        raw["trainer"]["max_epochs"] = args.epochs
    config = validate_config(raw, RECIPE)
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = train(config, progress=False)
    train_wall, train_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    wall, cpu = time.perf_counter(), cpu_seconds()
    report = evaluate_sr_scene(result.bundle, pairs["test"][0], pairs["test"][1])
    eval_wall, eval_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    out = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "sensor": SENSOR.describe(),
        "scenes": {n: {"seed": s, "size_2_5m_px": z} for n, (s, z) in SCENES.items()},
        "train": {
            "wall_s": round(train_wall, 1),
            "cpu_s": round(train_cpu, 1),
            "epochs": config.trainer.max_epochs,
            "val_metrics": result.metrics,
        },
        "test": report,
        "predict_and_score": {"wall_s": round(eval_wall, 1), "cpu_s": round(eval_cpu, 1)},
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2), encoding="utf-8")
    gain = report["gain_db"]["cpsnr"]
    print(
        f"cPSNR model {report['model']['cpsnr']['mean']:.2f} dB, bicubic "
        f"{report['bicubic']['cpsnr']['mean']:.2f} dB, gain {gain['mean']:+.2f} dB "
        f"({', '.join(f'{b} {v:+.2f}' for b, v in gain['bands'].items())}); "
        f"training {train_cpu:.0f} s CPU, {train_wall:.0f} s wall; wrote {args.out}"
    )


if __name__ == "__main__":
    main()
