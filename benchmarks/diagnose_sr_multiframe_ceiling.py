"""How much can 8 revisits add under a sensor model? Best linear x4 estimators, 1 vs 8 frames.

For each sensor setting this fits, per band, the least-squares linear map
from the low-resolution neighbourhoods (``(2 radius + 1)^2`` pixels of each
frame) to the ``4 x 4`` target pixels they cover, on the two training scenes
of ``bench_sr_multiframe.py`` degraded with the *test scene's own* shifts (an
oracle that knows every revisit's shift, so the estimator can use each
frame's sampling phase), and scores it on the unseen test scene (cPSNR,
border 3). One frame (revisit 0) against all 8: the difference is what the
extra revisits carry for a linear estimator that knows their shifts (noise
averaging plus the aliased detail their different sampling phases reveal),
with the same knowledge on both sides. A trained CNN does better than a linear
map on both sides; this measures the information, not a model.

Needs the scenes of ``bench_sr_multiframe.py`` (``--work``, default
``runs/sr_multiframe``: ``train0``, ``train1``, ``test`` with ``pair/hr.tif``);
every low-resolution view is made here by ``eoforge.synth.degrade``. Writes
``benchmarks/results/sr_multiframe_ceiling.json``. Run: ``nice -n 10
.venv/bin/python benchmarks/diagnose_sr_multiframe_ceiling.py`` (mostly the
degradations: 24 per setting; about 25 min wall at load 10-18).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from numpy.lib.stride_tricks import sliding_window_view

from eoforge.evaluate.sr_metrics import cpsnr
from eoforge.synth.degrade import SensorModel, degrade

ROOT = Path(__file__).resolve().parents[1]
BASE = SensorModel(scale=4, mtf=0.3, max_shift=0.5, noise_std=0.002)
"""bench_sr_multiframe.py's sensor model; each setting replaces some fields."""
SETTINGS: dict[str, dict[str, float]] = {
    "shift_0": {"max_shift": 0.0},
    "shift_0.5": {},
    "shift_1.2": {"max_shift": 1.2},
    "shift_2": {"max_shift": 2.0},
    "shift_0.5_noise_0.004": {"noise_std": 0.004},
    "shift_1.2_noise_0.004": {"max_shift": 1.2, "noise_std": 0.004},
}
"""Setting name -> SensorModel fields that differ from BASE."""
REVISITS = 8
TEST_SEED = 9 + 100
"""Seed of revisit 0 of the test scene in bench_sr_multiframe.py (revisit n: + n)."""

F64 = npt.NDArray[np.float64]


def read(path: Path) -> F64:
    """A raster as float64 ``[C, H, W]``."""
    with rasterio.open(path) as src:
        return src.read().astype(np.float64)


def features(frames: list[F64], band: int, radius: int) -> F64:
    """Neighbourhoods of every low-resolution pixel ``[h' w', T k^2 + 1]`` (with a 1 for the bias).

    Args:
        frames: ``T`` views ``[C, h, w]``.
        band: Band to read.
        radius: Neighbourhood half-size; edge pixels are left out (``h' = h - 2 radius``).
    """
    k = 2 * radius + 1
    parts = [sliding_window_view(f[band], (k, k)).reshape(-1, k * k) for f in frames]
    return np.concatenate([*parts, np.ones((parts[0].shape[0], 1))], axis=1)


def blocks(hr: F64, band: int, radius: int, scale: int) -> F64:
    """The ``scale x scale`` target blocks of the same pixels ``[h' w', scale^2]``."""
    c = hr[band]
    h, w = c.shape[0] // scale, c.shape[1] // scale
    b = c.reshape(h, scale, w, scale).transpose(0, 2, 1, 3)
    return b[radius : h - radius, radius : w - radius].reshape(-1, scale * scale)


