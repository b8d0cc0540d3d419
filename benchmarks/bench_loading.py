"""Patch-loading throughput: eoforge vs TorchGeo vs raw rasterio windows.

Generates 4 GeoTIFFs of 4096 x 4096 px, 10 uint16 bands, 512-px internal
tiles, deflate; two in UTM 31N and two in UTM 32N. Then times random
256 x 256 patch sampling with 2 DataLoader workers and batch size 16 for:

(a) eoforge: ``RandomGeoSampler`` + ``GeoDataset`` (bands by name), each file
    sampled on its own grid, so every read is a plain window;
(a') eoforge chunked: the same, with ``RandomGeoSampler(windows_per_read=k,
    read_size=1024, shuffle_buffer=128)`` told the loader's batch size and
    workers: windows drawn ``k`` at a time (``--windows-per-read``, default
    16) inside tile-aligned 1024-px chunks, so each decoded tile serves
    several windows (windows of a chunk correlated, spread over about 128
    positions of one worker's stream; see ``eoforge.data.chunked``);
(b) TorchGeo: ``RasterDataset`` + ``RandomGeoSampler`` (the ``bench`` extra);
(c) raw rasterio reads of random pixel-aligned windows in each file's own
    grid, converted to float32 tensors: the decode limit.

Rounds alternate between the contenders so machine noise affects them alike. Each
loader runs one epoch: after the first batch (worker start-up), the first
patches are timed as "cold" (files opening, GDAL's block cache filling) and
the rest as "steady" (the regime of a training run); the headline figures are
the steady medians over rounds, the cold ones are reported beside them. All
run under the same GDAL settings in the same process. The last line of
stdout is one JSON object with the figures; ``--out`` also writes it to a file.

Run: ``python benchmarks/bench_loading.py [--quick] [--windows-per-read K] [--out results.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from affine import Affine
from torch.utils.data import DataLoader, Dataset, Sampler

BANDS = 10
PATCH = 256
BATCH = 16
WORKERS = 2
CHUNKED = {"windows_per_read": 16, "read_size": 1024, "shuffle_buffer": 128}
S2_NAMES = [
    "S2.B02",
    "S2.B03",
    "S2.B04",
    "S2.B05",
    "S2.B06",
    "S2.B07",
    "S2.B08",
    "S2.B8A",
    "S2.B11",
    "S2.B12",
]


def make_files(folder: Path, size: int) -> list[Path]:
    """Write the four benchmark rasters (smooth noise, so deflate has real work)."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = [
        ("EPSG:32631", 600000),
        ("EPSG:32631", 600000 + size * 10),
        ("EPSG:32632", 300000),
        ("EPSG:32632", 300000 + size * 10),
    ]
    paths = []
    rng = np.random.default_rng(0)
    for i, (crs, x0) in enumerate(specs):
        path = folder / f"scene_{i}.tif"
        paths.append(path)
        if path.exists():
            continue
        profile = {
            "driver": "GTiff",
            "width": size,
            "height": size,
            "count": BANDS,
            "dtype": "uint16",
            "crs": crs,
            "transform": Affine(10, 0, x0, 0, -10, 5_700_000),
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "deflate",
            "nodata": 0,
        }
        tmp = path.with_suffix(".tmp.tif")
        with rasterio.open(tmp, "w", **profile) as dst:
            for b in range(BANDS):
                dst.set_band_description(b + 1, S2_NAMES[b])
            for row in range(0, size, 512):
                block = _smooth_block(rng, BANDS, min(512, size - row), size)
                dst.write(block, window=rasterio.windows.Window(0, row, size, block.shape[1]))
        tmp.rename(path)
    return paths


