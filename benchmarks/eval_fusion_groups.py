"""Score a bundle trained on input groups on a scene, with every group and with each one missing.

The scene (an ``eoforge synth`` folder with its ``landcover`` label raster and
``legend.json``) is predicted whole through the engine (``predict_scene`` with
the bundle's groups), once with every group and once per group with that group
left out of the scene (absent from every tile, as a group no raster covered
was in training). Each class map is scored against the label raster mapped to
the bundle's classes by name (a class whose name the legend lacks takes the
legend names the training config merged into it, ``data.classes[].values``);
``nodata`` pixels do not count. Writes JSON: overall accuracy, mean IoU and
per-class IoU per run.

Run: ``nice -n 10 .venv/bin/python benchmarks/eval_fusion_groups.py BUNDLE SCENE
--out benchmarks/results/fusion_groups.json``
(e.g. ``runs/fusion_s1s2/bundle`` and ``runs/fusion_s1s2/scenes/synth-seed1-256px-s2,s1``,
the recipe ``configs/fusion_s1s2_synth.yaml``'s validation scene).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml

from eoforge.experiment.scenes import catalog_of
from eoforge.predict import OutputSpec, TilingOptions, predict_scene
from eoforge.predict.bundle import BundleModel
from eoforge.predict.groups import bundle_groups, scene_reads
from eoforge.predict.scenes import output_grid

ROOT = Path(__file__).resolve().parents[1]


def class_lookup(bundle: Path, scene: Path) -> dict[int, int]:
    """Label raster value -> bundle class id (values of no class are left out)."""
    legend = json.loads((scene / "legend.json").read_text())["landcover"]
    config = yaml.safe_load((bundle / "experiment.yaml").read_text())
    lookup = {}
    for class_id, rule in enumerate(config["data"]["classes"]):
        names = rule.get("values") or [rule["name"]]
        for entry in legend:
            if entry["name"] in names:
                lookup[int(entry["value"])] = class_id
    return lookup


def score(predicted: np.ndarray, truth: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Overall accuracy, mean IoU (classes present in truth or prediction) and IoU per class."""
    keep = truth >= 0
    p, t = predicted[keep], truth[keep]
    ious = {}
    for k, name in enumerate(classes):
        union = np.sum((p == k) | (t == k))
        if union:
            ious[name] = float(np.sum((p == k) & (t == k)) / union)
    return {
        "accuracy": float(np.mean(p == t)),
        "miou": float(np.mean(list(ious.values()))),
        "iou": ious,
        "pixels": int(keep.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("scene", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tile", type=int, default=256)
    args = parser.parse_args()
    model = BundleModel((str(args.bundle),))
    [loaded] = model.load()
    found = bundle_groups(loaded)
    assert found is not None, "not a bundle trained on input groups"
    inputs, reference = found
    sources = [e.source for e in catalog_of([args.scene]).query(kind="image") if e.source]
    reads = scene_reads(loaded, sources)
    label_path = next((args.scene / "labels").glob("landcover*.tif"))
    grid = output_grid(label_path)
    with rasterio.open(label_path) as ds:
        raw = ds.read(1)
    lookup = class_lookup(args.bundle, args.scene)
    truth = np.full(raw.shape, -1, np.int64)
    for value, class_id in lookup.items():
        truth[raw == value] = class_id
    classes = [c.name for c in loaded.bundle.classes]
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        for missing in [None, *inputs]:
            kept = [replace(r, sources=()) if r.name == missing else r for r in reads]
            start = time.perf_counter()
            paths = predict_scene(
                model,
                reads[[r.name for r in reads].index(reference)].sources,
                grid,
                loaded.bundle.bands,
                Path(work) / f"without_{missing}",
                spec=OutputSpec.from_bundle(loaded),
                options=TilingOptions(args.tile, 32, 2, 1024, multiple=32),
                groups=kept,
            )
            with rasterio.open(paths["classes"]) as ds:
                predicted = ds.read(1).astype(np.int64)
            name = "all groups" if missing is None else f"without {missing}"
            runs[name] = score(predicted, truth, classes) | {
                "seconds": round(time.perf_counter() - start, 1)
            }
            print(name, f"accuracy {runs[name]['accuracy']:.3f} mIoU {runs[name]['miou']:.3f}")

    def relative(path: Path) -> str:
        resolved = path.resolve()
        return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else path.name

    result = {
        "bundle": relative(args.bundle),
        "scene": relative(args.scene),
        "groups": {n: g["bands"] for n, g in inputs.items()},
        "label_grid": reference,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