def unblock(values: F64, h: int, w: int, radius: int, scale: int) -> F64:
    """Blocks ``[h' w', scale^2]`` back to an image ``[h s, w s]`` (edge blocks copied outwards)."""
    inner = values.reshape(h - 2 * radius, w - 2 * radius, scale, scale)
    inner = np.pad(inner, ((radius, radius), (radius, radius), (0, 0), (0, 0)), mode="edge")
    image: F64 = inner.transpose(0, 2, 1, 3).reshape(h * scale, w * scale)
    return image


def views(hr: F64, sensor: SensorModel, shifts: list[tuple[float, float]], seed: int) -> list[F64]:
    """``hr`` degraded once per shift (noise seeds ``seed``, ``seed + 1``...)."""
    return [
        degrade(hr, sensor, seed + n, shift=s).image.astype(np.float64)
        for n, s in enumerate(shifts)
    ]


def evaluate(
    sensor: SensorModel, train: list[F64], test: F64, radius: int, draws: int
) -> dict[str, Any]:
    """cPSNR of the oracle linear estimators from revisit 0 and from all revisits."""
    s = sensor.scale
    test_views = [degrade(test, sensor, TEST_SEED + n) for n in range(REVISITS)]
    shifts = [v.shift for v in test_views]
    lows = [v.image.astype(np.float64) for v in test_views]
    train_views = [
        (hr, views(hr, sensor, shifts, 1000 * (i + 1) + 10 * d))
        for i, hr in enumerate(train)
        for d in range(draws)
    ]
    out: dict[str, Any] = {"sensor": sensor.describe(), "test_shifts_hr_px": shifts}
    for frames in (1, REVISITS):
        started = time.process_time()
        prediction = np.zeros_like(test)
        for band in range(test.shape[0]):
            n = frames * (2 * radius + 1) ** 2 + 1
            gram, cross = np.zeros((n, n)), np.zeros((n, s * s))
            for hr, lr in train_views:
                x = features(lr[:frames], band, radius)
                y = blocks(hr, band, radius, s)
                gram += x.T @ x
                cross += x.T @ y
            gram += 1e-8 * np.trace(gram) / n * np.eye(n)  # a whisper of ridge
            weights = np.linalg.solve(gram, cross)
            h, w = lows[0].shape[1:]
            fitted = features(lows[:frames], band, radius) @ weights
            prediction[band] = unblock(fitted, h, w, radius, s)
        score = cpsnr(prediction, test, 1.0, border=3)
        out[f"frames_{frames}"] = {
            "cpsnr": score.mean,
            "bands": list(score.bands),
            "cpu_s": round(time.process_time() - started, 1),
        }
    out["gain_db"] = out[f"frames_{REVISITS}"]["cpsnr"] - out["frames_1"]["cpsnr"]
    return out


def main() -> None:
    """Every setting; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "sr_multiframe")
    parser.add_argument("--radius", type=int, default=2, help="neighbourhood half-size, input px")
    parser.add_argument("--draws", type=int, default=1, help="noise draws per training scene")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/sr_multiframe_ceiling.json"
    )
    args = parser.parse_args()
    train = [read(args.work / n / "pair" / "hr.tif") for n in ("train0", "train1")]
    test = read(args.work / "test" / "pair" / "hr.tif")
    results: dict[str, Any] = {
        "estimator": "per-band least-squares linear map, oracle shifts",
        "radius_input_px": args.radius,
        "noise_draws_per_training_scene": args.draws,
        "settings": {},
    }
    for name in args.settings:
        sensor = dataclasses.replace(BASE, **SETTINGS[name])
        result = evaluate(sensor, train, test, args.radius, args.draws)
        results["settings"][name] = result
        print(
            f"{name}: 1 frame {result['frames_1']['cpsnr']:.2f} dB, {REVISITS} frames "
            f"{result[f'frames_{REVISITS}']['cpsnr']:.2f} dB, gain {result['gain_db']:+.2f} dB",
            flush=True,
        )
    results["load_avg_1_5_15"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
