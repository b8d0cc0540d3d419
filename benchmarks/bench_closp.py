"""CLOSP recipe on synthetic scenes: optical -> SAR retrieval through text, on an unseen scene.

Steps (everything under ``--work``):

1. ``eoforge synth`` scenes with Sentinel-2 and Sentinel-1 (one date, no clouds):
   optical training seeds (default 0 and 1), SAR training seeds (2 and 3) and an
   unseen seed (9);
2. ``eoforge captions`` of each training scene's land-cover labels (32-px windows);
3. ``eoforge train configs/closp_synth.yaml``: the optical tower learns from the
   optical windows of the optical seeds, the SAR tower from the SAR windows of the SAR
   seeds, both against one text side; no place is seen by both sensors in training;
4. on the unseen scene, every 32-px window is cut from the Sentinel-2 and from the
   Sentinel-1 images; each optical window queries all SAR windows. Relevant: a SAR
   window of the same dominant land-cover class (recall@k, mAP, precision@10), and,
   stricter, the SAR window of the same place (recall@k, mAP);
5. the same for the untrained model (both towers at their seeded initialisation) and
   for chance (random scores, mean of 20 draws).

Writes ``benchmarks/results/closp.json``. Run: ``nice -n 5 .venv/bin/python
benchmarks/bench_closp.py`` (``--epochs 1`` for a quick check).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
import yaml

from eoforge.evaluate.retrieval import rank_metrics
from eoforge.experiment.loading import validate_config
from eoforge.experiment.train import train
from eoforge.models import build_model, load_bundle, read_bundle_json

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script, the sibling bench is not importable otherwise
    sys.path.insert(0, str(HERE))
from bench_image_text import run, truth, window_images  # noqa: E402

ROOT = HERE.parent
RECIPE = ROOT / "configs" / "closp_synth.yaml"
WINDOW = 32
SENSORS = {"optical": "s2", "sar": "s1"}
"""The synth folder each modality's images are read from."""


def scene(work: Path, seed: int, size: int, captions: bool = True) -> tuple[Path, Path]:
    """(scene folder, caption table) of one seed with S2 and S1, made once per size."""
    folder = work / f"scene{seed}"
    table = work / f"captions{seed}.parquet"
    for labels in sorted((folder / "labels").glob("landcover_*.tif"))[:1]:
        with rasterio.open(labels) as ds:
            made = ds.width
        if made != size:  # made at another --size: make it again
            shutil.rmtree(folder)
            table.unlink(missing_ok=True)
    if not (folder / "stac" / "collection.json").is_file():
        options = ["--size", str(size), "--seed", str(seed), "--dates", "1", "--clouds", "0"]
        run(["synth", "--out", str(folder), "--sensors", "s2,s1", *options])
    if captions and not table.is_file():
        run(["captions", str(folder), "--out", str(table), "--window", str(WINDOW)])
    return folder, table


def embed_windows(
    tower: torch.nn.Module, images: torch.Tensor, norm: tuple[list[float], list[float]]
) -> np.ndarray:
    """Joint vectors ``[N, D]`` of windows in physical units, normalised as the bundle says."""
    mean = torch.tensor(norm[0])[None, :, None, None]
    std = torch.tensor(norm[1])[None, :, None, None]
    tower.eval()
    with torch.no_grad():
        parts = [tower((images[i : i + 256] - mean) / std) for i in range(0, len(images), 256)]
    return torch.cat(parts).numpy()


def precision_at(similarity: np.ndarray, relevance: np.ndarray, k: int = 10) -> float:
    """Mean share of relevant candidates among each query's ``k`` best."""
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    return float(np.take_along_axis(relevance, top, axis=1).mean())


def cross_scores(optical: np.ndarray, sar: np.ndarray, dominant: np.ndarray) -> dict[str, float]:
    """optical -> SAR retrieval: same dominant class, and the same place.

    Args:
        optical: ``[N, D]`` vectors of the optical windows.
        sar: ``[N, D]`` vectors of the SAR windows, in the same window order.
        dominant: ``[N]`` dominant class of each window.
    """
    q = optical / np.maximum(np.linalg.norm(optical, axis=1, keepdims=True), 1e-12)
    c = sar / np.maximum(np.linalg.norm(sar, axis=1, keepdims=True), 1e-12)
    similarity = q.astype(np.float64) @ c.T.astype(np.float64)
    return scores_of(similarity, dominant)


