"""Cloud removal on synthetic S1 + cloudy S2: the image_to_image recipe vs baselines, unseen scene.

Steps (scenes under the run folder of the recipe, ``--work``):

1. ``configs/s1s2_translate_synth.yaml`` trained (its synthetic scenes are
   rendered on first use; CPU time of this process during training measured);
2. an unseen scene (seed 7, 384 px, same cloud cover as the recipe) rendered
   twice: cloudy (the input) and under a clear sky (the target);
3. scored per band (MAE, RMSE, PSNR, SSIM, SAM over bands; all, cloudy and
   clear pixels by the input's cloud mask) by
   :func:`eoforge.evaluate.i2i_scene.evaluate_i2i_scene` (the whole input predicted
   through the engine), against two named baselines on the same inputs:

   * ``input``: the cloudy Sentinel-2 bands themselves (doing nothing);
   * ``linear``: a per-pixel least-squares regression of the clear target bands
     on all input bands (and a constant), fitted on every pixel of the recipe's
     training scene.

Writes ``benchmarks/results/i2i_synth.json``. Run: ``nice -n 10 .venv/bin/python
benchmarks/bench_i2i_synth.py`` (``--epochs 1`` for a quick check).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
import yaml

from eoforge.evaluate.i2i_metrics import image_to_image_scores
from eoforge.evaluate.i2i_scene import CLOUD_BAND, evaluate_i2i_scene, scene_sources
from eoforge.experiment.config import SyntheticScene
from eoforge.experiment.loading import validate_config
from eoforge.experiment.scenes import synthetic_folder
from eoforge.experiment.train import train
from eoforge.geo.grid import grid_from_sample
from eoforge.io.reader import read

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "s1s2_translate_synth.yaml"
TEST_SEED, TEST_SIZE = 7, 384


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def scene_arrays(
    cloudy: Path, clear: Path, bands: list[str], targets: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs ``[C, H, W]``, targets ``[K, H, W]`` and the cloud mask ``[H, W]`` of a scene pair."""
    (first,) = cloudy.glob("s2/*/S2.B02.tif")
    with rasterio.open(first) as src:
        grid = grid_from_sample(src.crs.to_wkt(), list(src.transform)[:6], src.shape)
    inputs = scene_sources(cloudy)
    image, ok = read(inputs, grid, bands)
    truth, ok_truth = read(scene_sources(clear), grid, targets)
    mask, _ = read(inputs, grid, [CLOUD_BAND], resampling="nearest")
    image[:, ~(ok & ok_truth)] = np.nan
    return image, truth, mask[0] != 0


def fit_linear(image: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Least-squares weights ``[C + 1, K]`` of the targets on the inputs and a constant."""
    x = np.concatenate([image.reshape(image.shape[0], -1), np.ones((1, image[0].size))]).T
    y = truth.reshape(truth.shape[0], -1).T
    keep = np.isfinite(x).all(1) & np.isfinite(y).all(1)
    weights, *_ = np.linalg.lstsq(x[keep].astype(np.float64), y[keep].astype(np.float64))
    return np.asarray(weights)


def apply_linear(weights: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The linear baseline's prediction ``[K, H, W]``."""
    x = np.concatenate([image.reshape(image.shape[0], -1), np.ones((1, image[0].size))]).T
    return np.asarray((x @ weights).T.reshape(weights.shape[1], *image.shape[1:]))


def _scene(raw: dict[str, Any], clouds: float, seed: int, size: int) -> SyntheticScene:
    options = {**raw["data"]["train"]["synthetic"], "seed": seed, "size": size, "clouds": clouds}
    return SyntheticScene.model_validate(options)


def main() -> None:
    """Train, render the unseen pair, score the model and the baselines; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "s1s2_translate")
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/i2i_synth.json")
    parser.add_argument(
        "--scores-only", action="store_true", help="score the bundle already in --work/bundle"
    )
    args = parser.parse_args()
    raw: dict[str, Any] = yaml.safe_load(RECIPE.read_text())
    raw["trainer"]["output_dir"] = str(args.work)
    if args.epochs is not None:
        raw["trainer"]["max_epochs"] = args.epochs
    config = validate_config(raw, RECIPE)
    bands, targets = list(raw["data"]["bands"]), list(raw["data"]["target_bands"])
    clouds = float(raw["data"]["train"]["synthetic"]["clouds"])
    wall, cpu = time.perf_counter(), cpu_seconds()
    if args.scores_only:
        bundle, trained = args.work / "bundle", None
    else:
        result = train(config, progress=False)
        train_wall, train_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        bundle = result.bundle
        trained = {
            "wall_s": round(train_wall, 1),
            "cpu_s": round(train_cpu, 1),
            "epochs": config.trainer.max_epochs,
            "val_metrics": result.metrics,
        }

    size = int(raw["data"]["train"]["synthetic"]["size"])
    fit_cloudy = synthetic_folder(_scene(raw, clouds, 0, size), args.work)
    fit_clear = synthetic_folder(_scene(raw, 0.0, 0, size), args.work)
    image, truth, _ = scene_arrays(fit_cloudy, fit_clear, bands, targets)
    weights = fit_linear(image, truth)

    cloudy = synthetic_folder(_scene(raw, clouds, TEST_SEED, TEST_SIZE), args.work)
    clear = synthetic_folder(_scene(raw, 0.0, TEST_SEED, TEST_SIZE), args.work)
    wall, cpu = time.perf_counter(), cpu_seconds()
    report = evaluate_i2i_scene(bundle, cloudy, clear)
    eval_wall, eval_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    image, truth, cloud = scene_arrays(cloudy, clear, bands, targets)
    linear = apply_linear(weights, image)
    report["baselines"]["linear"] = image_to_image_scores(linear, truth, targets, cloud=cloud)
    out = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "test_scene": {"seed": TEST_SEED, "size_px": TEST_SIZE, "clouds": clouds},
        "cloudy_fraction": float(cloud.mean()),
        "train": trained,
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
    rows = {"model": report["model"], **report["baselines"]}
    for name, scores in rows.items():
        for part in ("all", "cloudy", "clear"):
            s = scores[part]
            per_band = ", ".join(
                f"{b} {s['psnr']['bands'][b]:.2f} dB/{s['mae']['bands'][b]:.4f}" for b in targets
            )
            print(f"{name:6s} {part:6s} PSNR/MAE {per_band}; SAM {s['sam_deg']:.2f} deg")
    if trained is not None:
        print(f"training {trained['cpu_s']:.0f} s CPU, {trained['wall_s']:.0f} s wall")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
