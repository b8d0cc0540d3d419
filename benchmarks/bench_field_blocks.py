"""The field watershed block by block against the whole scene: agreement, fields scored, memory.

Maps: the exact extent/boundary/distance maps of a synthetic scene's field polygons
(``benchmarks/.data/fields/seed0``, 1,024² px, generated when missing) with smooth
noise (as a model's maps are never exact), and, with ``--maps``, a model's predicted
maps (the values COG ``eoforge predict`` writes, e.g.
``runs/field_boundaries_timeseries/test_prediction/*_values.tif``) scored against
``--reference`` field polygons. For each: the whole-scene watershed
(:func:`eoforge.predict.fields.field_instances`) and the blockwise one
(:mod:`eoforge.predict.field_blocks`) at a few block sizes; the share of field
pixels in fields paired one-to-one (largest overlap both ways), the field counts,
the peak memory numpy allocates during the watershed (``tracemalloc``, bytes per
scene pixel) and CPU seconds; with a reference, each result's object scores. The
same maps mirrored into a scene ``--large`` times as wide (default 3: 3,072² px)
show the memory bound: the whole scene's peak grows with the scene, the blocks'
with the window (plus 4 bytes per pixel of field numbers).

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_field_blocks.py [--maps VALUES.tif
--reference FIELDS.parquet]``; writes ``benchmarks/results/field_blocks.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
from odc.geo.geobox import GeoBox
from scipy import ndimage

from eoforge.evaluate.field_objects import instance_agreement, score_fields
from eoforge.io.vector.fields import number_fields, rasterize_fields
from eoforge.predict.field_blocks import blockwise_instances
from eoforge.predict.fields import field_instances, instances_to_polygons
from eoforge.synth import generate_scene
from eoforge.transforms.field_targets import field_targets

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "benchmarks" / ".data" / "fields" / "seed0"
BLOCKS = ((256, 64), (256, 128), (512, 128))


def measured(run: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, peak traced bytes, CPU s)`` of ``run()``."""
    tracemalloc.start()
    cpu = time.process_time()
    result = run()
    seconds = time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, float(peak), seconds


def synthetic_maps() -> tuple[np.ndarray, rasterio.Affine, Any, gpd.GeoDataFrame]:
    """Exact maps of the seed-0 scene's fields with smooth noise, its grid and fields."""
    if not (SCENE / "vectors" / "fields.parquet").is_file():
        generate_scene(SCENE, size=1024, seed=0, sensors="s2", dates=1, clouds=0.0)
    reference = gpd.read_parquet(SCENE / "vectors" / "fields.parquet")
    band = next((SCENE / "s2").glob("*/S2.B02.tif"))
    with rasterio.open(band) as src:
        grid = GeoBox((src.height, src.width), src.transform, src.crs)
        transform, crs = src.transform, src.crs
    exact = field_targets(rasterize_fields(number_fields(reference, "field_id"), grid)).stacked()
    noise = np.random.default_rng(0).normal(0, 0.6, exact.shape)
    maps = np.clip(exact + ndimage.gaussian_filter(noise, (0, 1.5, 1.5)), 0, 1)
    return maps.astype(np.float32), transform, crs, reference


def compare(
    maps: np.ndarray,
    transform: Any,
    crs: Any,
    reference: gpd.GeoDataFrame | None,
    blocks: tuple[tuple[int, int], ...] = BLOCKS,
) -> dict[str, Any]:
    """Whole-scene and blockwise watersheds of ``maps`` side by side."""
    pixels = maps.shape[1] * maps.shape[2]

    def scores(instances: np.ndarray) -> dict[str, Any] | None:
        if reference is None:
            return None
        pixel = abs(transform.a)
        frame = instances_to_polygons(
            instances, transform, crs, min_area=4 * pixel * pixel, simplify=pixel / 2
        )
        truth = reference.to_crs(crs) if reference.crs != crs else reference
        return score_fields(frame, truth).as_dict()

    whole, peak, cpu = measured(lambda: field_instances(*maps))
    out: dict[str, Any] = {
        "shape": list(maps.shape[1:]),
        "whole": {
            "fields": int(whole.max()),
            "peak_bytes_per_pixel": round(peak / pixels, 1),
            "cpu_s": round(cpu, 2),
            "scores": scores(whole),
        },
        "blocks": [],
    }
    for block, overlap in blocks:

        def run(block: int = block, overlap: int = overlap) -> Any:
            return blockwise_instances(
                lambda w: (maps[0][w], maps[1][w], maps[2][w]),
                maps.shape[1:],
                block,
                overlap,
                lambda *m: field_instances(*m),
            )

        result, peak, cpu = measured(run)
        out["blocks"].append(
            {
                "block": block,
                "overlap": overlap,
                "fields": int(result.instances.max()),
                "cut": result.cut,
                "grown": result.grown,
                "agreement": round(instance_agreement(whole, result.instances), 4),
                "peak_bytes_per_pixel": round(peak / pixels, 1),
                "cpu_s": round(cpu, 2),
                "scores": scores(result.instances),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=Path, help="a field bundle's values COG")
    parser.add_argument("--reference", type=Path, help="field polygons to score --maps against")
    parser.add_argument(
        "--large", type=int, default=3, help="also a scene this many times as wide (memory)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/field_blocks.json")
    args = parser.parse_args()
    maps, transform, crs, reference = synthetic_maps()
    record: dict[str, Any] = {
        "definitions": {
            "agreement": "share of field pixels (whole or blocks) in fields paired one-to-one "
            "by their largest overlap with the whole-scene result",
            "peak_bytes_per_pixel": "peak of numpy's traced allocations during the watershed "
            "over the scene's pixels (the maps themselves are not counted)",
            "cut": "kept fields touching their window's inner edge at the largest overlap",
        },
        "load_average_start": os.getloadavg(),
        "synthetic_noisy_exact_maps": compare(maps, transform, crs, reference),
    }
    if args.large > 1:  # memory: the same maps mirrored into a larger scene, not scored
        tiled = np.concatenate([maps, maps[:, :, ::-1]] * (args.large // 2 + 1), axis=2)
        tiled = np.concatenate([tiled, tiled[:, ::-1]] * (args.large // 2 + 1), axis=1)
        side = args.large * maps.shape[1]
        large = np.ascontiguousarray(tiled[:, :side, :side])
        record["large_mirrored_maps"] = compare(large, transform, crs, None, ((512, 128),))
    if args.maps is not None:
        with rasterio.open(args.maps) as src:
            model = src.read(out_dtype="float32")
            transform, crs = src.transform, src.crs
        truth = gpd.read_parquet(args.reference) if args.reference else None
        record["model_maps"] = {"maps": str(args.maps), **compare(model, transform, crs, truth)}
    record["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
