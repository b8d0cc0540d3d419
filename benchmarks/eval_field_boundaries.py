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

``--series`` runs the time-series recipe instead
(``configs/field_boundaries_timeseries_synth.yaml``: the same ground and fields seen
on five cloudy dates, ``benchmarks/.data/fields_series``), scores it on its own
unseen seed-2 scene (the same reference fields as the single-date scene) and puts
the single-date record's scores beside it (``single_date``, read from
``field_boundaries.json``).

Run: ``nice -n 10 .venv/bin/python benchmarks/eval_field_boundaries.py`` (``--series``
for the time series; ``--skip-train`` scores an existing bundle of the recipe).
Writes ``benchmarks/results/field_boundaries.json`` (``field_boundaries_12ep.json``: the same
with ``trainer.max_epochs=12`` and ``--out`` naming it), or with ``--series``
``benchmarks/results/field_boundaries_timeseries.json``.
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
DATA = ROOT / "benchmarks" / ".data"
SIZES = {0: 1024, 1: 512, 2: 512}
TEST_SEED = 2
SINGLE = {
    "config": ROOT / "configs/field_boundaries_synth.yaml",
    "out": ROOT / "benchmarks/results/field_boundaries.json",
    "scenes": "fields",
    "dates": 1,
    "clouds": 0.0,
    "input": "single date: one synthetic acquisition (2024-07-01, cloud-free; no time series)",
}
SERIES = {
    "config": ROOT / "configs/field_boundaries_timeseries_synth.yaml",
    "out": ROOT / "benchmarks/results/field_boundaries_timeseries.json",
    "scenes": "fields_series",
    "dates": 5,
    "clouds": 0.2,
    "input": "time series: five synthetic acquisitions (2024-03-01 to 10-31), clouds ~0.2 "
    "masked per date",
}


NEIGHBOUR_M = 10.0
"""Fields nearer than this (metres) are neighbours in :func:`by_neighbour`."""
COMPARE = [
    ROOT / "benchmarks/results/field_boundaries.json",
    ROOT / "benchmarks/results/field_boundaries_4band.json",
]


def _summary(path: Path) -> dict[str, Any]:
    """A single-date record's input, training and test-scene scores."""
    single = json.loads(path.read_text(encoding="utf-8"))
    return {
        "record": str(path.relative_to(ROOT)),
        "overrides": single.get("overrides"),
        "input": single.get("input"),
        "training": single.get("training"),
        "model": single.get("test_scene", {}).get("model"),
        "by_neighbour": single.get("test_scene", {}).get("by_neighbour"),
    }


def _bands(config: Any) -> list[str]:
    """The bands the recipe reads (its time-series group's, or ``data.bands``)."""
    inputs = getattr(config.data, "inputs", None)
    if inputs:
        return [b for group in inputs.values() for b in group.bands]
    return list(config.data.bands)


def _dates(config: Any) -> str:
    """``"; dates ..."`` where the recipe's series reads listed days only, else ``""``."""
    for group in (getattr(config.data, "inputs", None) or {}).values():
        if isinstance(group.dates, list):
            return f"; only the dates {[d.isoformat() for d in group.dates]}"
    return ""


def make_scenes(recipe: dict[str, Any]) -> Path:
    """The recipe's scenes, generated when missing (as its header's commands would)."""
    scenes = DATA / str(recipe["scenes"])
    for seed, size in SIZES.items():
        folder = scenes / f"seed{seed}"
        if not (folder / "vectors" / "fields.parquet").is_file():
            generate_scene(
                folder,
                size=size,
                seed=seed,
                sensors="s2",
                dates=int(recipe["dates"]),
                clouds=float(recipe["clouds"]),
            )
    return scenes


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


def by_neighbour(fields: Path, reference_path: Path) -> dict[str, Any]:
    """Share of reference fields recovered (a predicted polygon at IoU >= 0.5), split by whether
    a field of the same crop lies within ``NEIGHBOUR_M`` (synthetic fields are 8 m apart, under a
    10 m pixel: an edge between same-crop neighbours may show on no single date) or not."""
    reference = gpd.read_parquet(reference_path).reset_index(drop=True)
    predicted = gpd.read_parquet(fields).to_crs(reference.crs)
    out: dict[str, dict[str, Any]] = {}
    for i, field in enumerate(reference.geometry):
        touching = reference.index[reference.geometry.distance(field) <= NEIGHBOUR_M]
        same = any(j != i and reference.at[j, "crop"] == reference.at[i, "crop"] for j in touching)
        hits = predicted.geometry.iloc[predicted.sindex.query(field, predicate="intersects")]
        ious = [field.intersection(g).area / field.union(g).area for g in hits]
        group = out.setdefault(
            "same_crop_neighbour" if same else "no_same_crop_neighbour", {"fields": 0, "hit": 0}
        )
        group["fields"] += 1
        group["hit"] += int(max(ious, default=0.0) >= 0.5)
    return {
        name: {"fields": g["fields"], "recovered": round(g["hit"] / g["fields"], 3)}
        for name, g in sorted(out.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", action="store_true", help="the time-series recipe")
    parser.add_argument("--config", type=Path, help="default: the recipe's")
    parser.add_argument("--out", type=Path, help="default: the recipe's results file")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        help="--series: single-date records to put beside it (default: field_boundaries.json "
        "and field_boundaries_4band.json where present)",
    )
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value")
    args = parser.parse_args()
    recipe = SERIES if args.series else SINGLE
    args.compare = [p.resolve() for p in args.compare or COMPARE]
    args.config = (args.config or Path(recipe["config"])).resolve()
    args.out = (args.out or Path(recipe["out"])).resolve()
    os.chdir(ROOT)  # the recipe's paths are relative to the repository
    scenes = make_scenes(recipe)
    config = load_config(args.config, args.overrides)
    run_dir = config.trainer.output_dir
    record: dict[str, Any] = {
        "config": str(args.config.relative_to(ROOT)),
        "overrides": args.overrides,
        "input": f"{recipe['input']}; bands {_bands(config)}{_dates(config)}",
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
    scene = scenes / f"seed{TEST_SEED}"
    start = time.perf_counter()
    report = evaluate_field_scene(bundle, scene, keep=run_dir / "test_prediction")
    record["test_scene"] = {
        "scene": f"{scene.relative_to(ROOT)} (unseen seed, 512 x 512 px at 10 m)",
        "wall_s": round(time.perf_counter() - start, 1),
        "model": report["scores"],
        "options": report["options"],
        "definitions": report["definitions"],
        **references(Path(report["files"]["values"]), Path(report["reference"])),
        "by_neighbour": by_neighbour(Path(report["files"]["fields"]), Path(report["reference"])),
    }
    if args.series:  # the same fields from one date
        record["single_date"] = [_summary(path) for path in args.compare if path.is_file()]
    record["machine"]["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