def scores_of(similarity: np.ndarray, dominant: np.ndarray) -> dict[str, float]:
    """The reported scores of a ``[N, N]`` optical x SAR similarity."""
    same_class = dominant[:, None] == dominant[None, :]
    by_class = rank_metrics(similarity, same_class).as_dict()
    by_place = rank_metrics(similarity, np.eye(len(dominant), dtype=bool)).as_dict()
    return {
        "class_recall@1": by_class["recall@1"],
        "class_recall@10": by_class["recall@10"],
        "class_map": by_class["map"],
        "class_precision@10": precision_at(similarity, same_class.astype(np.float64)),
        "place_recall@1": by_place["recall@1"],
        "place_recall@10": by_place["recall@10"],
        "place_map": by_place["map"],
    }


def chance(dominant: np.ndarray, draws: int = 20, seed: int = 0) -> dict[str, float]:
    """Mean scores of random rankings (uniform random similarities)."""
    rng = np.random.default_rng(seed)
    n = len(dominant)
    runs = [scores_of(rng.random((n, n)), dominant) for _ in range(draws)]
    return {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}


def score_bundles(
    bundles: dict[str, Path], folder: Path, random: bool = False, seed: int = 0
) -> tuple[dict[str, float], np.ndarray]:
    """optical -> SAR scores of the trained towers (or, ``random``, of fresh ones).

    Returns:
        The scores and the dominant class of each window of the scene.
    """
    dominant, _, raster = truth(folder)
    vectors = {}
    for i, (name, bundle) in enumerate(sorted(bundles.items())):
        info = read_bundle_json(bundle)
        norm = (list(info.normalization.mean), list(info.normalization.std))
        images = window_images(folder, raster, list(info.bands), SENSORS[name])
        if random:
            torch.manual_seed(seed + i)
            tower = build_model(info.model)
        else:
            tower = load_bundle(bundle).model
        vectors[name] = embed_windows(tower, images, norm)
    return cross_scores(vectors["optical"], vectors["sar"], dominant), dominant


def recipe(
    work: Path, optical: list[int], sar: list[int], size: int, epochs: int | None
) -> dict[str, Any]:
    """The recipe's raw config with this bench's tables and run folder."""
    raw: dict[str, Any] = yaml.safe_load(RECIPE.read_text())
    raw["data"]["train"] = [
        {"table": str(t), "images": [str(f)], "modality": modality}
        for modality, seeds in (("optical", optical), ("sar", sar))
        for f, t in (scene(work, s, size) for s in seeds)
    ]
    raw["trainer"]["output_dir"] = str(work / "run")
    if epochs is not None:
        raw["trainer"]["max_epochs"] = epochs
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench_closp")
    parser.add_argument("--optical-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--sar-seeds", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--unseen", type=int, default=9)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/closp.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    raw = recipe(args.work, args.optical_seeds, args.sar_seeds, args.size, args.epochs)
    folder, _ = scene(args.work, args.unseen, args.size, captions=False)
    prepared = time.perf_counter() - start
    config = validate_config(raw, RECIPE)
    shutil.rmtree(config.trainer.output_dir, ignore_errors=True)
    began = time.perf_counter()
    result = train(config, progress=False)
    trained_s = time.perf_counter() - began
    bundles = {name: result.bundle / name for name in SENSORS}
    trained, dominant = score_bundles(bundles, folder)
    untrained, _ = score_bundles(bundles, folder, random=True, seed=config.trainer.seed)
    report = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "optical_seeds": args.optical_seeds,
        "sar_seeds": args.sar_seeds,
        "unseen_seed": args.unseen,
        "scene_px": args.size,
        "windows_scored": len(dominant),
        "epochs": config.trainer.max_epochs,
        "train_seconds": round(trained_s, 1),
        "prepare_seconds": round(prepared, 1),
        "final_metrics": result.metrics,
        "trained": trained,
        "untrained": untrained,
        "chance": chance(dominant),
        "majority_class_share": float(np.bincount(dominant).max() / len(dominant)),
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_average": list(os.getloadavg()),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for key in ("class_recall@10", "class_map", "class_precision@10", "place_recall@10"):
        print(
            f"{key}: trained {trained[key]:.3f} vs untrained {untrained[key]:.3f} "
            f"vs chance {report['chance'][key]:.3f}"
        )
    print(f"wrote {args.out} (training {trained_s:.0f} s)")


if __name__ == "__main__":
    main()
