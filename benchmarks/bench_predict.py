"""Scene prediction throughput: the bare model versus eoforge's whole pipeline.

Fixed model: segmentation-models-pytorch U-Net, ResNet-18 encoder, random
init, eval mode, 4 input bands, 6 classes, 2 torch threads. ``bare`` runs the
model alone on 512 x 512 tiles already in memory (batch 8): the limit.
``pipeline`` runs ``eoforge.predict.classify_scene`` on a 4-band float32 COG
with smooth random content (read + infer + blend + write the class-map COG).
``efficiency`` = pipeline scene megapixels/s / bare megapixels/s.

Not yet measured here (see the inference-engine issue): the TerraTorch and
geoai peers, peak-RSS growth from a 10,000² to a 40,000² scene, and the Dask
speed-up. The last line of stdout is one JSON object.

Run: ``python benchmarks/bench_predict.py [--quick] [--out results.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import segmentation_models_pytorch as smp
import torch
from affine import Affine
from scipy.ndimage import zoom

from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.predict import TilingOptions, classify_scene

BANDS = ["b1", "b2", "b3", "b4"]
CLASSES = [(i, f"class{i}", f"#{i * 40:02x}{255 - i * 40:02x}80") for i in range(6)]


def make_scene(path: Path, size: int) -> Path:
    """A 4-band float32 tiled deflate GeoTIFF with smooth random content."""
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 4,
        "dtype": "float32",
        "crs": "EPSG:32631",
        "transform": Affine(10, 0, 500000, 0, -10, 5600000),
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
    }
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for row in range(0, size, 512):
            h = min(512, size - row)
            coarse = rng.random((4, h // 32 + 2, size // 32 + 2), dtype=np.float32)
            block = zoom(coarse, (1, 32, 32), order=1)[:, :h, :size].astype(np.float32)
            dst.write(block, window=rasterio.windows.Window(0, row, size, h))
            for b, name in enumerate(BANDS, start=1):
                dst.set_band_description(b, name)
    tmp.rename(path)
    return path


def bare_rate(model: torch.nn.Module, batches: int) -> float:
    """Megapixels/s of the model alone on 512 x 512 tiles in memory, batch 8."""
    x = torch.rand(8, 4, 512, 512)
    with torch.inference_mode():
        model(x)  # warm-up
        start = time.perf_counter()
        for _ in range(batches):
            model(x)
    return batches * 8 * 512 * 512 / 1e6 / (time.perf_counter() - start)


def pipeline_rate(
    model: torch.nn.Module, scene: Path, size: int, opts: TilingOptions, out: Path
) -> float:
    """Scene megapixels/s of eoforge: read + infer + blend + write the COG."""

    def predictor(images: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(torch.nan_to_num(images)), dim=1)

    grid = make_grid((size, size), Affine(10, 0, 500000, 0, -10, 5600000), "EPSG:32631")
    start = time.perf_counter()
    with torch.inference_mode():
        classify_scene(
            predictor, source_from_file(scene), grid, BANDS, out, classes=CLASSES, options=opts
        )
    return size * size / 1e6 / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2048² scene instead of 10,000²")
    parser.add_argument("--data", type=Path, default=Path("benchmarks/.data/predict"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--overlap", type=int, default=32)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    size = 2048 if args.quick else 10_000
    args.data.mkdir(parents=True, exist_ok=True)
    scene = make_scene(args.data / f"scene_{size}.tif", size)
    model = smp.Unet("resnet18", encoder_weights=None, in_channels=4, classes=6).eval()
    bare = bare_rate(model, 2 if args.quick else 4)
    print(f"bare model: {bare:.3f} MP/s", file=sys.stderr)
    opts = TilingOptions(args.tile, args.overlap, max(1, 8 * 512 * 512 // args.tile**2))
    pipe = pipeline_rate(model, scene, size, opts, args.data / "classes.tif")
    print(f"eoforge pipeline: {pipe:.3f} MP/s", file=sys.stderr)
    result = {
        "bare_mpix_per_s": round(bare, 4),
        "pipeline_mpix_per_s": round(pipe, 4),
        "efficiency": round(pipe / bare, 3),
        "scene_px": size,
        "tile": args.tile,
        "overlap": args.overlap,
        "batch": opts.batch,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
