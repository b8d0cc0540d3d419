"""Field boundaries on synthetic scenes: train the recipe, delineate an unseen scene, score it.

One command reruns everything: the three ``eoforge synth`` scenes of
``configs/field_boundaries_synth.yaml`` are generated when missing (training seed 0,
validation seed 1, test seed 2), the recipe is trained (CPU time of this process,
which holds the whole training: ``num_workers: 0``), the unseen seed-2 scene is
predicted whole, its maps turned into polygons by the seeded watershed and the
polygons scored against the scene's own field polygons
(:func:`eoforge.evaluate.field_scene.evaluate_field_scene`).

Two references on the same scene put the model's figures in context:

* ``extent_components``: the model's own extent map cut into connected components
  (no boundary or distance map, no watershed): what the extra heads add;
* ``oracle_maps``: the exact targets (extent, boundary, distance rasterised from the
  reference polygons on the 10 m grid) through the same watershed: the ceiling of
  the post-processing at this pixel size.

Run: ``nice -n 10 .venv/bin/python benchmarks/eval_field_boundaries.py``
(``--skip-train`` scores an existing ``runs/field_boundaries/bundle``).
Writes ``benchmarks/results/field_boundaries.json`` (``field_boundaries_12ep.json``: the same
with ``trainer.max_epochs=12`` and ``--out`` naming it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import torch
from odc.geo.geobox import GeoBox
from scipy import ndimage

from eoforge.evaluate.field_objects import score_fields
from eoforge.evaluate.field_scene import evaluate_field_scene
from eoforge.experiment.loading import load_config
from eoforge.experiment.train import train
from eoforge.io.vector.fields import number_fields, rasterize_fields
from eoforge.predict.fields import (
    FieldPolygonOptions,
    field_instances,
    instances_to_polygons,
)
from eoforge.synth import generate_scene
from eoforge.transforms.field_targets import field_targets

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "benchmarks" / ".data" / "fields"
SIZES = {0: 1024, 1: 512, 2: 512}
TEST_SEED = 2


def make_scenes() -> None:
    """The recipe's scenes, generated when missing (as its header's commands would)."""
    for seed, size in SIZES.items():
        folder = SCENES / f"seed{seed}"
        if not (folder / "vectors" / "fields.parquet").is_file():
            generate_scene(folder, size=size, seed=seed, sensors="s2", dates=1, clouds=0.0)


def _polygon_scores(
    instances: np.ndarray, src: rasterio.DatasetReader, reference: gpd.GeoDataFrame
) -> dict[str, Any]:
    pixel = abs(src.transform.a)
    frame = instances_to_polygons(
        instances, src.transform, src.crs, min_area=4 * pixel * pixel, simplify=pixel / 2
    )
    return score_fields(frame, reference).as_dict()


def references(maps: Path, reference_path: Path) -> dict[str, Any]:
    """Scores of the extent's connected components and of the exact maps (see the docstring)."""
    reference = gpd.read_parquet(reference_path)
    with rasterio.open(maps) as src:
        extent = src.read(1)
        components, _ = ndimage.label(np.nan_to_num(extent) >= 0.5)
        grid = GeoBox((src.height, src.width), src.transform, src.crs)
        exact = field_targets(rasterize_fields(number_fields(reference, "field_id"), grid))
        oracle = field_instances(*exact.stacked(), FieldPolygonOptions())
        return {
            "extent_components": _polygon_scores(components.astype(np.int32), src, reference),
            "oracle_maps": _polygon_scores(oracle, src, reference),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs/field_boundaries_synth.yaml")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/field_boundaries.json"
    )
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value")
    args = parser.parse_args()
    os.chdir(ROOT)  # the recipe's paths are relative to the repository
    make_scenes()
    config = load_config(args.config, args.overrides)
    run_dir = config.trainer.output_dir
    record: dict[str, Any] = {
        "config": str(args.config.relative_to(ROOT)),
        "overrides": args.overrides,
        "input": "single date: the ten S2 bands of one synthetic acquisition (no time series)",
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "load_average_start": os.getloadavg(),
        },
    }
    if args.skip_train and args.out.is_file():  # keep the record of the training run
        record["training"] = json.loads(args.out.read_text(encoding="utf-8")).get("training")
    if not args.skip_train:
        wall, cpu = time.perf_counter(), time.process_time()
        result = train(config, progress=False)
        record["training"] = {
            "wall_s": round(time.perf_counter() - wall, 1),
            "cpu_s": round(time.process_time() - cpu, 1),
            "epochs": config.trainer.max_epochs,
            "val_metrics": result.summary_metrics(),
        }
    bundle = run_dir / "bundle"
    scene = SCENES / f"seed{TEST_SEED}"
    start = time.perf_counter()
    report = evaluate_field_scene(bundle, scene, keep=run_dir / "test_prediction")
    record["test_scene"] = {
        "scene": f"benchmarks/.data/fields/seed{TEST_SEED} (unseen seed, 512 x 512 px at 10 m)",
        "wall_s": round(time.perf_counter() - start, 1),
        "model": report["scores"],
        "options": report["options"],
        "definitions": report["definitions"],
        **references(Path(report["files"]["values"]), Path(report["reference"])),
    }
    record["machine"]["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
