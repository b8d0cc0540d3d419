"""Location as an extra input where place matters: a land-cover recipe with and without it.

Steps (everything under ``--work``, default ``benchmarks/.data/location_input``):

1. four 256 px synthetic Sentinel-2 renderings (one date, no clouds; seeds 0, 1, 2
   for training, 4 unseen), all at ``eoforge synth``'s default place, each then
   *copied to two places*: the copies' rasters and STAC items are given another
   CRS with the same coordinates (UTM zone 31, 32 or 33, north or south), so the
   same pixels lie once north and once south of the equator. Training: six
   scenes at six places (45.7 N / 44.5 S at 4.8, 10.8 and 16.8 E); validation:
   the unseen rendering at 45.7 N 10.8 E and at 44.5 S 10.8 E. In the southern
   copies forest and grassland swap labels (written back into the label raster):
   one appearance, two classes, told apart only by the place. A network without
   location sees every forest pixel labelled forest in one copy and grassland in
   the other, so on those two classes it cannot beat a coin toss;
2. a location bundle with an untrained encoder (``LocationSpec(degree=10,
   hidden=64, layers=2, dim=32)``, seed 0): its embeddings already differ
   between places, and the fused head is what learns what a place means (a
   location encoder trained contrastively against these images would be taught
   that the two copies look alike, the opposite of what is needed here);
3. the recipe trained twice from the same seed: with ``model.location`` and
   with ``model.location=null``; each bundle is scored by ``eoforge evaluate``
   on each unseen scene on its own; the metrics and the CPU seconds of each
   training are written to ``benchmarks/results/location_input.json``, with the
   cosine similarity of the two validation places' location embeddings.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_location_input.py``
(``--epochs 1`` for a quick check; ``--set KEY=VALUE ...`` changes the recipe for both
runs; ``--scenes-only`` writes the scenes and the location bundle only).
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
import rasterio.crs
import torch
from pyproj import Transformer

from eoforge.experiment import load_config
from eoforge.experiment.train import train
from eoforge.location import LocationImageModel, LocationSpec, encode
from eoforge.location.bundle import LocationBundle, save_location_bundle
from eoforge.synth import generate_scene

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "location_input_synth.yaml"
WORK = ROOT / "benchmarks" / ".data" / "location_input"
RENDERED_CRS = "EPSG:32631"
SCENES: dict[str, tuple[int, str]] = {
    "s0_31N": (0, "EPSG:32631"),
    "s0_33S": (0, "EPSG:32733"),
    "s1_32N": (1, "EPSG:32632"),
    "s1_31S": (1, "EPSG:32731"),
    "s2_33N": (2, "EPSG:32633"),
    "s2_32S": (2, "EPSG:32732"),
    "val4_32N": (4, "EPSG:32632"),
    "val4_32S": (4, "EPSG:32732"),
}
"""Scene name -> (synth seed, CRS its files are given). Every seed is rendered once at the synth's
default place in EPSG:32631 and copied: the same coordinates in another UTM zone or hemisphere
put a copy elsewhere (each zone is 6 degrees further east; the southern zones put the scenes'
northing, 5,069 km, at 44.5 degrees south instead of 45.7 north)."""
VAL = ("val4_32N", "val4_32S")
FOREST, GRASSLAND = 2, 3
"""Legend values swapped in the southern scenes."""
ENCODER = LocationSpec(degree=10, hidden=64, layers=2, dim=32)
SIZE = 256


def swap_labels(scene: Path) -> None:
    """Swap forest and grassland in the scene's land-cover raster (once: a marker file says so)."""
    marker = scene / "labels_swapped.txt"
    if marker.is_file():
        return
    for path in sorted((scene / "labels").glob("landcover*.tif")):
        with rasterio.open(path) as ds:  # rewritten whole: a COG's overviews would go stale
            values, profile = ds.read(1), ds.profile
        swapped = values.copy()
        swapped[values == FOREST] = GRASSLAND
        swapped[values == GRASSLAND] = FOREST
        profile.update(driver="GTiff")
        staging = path.with_name(f".{path.name}.tmp")
        with rasterio.open(staging, "w", **profile) as out:
            out.write(swapped, 1)
        staging.replace(path)
    marker.write_text("forest and grassland labels swapped\n")


def name_items(scene: Path, name: str) -> None:
    """Prefix the scene's STAC item ids with ``name``: every synth scene has the same ids, and
    scenes listed together are told apart by them (otherwise only one of them is read)."""
    for path in sorted((scene / "stac").rglob("*.json")):
        item = json.loads(path.read_text())
        if item.get("type") == "Feature" and not item["id"].startswith(f"{name}-"):
            item["id"] = f"{name}-{item['id']}"
            path.write_text(json.dumps(item, indent=2))


