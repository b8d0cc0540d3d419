"""Image-text recipe on synthetic scenes: zero-shot and text->image retrieval on an unseen scene.

Steps (everything under ``--work``):

1. ``eoforge synth`` scenes: training seeds (default 0 and 1) and an unseen seed (9),
   512 x 512 px of Sentinel-2 at 10 m, one date, no clouds;
2. ``eoforge captions`` of each scene's land-cover labels (32-px windows, 3 captions
   of 3 sentences per window);
3. ``eoforge train configs/image_text_synth.yaml`` on the training tables (the config's
   ``data.train`` is replaced by the tables written here);
4. on the unseen scene, every 32-px window's dominant land-cover class (from its
   labels) is the truth; the image tower embeds each window and the text side embeds
   the class names in the default prompt templates. Scored: zero-shot accuracy
   (and balanced accuracy) over the classes that dominate some window, and
   text->image retrieval with one query per class (relevant: the windows it
   dominates): recall@10, mAP, nDCG;
5. the same with the random baseline: the same architecture at its seeded
   initialisation (image tower and text projection untrained, same frozen sentence model).

Writes ``benchmarks/results/image_text.json``. Run: ``nice -n 5 .venv/bin/python
benchmarks/bench_image_text.py`` (``--epochs 1 --seeds 0`` for a quick check).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
import yaml

from eoforge.evaluate.retrieval import cross_modal_scores
from eoforge.evaluate.zeroshot import class_vectors, predict_classes, score_zero_shot
from eoforge.experiment.loading import validate_config
from eoforge.experiment.train import train
from eoforge.geo.grid import make_grid
from eoforge.io.reader import read
from eoforge.models import build_model, load_bundle, read_bundle_json
from eoforge.models.image_text_bundle import TextSide, load_text_side
from eoforge.text import SentenceTower

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "image_text_synth.yaml"
EOFORGE = str(Path(sys.executable).with_name("eoforge"))
WINDOW = 32


def run(args: list[str]) -> None:
    """Run an eoforge command, quietly; raise with its output if it fails."""
    done = subprocess.run([EOFORGE, "--quiet", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"eoforge {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def scene(work: Path, seed: int) -> tuple[Path, Path]:
    """(scene folder, caption table) of one seed, made once."""
    folder = work / f"scene{seed}"
    if not (folder / "stac" / "collection.json").is_file():
        size = ["--size", "512", "--seed", str(seed), "--dates", "1", "--clouds", "0"]
        run(["synth", "--out", str(folder), "--sensors", "s2", *size])
    table = work / f"captions{seed}.parquet"
    if not table.is_file():
        run(["captions", str(folder), "--out", str(table), "--window", str(WINDOW)])
    return folder, table


def truth(folder: Path) -> tuple[np.ndarray, list[str], Path]:
    """Dominant class id per window (row-major), legend names by id, the label raster."""
    raster = next((folder / "labels").glob("landcover_*.tif"))
    with rasterio.open(raster) as ds:
        labels = ds.read(1)
    legend = json.loads((folder / "legend.json").read_text())["landcover"]
    names = [""] * (max(e["value"] for e in legend) + 1)
    for entry in legend:
        names[entry["value"]] = entry["name"]
    rows, cols = labels.shape[0] // WINDOW, labels.shape[1] // WINDOW
    blocks = labels[: rows * WINDOW, : cols * WINDOW].reshape(rows, WINDOW, cols, WINDOW)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(rows * cols, -1)
    counts = np.stack([np.bincount(b, minlength=len(names)) for b in blocks])
    counts[:, 0] = 0  # nodata never dominates
    return counts.argmax(axis=1), names, raster


def window_images(folder: Path, raster: Path, bands: list[str], sensor: str = "s2") -> torch.Tensor:
    """The unseen scene cut into 32-px windows, ``[N, C, 32, 32]``, physical units.

    The windows lie on the label raster's grid (row-major, as :func:`truth`), read from
    the scene's ``sensor`` folder (``s2``, ``s1``...) at that grid's pixel size.
    """
    with rasterio.open(raster) as ds:  # the label raster's grid is the scene's
        grid = make_grid(ds.shape, ds.transform, ds.crs)
    sources = sorted((folder / sensor).glob("*/"))
    image, _ = read(sources, grid, bands)
    c, h, w = image.shape
    rows, cols = h // WINDOW, w // WINDOW
    cut = image[:, : rows * WINDOW, : cols * WINDOW].reshape(c, rows, WINDOW, cols, WINDOW)
    return torch.from_numpy(np.ascontiguousarray(cut.transpose(1, 3, 0, 2, 4))).reshape(
        rows * cols, c, WINDOW, WINDOW
    )


def score(
    tower: torch.nn.Module,
    text: Any,
    images: torch.Tensor,
    norm: tuple[list[float], list[float]],
    dominant: np.ndarray,
    names: list[str],
) -> dict[str, Any]:
    """Zero-shot and text->image retrieval scores of one model."""
    mean = torch.tensor(norm[0])[None, :, None, None]
    std = torch.tensor(norm[1])[None, :, None, None]
    with torch.no_grad():
        vectors = torch.cat(
            [tower(((images[i : i + 256]) - mean) / std) for i in range(0, len(images), 256)]
        ).numpy()
    present = sorted(set(dominant.tolist()))
    class_names = [names[i] for i in present]
    truth_ids = np.array([present.index(int(d)) for d in dominant])
    prompts = class_vectors(text, class_names)
    result = score_zero_shot(predict_classes(vectors, prompts), truth_ids, class_names)
    relevance = truth_ids[None, :] == np.arange(len(present))[:, None]
    retrieval = cross_modal_scores(vectors, prompts, relevance)
    return {
        "zero_shot_accuracy": result.accuracy,
        "zero_shot_balanced_accuracy": result.balanced_accuracy,
        "t2i_recall@1": retrieval["t2i/recall@1"],
        "t2i_recall@10": retrieval["t2i/recall@10"],
        "t2i_map": retrieval["t2i/map"],
        "t2i_ndcg": retrieval["t2i/ndcg"],
        "confusion": result.confusion.tolist(),
        "classes": class_names,
    }


class RandomText:
    """The text side of the untrained model: frozen sentence model + seeded projection."""

    def __init__(self, tower: SentenceTower, dim: int) -> None:
        torch.manual_seed(0)
        self.tower, self.projection = tower, torch.nn.Linear(tower.dim, dim)
        self.dim, self.name = dim, "random projection"

    def encode(self, texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            out = self.projection(torch.from_numpy(self.tower.encode(texts)))
        return torch.nn.functional.normalize(out, dim=-1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench_image_text")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--unseen", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/image_text.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tables = [scene(args.work, s) for s in args.seeds]
    folder, _ = scene(args.work, args.unseen)
    prepared = time.perf_counter() - start
    run_dir = args.work / "run"
    raw = yaml.safe_load(RECIPE.read_text())
    raw["data"]["train"] = [{"table": str(t), "images": [str(f)]} for f, t in tables]
    raw["trainer"]["output_dir"] = str(run_dir)
    if args.epochs is not None:
        raw["trainer"]["max_epochs"] = args.epochs
    config = validate_config(raw, RECIPE)
    shutil.rmtree(run_dir, ignore_errors=True)
    began = time.perf_counter()
    result = train(config, progress=False)
    trained_s = time.perf_counter() - began
    info = read_bundle_json(result.bundle)
    norm = (info.normalization.mean, info.normalization.std)
    dominant, names, raster = truth(folder)
    images = window_images(folder, raster, info.bands)
    side: TextSide = load_text_side(result.bundle)
    trained = score(load_bundle(result.bundle).model, side, images, norm, dominant, names)
    torch.manual_seed(config.trainer.seed)
    random_tower = build_model(info.model).eval()
    baseline = score(random_tower, RandomText(side.tower, side.dim), images, norm, dominant, names)
    report = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "train_seeds": args.seeds,
        "unseen_seed": args.unseen,
        "windows_scored": len(dominant),
        "epochs": config.trainer.max_epochs,
        "train_seconds": round(trained_s, 1),
        "prepare_seconds": round(prepared, 1),
        "final_metrics": result.metrics,
        "trained": trained,
        "random_baseline": baseline,
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
    for key in ("zero_shot_accuracy", "t2i_recall@10", "t2i_map"):
        print(f"{key}: trained {trained[key]:.3f} vs random {baseline[key]:.3f}")
    print(f"wrote {args.out} (training {trained_s:.0f} s)")


if __name__ == "__main__":
    main()