def _smooth_block(rng: np.random.Generator, bands: int, height: int, width: int) -> np.ndarray:
    """Reflectance-like DN: 80 m patches of land cover plus sensor noise (sigma 10 DN)."""
    coarse = rng.integers(500, 4000, (bands, height // 8 + 1, width // 8 + 1)).astype(np.float32)
    up = coarse.repeat(8, axis=1).repeat(8, axis=2)[:, :height, :width]
    noise = rng.normal(0, 10, (bands, height, width)).astype(np.float32)
    return np.clip(up + noise, 1, 65535).astype(np.uint16)


# ---------------------------------------------------------------- raw rasterio
class RawWindows(Dataset[torch.Tensor]):
    """Random pixel-aligned windows read with rasterio in each file's own grid."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = [str(p) for p in paths]
        self._handles: dict[str, Any] = {}
        with rasterio.open(self.paths[0]) as ds:
            self.height, self.width = ds.height, ds.width

    def __len__(self) -> int:
        return 1 << 30

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng(index)
        path = self.paths[int(rng.integers(len(self.paths)))]
        row = int(rng.integers(0, self.height - PATCH))
        col = int(rng.integers(0, self.width - PATCH))
        ds = self._handles.get(path)
        if ds is None:
            ds = self._handles[path] = rasterio.open(path)
        data = ds.read(window=rasterio.windows.Window(col, row, PATCH, PATCH))
        return torch.from_numpy(data.astype(np.float32))


class CountingSampler(Sampler[int]):
    def __init__(self, length: int, offset: int) -> None:
        self.length, self.offset = length, offset

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.offset, self.offset + self.length))

    def __len__(self) -> int:
        return self.length


def raw_loader(paths: list[Path], n: int, round_: int) -> DataLoader[Any]:
    return DataLoader(
        RawWindows(paths),
        batch_size=BATCH,
        num_workers=WORKERS,
        sampler=CountingSampler(n, round_ * n),
    )


# ---------------------------------------------------------------- torchgeo
def torchgeo_loader(paths: list[Path], n: int, round_: int) -> DataLoader[Any]:
    from torchgeo.datasets import RasterDataset, stack_samples
    from torchgeo.samplers import RandomGeoSampler

    class BenchRasters(RasterDataset):  # type: ignore[misc]
        filename_glob = "scene_*.tif"
        is_image = True

    torch.manual_seed(round_)
    ds = BenchRasters(paths=[str(p.parent) for p in paths[:1]])
    sampler = RandomGeoSampler(ds, size=PATCH, length=n)
    return DataLoader(
        ds, sampler=sampler, batch_size=BATCH, num_workers=WORKERS, collate_fn=stack_samples
    )


# ---------------------------------------------------------------- eoforge
def eoforge_loader(
    paths: list[Path], n: int, round_: int, chunked: bool = False
) -> DataLoader[Any]:
    from eoforge.data import GeoDataset, RandomGeoSampler, collate, regions_from_sources
    from eoforge.io import source_from_file

    sources = [source_from_file(p) for p in paths]
    options: dict[str, Any] = {}
    if chunked:
        options = {**CHUNKED, "loader_batch_size": BATCH, "loader_workers": WORKERS}
    sampler = RandomGeoSampler(
        regions_from_sources(sources), size=PATCH, length=n, seed=round_, **options
    )
    dataset = GeoDataset(sampler, sources, S2_NAMES)
    return DataLoader(
        dataset, sampler=sampler, batch_size=BATCH, num_workers=WORKERS, collate_fn=collate
    )


# ---------------------------------------------------------------- timing
def time_loader(make: Callable[[], DataLoader[Any]], warm: int) -> tuple[float, float]:
    """Patches per second of one loader: ``(cold, warm)``.

    ``cold`` covers the first ``warm`` patches after the first batch (worker
    start-up excluded): files are opened and GDAL's block cache fills. ``warm``
    covers the rest of the epoch, the regime a training run spends its time in.
    """
    loader = make()
    it = iter(loader)
    next(it)  # worker start-up is not patch loading
    marks = [time.perf_counter()]
    counts = [0, 0]
    for batch in it:
        image = batch["image"] if isinstance(batch, dict) else batch
        assert image.shape[-1] == PATCH and image.shape[-2] == PATCH
        phase = 0 if counts[0] < warm else 1
        if phase == 1 and len(marks) == 1:
            marks.append(time.perf_counter())
        counts[phase] += int(image.shape[0])
    marks.append(time.perf_counter())
    del it, loader
    return counts[0] / (marks[1] - marks[0]), counts[1] / (marks[2] - marks[1])


def _summary(rates: dict[str, list[float]]) -> dict[str, float]:
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "eoforge_patches_per_s": round(med["eoforge"], 2),
        "eoforge_chunked_patches_per_s": round(med["eoforge_chunked"], 2),
        "torchgeo_patches_per_s": round(med["torchgeo"], 2),
        "raw_patches_per_s": round(med["raw"], 2),
        "vs_torchgeo": round(med["eoforge"] / med["torchgeo"], 2),
        "vs_raw": round(med["eoforge"] / med["raw"], 3),
        "chunked_vs_torchgeo": round(med["eoforge_chunked"] / med["torchgeo"], 2),
        "chunked_vs_raw": round(med["eoforge_chunked"] / med["raw"], 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer patches and rounds (< 3 min)")
    parser.add_argument("--data", type=Path, default=Path("benchmarks/.data/loading"))
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--size", type=int, default=4096, help="raster width/height in px")
    parser.add_argument(
        "--windows-per-read",
        type=int,
        default=CHUNKED["windows_per_read"],
        help="windows per 1024-px chunk of the 'eoforge chunked' contender",
    )
    args = parser.parse_args(argv)
    CHUNKED["windows_per_read"] = args.windows_per_read
    torch.set_num_threads(1)
    warm, timed = (160, 320) if args.quick else (480, 1600)
    patches = BATCH + warm + timed
    rounds = 2 if args.quick else 3
    t0 = time.perf_counter()
    paths = make_files(args.data, args.size)
    print(f"rasters ready in {time.perf_counter() - t0:.1f} s: {args.data}", file=sys.stderr)
    makers: dict[str, Callable[[int], DataLoader[Any]]] = {
        "eoforge": lambda r: eoforge_loader(paths, patches, r),
        "eoforge_chunked": lambda r: eoforge_loader(paths, patches, r, chunked=True),
        "torchgeo": lambda r: torchgeo_loader(paths, patches, r),
        "raw": lambda r: raw_loader(paths, patches, r),
    }
    cold: dict[str, list[float]] = {k: [] for k in makers}
    steady: dict[str, list[float]] = {k: [] for k in makers}
    for r in range(rounds):
        order = list(makers) if r % 2 == 0 else list(reversed(makers))
        for name in order:
            c, w = time_loader(lambda name=name, r=r: makers[name](r), warm)
            cold[name].append(c)
            steady[name].append(w)
            print(
                f"round {r + 1}/{rounds} {name:15s} cold {c:7.1f}  steady {w:7.1f} patches/s",
                file=sys.stderr,
            )
    result: dict[str, Any] = {
        **_summary(steady),
        "cold": _summary(cold),
        "rounds_steady": steady,
        "rounds_cold": cold,
        "patches_cold": warm,
        "patches_steady": timed,
        "patch": PATCH,
        "bands": BANDS,
        "batch": BATCH,
        "workers": WORKERS,
        "chunked": CHUNKED,
        "quick": args.quick,
        "raster_size": args.size,
        "gdal_cachemax_mb": _gdal_cachemax_mb(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=2))
        tmp.rename(args.out)
    print(json.dumps(result))
    return result


def _gdal_cachemax_mb() -> float:
    from rasterio._env import get_gdal_config

    value = get_gdal_config("GDAL_CACHEMAX")
    number = float(value) if value is not None else float("nan")
    return round(number / 2**20 if number > 100_000 else number, 1)


if __name__ == "__main__":
    main()