def relocate(scene: Path, crs: str) -> None:
    """Give ``scene``'s rasters and STAC items ``crs``: same pixels and numbers, another place."""
    marker = scene / "relocated.txt"
    if crs == RENDERED_CRS or marker.is_file():
        return
    for path in sorted(scene.rglob("*.tif")):  # only the header changes
        with rasterio.open(path, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:
            ds.crs = rasterio.crs.CRS.from_user_input(crs)
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    for path in sorted((scene / "stac").rglob("*.json")):
        item = json.loads(path.read_text())
        if item.get("type") != "Feature":
            continue
        item["properties"]["proj:code"] = crs
        asset = next(a for a in item["assets"].values() if "proj:transform" in a)
        t, (h, w) = asset["proj:transform"], asset["proj:shape"]
        xs = [t[2], t[2] + w * t[0]]
        ys = [t[5], t[5] + h * t[4]]
        lon, lat = to_wgs84.transform([xs[0], xs[1], xs[1], xs[0]], [ys[0], ys[0], ys[1], ys[1]])
        ring = [[x, y] for x, y in zip(lon, lat, strict=True)]
        item["geometry"] = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
        item["bbox"] = [min(lon), min(lat), max(lon), max(lat)]
        path.write_text(json.dumps(item, indent=2))
    marker.write_text(f"rendered in {RENDERED_CRS}, given {crs}\n")


def prepare(work: Path) -> Path:
    """Render the seeds, copy them to their places (kept when already there), write the bundle."""
    for name, (seed, crs) in SCENES.items():
        folder = work / name
        if not (folder / "legend.json").is_file():
            rendered = work / "rendered" / f"seed{seed}"
            if not (rendered / "legend.json").is_file():
                generate_scene(
                    rendered, size=SIZE, seed=seed, sensors="s2", dates=1, clouds=0.0,
                    vectors=False, crs=RENDERED_CRS,
                )  # fmt: skip
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(rendered, folder)
        name_items(folder, name)
        relocate(folder, crs)
        if crs.startswith("EPSG:327"):  # southern hemisphere
            swap_labels(folder)
    bundle = work / "location"
    if not (bundle / "bundle.json").is_file():
        torch.manual_seed(0)
        model = LocationImageModel(ENCODER, image_dim=1)
        save_location_bundle(
            bundle, model, LocationBundle(encoder=ENCODER, image_dim=1, temperature=0.07)
        )
    return bundle


def place_similarity(bundle: Path) -> float:
    """Cosine similarity of the location embeddings of the two validation scenes' centres."""
    centres = []
    for name in VAL:
        item = next(
            json.loads(p.read_text())
            for p in sorted((WORK / name / "stac").rglob("*.json"))
            if json.loads(p.read_text()).get("type") == "Feature"
        )
        west, south, east, north = item["bbox"]
        centres.append(((west + east) / 2, (south + north) / 2))
    lon, lat = zip(*centres, strict=True)
    vectors = encode(list(lon), list(lat), bundle=bundle)  # unit vectors
    return float(np.dot(vectors[0], vectors[1]))


def run(name: str, overrides: list[str]) -> dict[str, Any]:
    """Train the recipe with ``overrides``; its final validation metrics and CPU seconds."""
    config = load_config(RECIPE, overrides)
    shutil.rmtree(config.trainer.output_dir, ignore_errors=True)  # a fresh run each time
    cpu, wall = time.process_time(), time.perf_counter()
    result = train(config, progress=False)
    seconds = round(time.process_time() - cpu, 1), round(time.perf_counter() - wall, 1)
    scenes = {}
    for scene in VAL:  # each unseen scene scored on its own
        out = WORK / f"eval_{name}_{scene}.json"
        command = [str(Path(sys.executable).parent / "eoforge"), "evaluate", str(result.bundle)]
        subprocess.run([*command, str(WORK / scene), "--out", str(out)], check=True)
        scored = json.loads(out.read_text())["metrics"]
        scenes[scene] = {k: round(float(v), 4) for k, v in scored.items() if k != "loss"}
    return {"run": name, "cpu_s": seconds[0], "wall_s": seconds[1], "scenes": scenes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/location_input.json")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="recipe overrides for both runs, e.g. model.location.fuse=film",
    )
    parser.add_argument(
        "--scenes-only", action="store_true", help="write the scenes and location bundle, no runs"
    )
    args = parser.parse_args()
    os.chdir(ROOT)  # the recipe names its scenes relative to the repository
    prepare(WORK)
    if args.scenes_only:
        print(f"wrote the scenes and the location bundle under {WORK}")
        return
    common = [f"trainer.output_dir={WORK / 'runs'}"]
    if args.epochs is not None:
        common.append(f"trainer.max_epochs={args.epochs}")
    common += args.set
    load = os.getloadavg()[0]
    similarity = place_similarity(WORK / "location")
    results = [
        run("with_location", [*common, f"trainer.output_dir={WORK / 'runs/with'}"]),
        run(
            "without_location",
            [*common, "model.location=null", f"trainer.output_dir={WORK / 'runs/without'}"],
        ),
    ]
    report = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "scenes": {k: {"seed": seed, "crs": crs} for k, (seed, crs) in SCENES.items()},
        "epochs": args.epochs,
        "overrides": args.set,
        "validation_places_cosine": round(similarity, 4),
        "load_average_1min_at_start": round(load, 1),
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"cosine of the validation places' location embeddings: {similarity:.3f}")
    keys = ["miou", "accuracy", "iou_forest", "iou_grassland"]
    for r in results:
        for scene, scored in r["scenes"].items():
            shown = ", ".join(f"{k} {scored.get(k, np.nan):.3f}" for k in keys)
            print(f"{r['run']} on {scene}: {shown}")
        print(f"{r['run']}: {r['cpu_s']} CPU s of training")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
